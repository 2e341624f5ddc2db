"""Changed snapshots reach the tables incrementally, and the tables show what a full rebuild shows.

The real app (make_app, no poller) is fed HostSnapshots through `app.batcher`, the SnapshotBatcher the
poller calls, so each batch takes the production path (FleetPolled -> FleetView.apply ->
Pane.fleet_changed). After each batch the shown rows are compared with a reference computed here
from the view alone (every VM's cells, the `/` filter, in the sorted column's order) and with what
the pane shows after reloading its rows (the one path before: equal values keep the pane's model
order, where a new row comes last). Spies count reloads and rebuilds, so a test fails if the
incremental path was not the one taken.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tui.console import modewarm
from tui.console.app import VmdeckApp, make_app
from tui.console.panes import base
from tui.console.panes.base import TablePane
from tui.console.session import Session
from tui.console.sorting import cell_sort_key
from tui.console.text import TextFilter, safe_cells
from tui.core.hosts import HostRecord, Nat
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, NodeFacts
from tui.services.config import load_config

from .test_ui_console import wait_for

GIB = 1 << 30
HOSTS = 40  # a batch of one or two hosts stays far below the pane's rebuild share
NODE = NodeFacts("x86_64", 64 * GIB, 16, 2400, 1, 1, 8, 2)
STATES = (DomainState.RUNNING, DomainState.PAUSED, DomainState.SHUTOFF)


def vm(host: int, j: int, state: DomainState = DomainState.RUNNING, memory: int = 2) -> DomainFacts:
    return DomainFacts(f"h{host:02d}-vm{j}", f"uuid-{host:02d}-{j}", state, 1 + j % 3, memory * GIB, 8 * GIB)


def snapshot(host: int, domains: tuple[DomainFacts, ...], seq: int) -> HostSnapshot:
    return HostSnapshot(
        f"h{host:02d}", f"test:///h{host:02d}", HostStatus.CONNECTED, node=NODE, domains=domains, seq=seq
    )


def console() -> VmdeckApp:
    result = load_config("config/ticrypt-vm.conf")
    assert result.config is not None
    profiles = ("pool1", "pool2", "nvidia-gpu-node")
    records = [
        HostRecord(f"h{i:02d}", f"test:///h{i:02d}", profiles[i % 3], "libvirt1") for i in range(HOSTS)
    ]
    return make_app(result.config, records, session=Session("test fleet"))


def first_poll() -> dict[str, HostSnapshot]:
    return {
        f"h{i:02d}": snapshot(i, tuple(vm(i, j, STATES[(i + j) % 3], 1 + (i * j) % 5) for j in range(5)), 1)
        for i in range(HOSTS)
    }


async def feed(pilot: Pilot[None], app: VmdeckApp, snaps: list[HostSnapshot]) -> None:
    polls = app.view.polls
    for snap in snaps:
        app.batcher(snap)
    await wait_for(pilot, lambda: app.view.polls > polls, "the batch to be applied")
    await pilot.pause()


def shown(app: VmdeckApp) -> list[tuple[str, list[str]]]:
    table = app.screen.query_one(DataTable)
    return [(str(key.value), [str(c) for c in table.get_row(key)]) for key in table.rows]


def expected(app: VmdeckApp, pane: TablePane) -> list[tuple[str, list[str]]]:
    """Every VM's row from the view, filtered, then stably sorted."""
    rows = [(row.key, list(safe_cells(row.cells()))) for row in app.view.vm_rows()]
    keep = TextFilter(pane.filter.text)
    rows = [(key, cells) for key, cells in rows if keep.matches(cells)]
    if pane.sort is not None:
        column, reverse = pane.sort
        rows.sort(key=lambda row: cell_sort_key(row[1][column]), reverse=reverse)
    return rows


async def assert_as_rebuilt(pilot: Pilot[None], app: VmdeckApp, pane: TablePane) -> None:
    now, reference = shown(app), expected(app, pane)
    assert sorted(now) == sorted(reference)  # the same rows with the same cells
    if pane.sort is not None:
        column, reverse = pane.sort
        keys = [cell_sort_key(cells[column]) for _, cells in now]
        assert keys == sorted(keys, reverse=reverse)
    pane._load()  # what every change to a sorted table did before: reload in order
    await pilot.pause()
    assert shown(app) == now


class Count:
    def __init__(self, obj: object, name: str) -> None:
        self.calls = 0
        original = getattr(obj, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(obj, name, counted)


async def test_sorted_vms_follow_changes_without_a_reload() -> None:
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        snaps = first_poll()
        await feed(pilot, app, list(snaps.values()))
        await pilot.press("4")
        pane = app.panes["vms"]
        assert isinstance(pane, TablePane)
        await pilot.press(*["greater_than_sign"] * 3)  # by State
        await pilot.pause()
        assert pane.sort == (2, False)
        assert shown(app) == expected(app, pane)
        pane.table.move_cursor(row=30)
        selected = pane.selected_key()
        loads, rebuilds = Count(pane, "_load"), Count(pane, "refresh_all")
        # One host: a VM changes state (its row moves), one changes memory (stays), one is undefined,
        # one is created. Another host's VM changes state.
        h3 = list(snaps["h03"].domains)
        h3[0] = replace(
            h3[0], state=DomainState.PAUSED if h3[0].state is not DomainState.PAUSED else DomainState.RUNNING
        )
        h3[1] = replace(h3[1], memory=7 * GIB)
        del h3[2]
        h3.append(vm(3, 9, DomainState.SHUTOFF))
        h7 = list(snaps["h07"].domains)
        h7[4] = replace(h7[4], state=DomainState.CRASHED)
        snaps["h03"] = snapshot(3, tuple(h3), 2)
        snaps["h07"] = snapshot(7, tuple(h7), 2)
        await feed(pilot, app, [snaps["h03"], snaps["h07"]])
        assert (loads.calls, rebuilds.calls) == (0, 0)  # placed, not reloaded
        assert pane.selected_key() == selected  # the cursor stays on its VM
        assert "uuid-03-2" not in {key.split("/")[1] for key, _ in shown(app)}
        await assert_as_rebuilt(pilot, app, pane)
        # Reversed, and a filter: still what a full rebuild shows after more changes.
        await pilot.press("exclamation_mark")
        pane.set_filter("h0[3-7]")
        await pilot.pause()
        assert pane.sort == (2, True)
        h5 = tuple(replace(d, state=DomainState.SHUTOFF) for d in snaps["h05"].domains)
        snaps["h05"] = snapshot(5, h5, 2)
        h4 = tuple(replace(d, name=f"renamed-{d.name}") for d in snaps["h04"].domains)  # out of the filter
        snaps["h04"] = snapshot(4, h4, 2)
        loads.calls = 0
        await feed(pilot, app, [snaps["h05"], snaps["h04"]])
        assert loads.calls == 0
        await assert_as_rebuilt(pilot, app, pane)
        assert any(cells[0].startswith("h05") for _, cells in shown(app))


async def test_unsorted_vms_apply_changes_and_a_removed_host_disappears() -> None:
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        snaps = first_poll()
        await feed(pilot, app, list(snaps.values()))
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        assert isinstance(pane, TablePane)
        rebuilds = Count(pane, "refresh_all")
        h9 = (replace(snaps["h09"].domains[0], memory=6 * GIB), *snaps["h09"].domains[2:], vm(9, 7))
        snaps["h09"] = snapshot(9, h9, 2)
        await feed(pilot, app, [snaps["h09"]])
        rows = dict(shown(app))
        assert rows["h09/uuid-09-0"][4] == "6 GiB"
        assert "h09/uuid-09-1" not in rows
        assert "h09/uuid-09-7" in rows
        assert sorted(rows.items()) == sorted((k, c) for k, c in expected(app, pane))
        # The host leaves the store (another vmdeck removed it): its VMs go from the table.
        app.view.remove_record("h12")
        pane.fleet_changed(["h12"])
        await pilot.pause()
        rows = dict(shown(app))
        assert not [key for key in rows if key.startswith("h12/")]
        assert len(rows) == 5 * HOSTS - 5  # h09 lost one and gained one; h12 had five
        assert rebuilds.calls == 0


async def test_vms_follow_a_host_record_change_with_the_same_snapshot() -> None:
    """A VM's row is built from its facts and its host's record: a new NAT (the host edited in the
    store) with no new poll still gives the host's running VMs their new addresses."""
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, list(first_poll().values()))
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        assert isinstance(pane, TablePane)
        app._set_record(replace(app.view.records["h04"], nat=Nat("198.51.100.7", 30000)))
        await pilot.pause()
        rows = dict(shown(app))
        running = [vm.uuid for vm in app.view.domains("h04") if vm.state.holds_resources]
        assert running
        assert all(rows[f"h04/{uuid}"][6] == "198.51.100.7:30000+? (no lease)" for uuid in running)
        assert sorted(rows.items()) == sorted((k, c) for k, c in expected(app, pane))


@pytest.mark.parametrize("background", [False, True])
async def test_vms_pane_shown_late_shows_every_change_made_before(
    background: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never mounted (its model kept current), or mounted in the background after the first paint
    (tui/console/modewarm.py: the first poll loaded into its table there): either way the first show
    takes no row computed again."""
    if not background:
        monkeypatch.setattr(modewarm, "FIRST_STEP_S", 3600.0)  # no pane mounted in the background
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        snaps = first_poll()
        await feed(pilot, app, list(snaps.values()))
        pane = app.panes["vms"]
        assert isinstance(pane, TablePane)
        if background:
            await wait_for(pilot, lambda: pane.is_mounted, "the VMs pane to be mounted in the background")
        assert pane.is_mounted is background
        if background:  # the first poll is in the hidden table already: showing it is no load
            table = pane.query_one(DataTable)
            hidden = [(str(key.value), [str(c) for c in table.get_row(key)]) for key in table.rows]
            assert hidden == expected(app, pane)
        h1 = (*snaps["h01"].domains[1:], vm(1, 8, DomainState.PAUSED))
        snaps["h01"] = snapshot(1, h1, 2)
        await feed(pilot, app, [snaps["h01"]])
        rows_of = Count(pane, "all_rows")
        await pilot.press("4")
        await pilot.pause()
        if background:
            await assert_as_rebuilt(pilot, app, pane)
        else:
            assert shown(app) == expected(app, pane)
        assert rows_of.calls == 0  # the kept rows were shown, not computed again


def test_summary_and_vm_count_follow_each_change() -> None:
    """The header's totals are kept host by host; they equal a count over every host after each change."""
    app = console()
    view = app.view

    def counted() -> tuple[str, int]:
        statuses = [view.status(n) for n in view.records]
        running = sum(
            a.vms if (a := view.allocation(n)) else len(view.vms_holding_resources(n)) for n in view.records
        )
        parts = [f"{len(view.records)} hosts", f"{running} VMs running"]
        if (down := statuses.count(HostStatus.UNREACHABLE)) > 0:
            parts.append(f"{down} UNREACHABLE")
        if (waiting := statuses.count(HostStatus.CONNECTING)) > 0:
            parts.append(f"{waiting} connecting")
        return ", ".join(parts), sum(len(view.domains(n)) for n in view.records)

    assert (view.summary(), view.domain_count()) == counted()  # nothing polled: all connecting
    snaps = first_poll()
    view.apply(list(snaps.values())[:25])
    assert (view.summary(), view.domain_count()) == counted()
    down = replace(snaps["h02"], status=HostStatus.UNREACHABLE, domains=(), seq=2)
    fewer = snapshot(5, snaps["h05"].domains[:2], 2)
    view.apply([down, fewer, *list(snaps.values())[25:]])
    assert (view.summary(), view.domain_count()) == counted()
    assert "1 UNREACHABLE" in view.summary()
    view.remove_record("h07")
    view.set_record(replace(view.records["h08"], profile="no-such-profile"))
    assert (view.summary(), view.domain_count()) == counted()


@pytest.mark.parametrize("resync_rows", [base.RESYNC_ROWS, 1])  # a row-by-row sync, or a reload
async def test_hidden_sorted_vms_pane_catches_up_from_its_kept_rows(
    resync_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shown once, then hidden: batches keep its rows current; shown again, only the table catches up."""
    monkeypatch.setattr(base, "RESYNC_ROWS", resync_rows)
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        snaps = first_poll()
        await feed(pilot, app, list(snaps.values()))
        await pilot.press("4", *["greater_than_sign"] * 5)  # by Memory
        await pilot.pause()
        pane = app.panes["vms"]
        assert isinstance(pane, TablePane)
        assert pane.sort == (4, False)
        await pilot.press("1")
        await pilot.pause()
        rows_of, rebuilds = Count(pane, "all_rows"), Count(pane, "refresh_all")
        h6 = (replace(snaps["h06"].domains[0], memory=5 * GIB), *snaps["h06"].domains[2:], vm(6, 7, memory=3))
        snaps["h06"] = snapshot(6, h6, 2)
        snaps["h11"] = snapshot(11, (), 2)  # every VM of a host undefined
        await feed(pilot, app, [snaps["h06"], snaps["h11"]])
        assert pane.stale == {"h06", "h11"}  # noted, as before
        await pilot.press("4")
        await pilot.pause()
        assert not pane.stale
        assert (rows_of.calls, rebuilds.calls) == (0, 0)
        now = shown(app)
        assert not [key for key, _ in now if key.startswith("h11/")]
        assert dict(now)["h06/uuid-06-0"][4] == "5 GiB"
        await assert_as_rebuilt(pilot, app, pane)


def _other_value(value: object) -> object:
    """A value of the same kind as `value` but different from it (a field's changed reading)."""
    if isinstance(value, DomainState):
        return DomainState.PAUSED if value is not DomainState.PAUSED else DomainState.RUNNING
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float) or value is None:
        return 0.25 if value != 0.25 else 0.5
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, tuple):
        return (*value, "0000:09:00.0")
    raise AssertionError(f"no changed value for {value!r}: extend _other_value")


def test_a_vm_row_is_a_function_of_its_record_and_visible_facts_alone() -> None:
    """The VMs pane skips rebuilding a row whose record is the same and whose `visible()` facts are
    equal (panes/vms.py). That is sound only while `vm_row` reads nothing else of the facts: every
    field left out of `visible()` (CPU time and rate today, any field added later) must leave the row
    as it is."""
    from dataclasses import fields

    from tui.console.fleetview import vm_row

    record = HostRecord("h1", "test:///default", "pool1", "libvirt1", nat=Nat("203.0.113.9", 20000))
    dom = DomainFacts(
        "vm1", "u-1", DomainState.RUNNING, 2, 2 << 30, 4 << 30, ("0000:01:00.0",), 10, 0.5, "10.0.0.5"
    )
    hidden = 0
    for field in fields(DomainFacts):
        changed = replace(dom, **{field.name: _other_value(getattr(dom, field.name))})
        if changed.visible() == dom.visible():
            hidden += 1
            assert vm_row("h1", record, changed) == vm_row("h1", record, dom), field.name
    assert hidden >= 2  # cpu_time_ns and cpu_rate: the test looks at real hidden fields
