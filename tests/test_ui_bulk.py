"""Marks and bulk actions in the console, driven with Pilot on the demo (real libvirt test:/// hosts
and a real TinyDB store): space marks, `*` marks what the filter shows, esc clears; the action keys
then act on every marked row with one reason and one confirmation listing the blast radius, each
item on the action path on its own (one audit intent and outcome per VM), "n of m" while it runs,
ctrl+c cancelling what has not started. The same on the real libvirtd test bed:
tests/test_ui_bulk_testbed.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import libvirt
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tui.console.app import VmdeckApp
from tui.console.dialogs import ActionScreen
from tui.console.panes.base import TablePane
from tui.core.fleet import HostState
from tui.core.live import DomainFacts, DomainState
from tui.services.store import AuditEntry, Store
from tui.services.store.files import StoreLock

from .test_ui_console import SIZE, console, header, polled, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def raw_audit(demo: Path, what: str) -> list[AuditEntry]:
    return [e for e in Store(demo / "db").audit(raw=True) if e.what == what]


def plain_running(app: VmdeckApp, count: int) -> list[tuple[str, DomainFacts]]:
    """`count` running VMs without PCI devices, from as many hosts as it takes."""
    found = [
        (host, d)
        for host in app.view.records
        for d in app.view.domains(host)
        if d.state is DomainState.RUNNING and not d.hostdevs
    ]
    assert len(found) >= count
    return found[:count]


async def mark_rows(pilot: Pilot[None], keys: Sequence[str]) -> None:
    table = pilot.app.screen.query_one(DataTable)
    for key in keys:
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("space")
    await pilot.pause()


def labels(app: VmdeckApp) -> dict[str, str]:
    """Each shown row's mark as drawn in the table's label column ("✓" or blank)."""
    table = app.screen.query_one(DataTable)
    return {str(row.key.value): str(row.label or "").strip() for row in table.ordered_rows}


def dialog(app: VmdeckApp, part: str) -> str:
    return str(app.screen.query_one(f"#bulk-{part}", Static).render())


async def confirm(pilot: Pilot[None], *fields: str, then: Sequence[str] = ()) -> None:
    assert isinstance(pilot.app.screen, ActionScreen)
    for text in fields:
        await pilot.press(*text, "enter")
    await pilot.pause()
    assert "Confirm:" in dialog(pilot.app, "status")  # type: ignore[arg-type]
    await pilot.press("y", *then)


async def bulk_finished(pilot: Pilot[None], app: VmdeckApp) -> None:
    await wait_for(pilot, lambda: app.bulk.run is not None and app.bulk.run.finished, "the bulk action")
    await app.workers.wait_for_complete()
    await wait_for(pilot, lambda: not app.activity.running, "its last item")
    await pilot.pause()


def per_target(entries: list[AuditEntry], kind: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in entries:
        if e.kind == kind:
            counts[e.target or ""] = counts.get(e.target or "", 0) + 1
    return counts


def libvirt_state(app: VmdeckApp, host: str, uuid: str) -> int:
    assert app.poller is not None
    return int(app.poller.connection(host).lookupByUUIDString(uuid).state()[0])  # type: ignore[union-attr]


async def test_marks_survive_sort_filter_and_refresh_and_drop_with_their_row(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        pane = app.panes["hosts"]
        assert isinstance(pane, TablePane)
        assert not any(labels(app).values())  # no mark column while nothing is marked
        await mark_rows(pilot, ["pool1-01", "pool1-03", "pool2-02"])
        assert pane.marks == {"pool1-01", "pool1-03", "pool2-02"}
        assert "3 marked" in header(app)
        assert {k for k, v in labels(app).items() if v == "✓"} == pane.marks
        after = app.view.names()[app.view.names().index("pool2-02") + 1]
        await pilot.press("space")  # the cursor moved down past pool2-02: the next row is marked
        assert after in pane.marks
        table = app.screen.query_one(DataTable)
        await pilot.press("up", "space")  # and unmarked again
        await pilot.pause()
        assert pane.marks == {"pool1-01", "pool1-03", "pool2-02"}
        await pilot.press("exclamation_mark")  # sorted, descending
        pane.refresh_all()  # what a large poll batch does
        pane.set_filter("pool1")
        await pilot.pause()
        assert len(pane.marks) == 3
        assert "3 marked, 1 hidden by the filter" in header(app)
        assert {k for k, v in labels(app).items() if v == "✓"} == {"pool1-01", "pool1-03"}
        # The host goes from the store (any vmdeck may remove it): its mark goes with its row.
        app.view.remove_record("pool1-03")
        pane.fleet_changed(["pool1-03"])
        await pilot.pause()
        assert "pool1-03" not in pane.marks
        assert table.row_count > 0
        # esc clears the marks first, then the filter.
        await pilot.press("escape")
        await pilot.pause()
        assert pane.marks == set()
        assert pane.filter.text == "pool1"
        assert not any(labels(app).values())
        await pilot.press("escape")
        assert pane.filter.text == ""


async def test_select_all_marks_only_the_rows_the_filter_shows(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        pane.set_filter("pool2-01")
        await pilot.pause()
        on_host = {d.name for d in app.view.domains("pool2-01")}
        everywhere = {d.name for h in app.view.records for d in app.view.domains(h)}
        assert len(on_host) >= 3
        assert everywhere - on_host
        await pilot.press("asterisk")
        await pilot.pause()
        assert pane.marks == on_host
        assert f"{len(on_host)} marked" in header(app)
        await pilot.press("asterisk")  # all shown are marked: unmarks them
        await pilot.pause()
        assert pane.marks == set()
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert pane.marks == on_host
        pane.set_filter("")
        await pilot.pause()
        assert pane.marks == on_host  # kept when the filter changes
        await pilot.press("x")
        await pilot.pause()
        radius = dialog(app, "radius")
        assert f"{len(on_host)} VMs on 1 host" in radius
        assert f"pool2-01 ({len(on_host)}): " in radius
        await pilot.press("escape")  # cancelled: nothing done, the marks stay
        await pilot.pause()
        assert pane.marks == on_host
        assert raw_audit(demo, "vm.stop") == []


async def test_bulk_stop_of_three_vms_one_reason_audited_per_vm(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        vms = plain_running(app, 3)
        await mark_rows(pilot, [f"{h}/{vm.uuid}" for h, vm in vms])
        assert "3 marked" in header(app)
        await pilot.press("x")
        await pilot.pause()
        assert "Stop 3 VMs" in dialog(app, "title")
        radius = dialog(app, "radius")
        for host, vm in vms:
            assert vm.name in radius
            assert host in radius
        await confirm(pilot, "rack 7 maintenance")
        await bulk_finished(pilot, app)
        for host, vm in vms:
            assert libvirt_state(app, host, vm.uuid) == libvirt.VIR_DOMAIN_SHUTOFF
        entries = raw_audit(demo, "vm.stop")
        names = {vm.name: 1 for _, vm in vms}
        assert per_target(entries, "intent") == names
        assert per_target(entries, "outcome") == names
        assert {e.reason for e in entries if e.kind == "intent"} == {"rack 7 maintenance"}
        assert {e.result for e in entries if e.kind == "outcome"} == {"ok"}
        assert app.panes["vms"].marks == set()  # the marks became the job
        assert "Stop 3 VMs finished: 3 done" in app.activity.last
        status = str(app.screen.query_one("#pane-status", Static).render())
        assert "3 done" in status


async def test_bulk_disable_of_hosts_with_one_reason_store_and_audit_per_host(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        hosts = ["pool1-02", "pool1-04", "pool2-05"]
        await mark_rows(pilot, hosts)
        await pilot.press("d")
        await pilot.pause()
        radius = dialog(app, "radius")
        for host in hosts:
            vms = [d.name for d in app.view.vms_holding_resources(host)]
            assert f"{host} Enabled → Disabled: {len(vms)} VM" in radius
            assert vms[0] in radius  # the VMs running there are named
        await confirm(pilot, "power work in row B")
        await bulk_finished(pilot, app)
        store = Store(demo / "db")
        for host in hosts:
            record = store.host(host)
            assert record is not None
            assert record.state is HostState.DISABLED
            assert app.view.records[host].state is HostState.DISABLED
        changes = [e for e in store.audit() if e.what == "host.state"]
        assert sorted(e.host or "" for e in changes) == hosts
        assert {e.reason for e in changes} == {"power work in row B"}
        assert store.host("pool1-01").state is HostState.ENABLED  # type: ignore[union-attr]


async def test_cancel_stops_starting_new_items(demo: Path) -> None:
    """ctrl+c while the first item runs: it finishes, nothing after it starts. The first item is
    held up for real: another process holds the store's lock while the console takes its lease."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        vms = plain_running(app, 5)
        await mark_rows(pilot, [f"{h}/{vm.uuid}" for h, vm in vms])
        await pilot.press("k")
        await pilot.pause()
        with StoreLock(demo / "db", 30).held():  # another vmdeck writing the store
            await confirm(pilot, "cancel test")
            await wait_for(pilot, lambda: bool(app.activity.running), "the first item to start")
            run = app.bulk.run
            assert run is not None
            assert "1 of 5" in app.activity.last
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert run.cancelled
            assert "nothing new starts" in app.activity.last
        await bulk_finished(pilot, app)
        first = vms[0][1].name
        assert [(item.vm, outcome.result.value) for item, outcome in run.outcomes] == [(first, "ok")]
        assert run.not_started() == 4
        off = {vm.name for h, vm in vms if libvirt_state(app, h, vm.uuid) == libvirt.VIR_DOMAIN_SHUTOFF}
        assert off == {first}  # the rest still run
        entries = raw_audit(demo, "vm.destroy")
        assert per_target(entries, "intent") == {first: 1}
        assert per_target(entries, "outcome") == {first: 1}
        assert "Destroy 5 VMs finished: 1 done, 4 cancelled (not started)" in app.activity.last


async def test_a_busy_vm_is_refused_and_the_others_go_on(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        vms = plain_running(app, 3)
        busy_vm = vms[1][1].name
        # Another vmdeck (its own store handle) is acting on the second VM.
        lease = Store(demo / "db").acquire_lease(f"vm:{busy_vm}", "vm.scale", 60)
        await mark_rows(pilot, [f"{h}/{vm.uuid}" for h, vm in vms])
        await pilot.press("x")
        await pilot.pause()
        await confirm(pilot, "busy test")
        await bulk_finished(pilot, app)
        run = app.bulk.run
        assert run is not None
        results = {item.vm: outcome.result.value for item, outcome in run.outcomes}
        assert results == {vms[0][1].name: "ok", busy_vm: "refused", vms[2][1].name: "ok"}
        refusal = next(o for i, o in run.outcomes if i.vm == busy_vm)
        assert "already running" in refusal.message
        assert libvirt_state(app, vms[1][0], vms[1][1].uuid) == libvirt.VIR_DOMAIN_RUNNING
        # The refusal is audited, and no stop of the busy VM was attempted.
        store = Store(demo / "db")
        stops = [e for e in store.audit(raw=True) if e.what == "vm.stop"]
        assert busy_vm not in {e.target for e in stops if e.kind == "intent"}
        refused = [e for e in store.audit() if e.result == "refused" or e.what == "console.refused"]
        assert any(busy_vm in str(e.after) or e.target == busy_vm for e in refused)
        assert "2 done, 1 refused" in app.activity.last
        Store(demo / "db").release_lease(lease)


async def test_read_only_refuses_a_bulk_action_before_any_question(demo: Path) -> None:
    async with console(demo, read_only=True).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await mark_rows(pilot, ["pool1-01", "pool1-02"])
        assert "2 marked" in header(app)  # marking changes nothing: allowed
        for key in ("d", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen)
            assert "read-only" in app.activity.last
        await pilot.press("4")
        await pilot.pause()
        await mark_rows(pilot, [f"{h}/{vm.uuid}" for h, vm in plain_running(app, 2)])
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert "REFUSED: stop 2 vms: read-only" in app.activity.last
        await app.workers.wait_for_complete()
        assert raw_audit(demo, "vm.stop") == []
        assert Store(demo / "db").host("pool1-01").state is HostState.ENABLED  # type: ignore[union-attr]


async def test_one_marked_item_or_none_takes_the_same_path(demo: Path) -> None:
    """No mark: the key acts on the cursor row with its own dialog (unchanged); a VM action that
    has no bulk form says so instead of acting on the cursor row behind the marks."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        [(host, vm)] = plain_running(app, 1)
        await mark_rows(pilot, [f"{host}/{vm.uuid}"])
        await pilot.press("c")  # scale: one VM at a time
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert app.panes["vms"].marks == {vm.name}
        await pilot.press("x")
        await pilot.pause()
        assert "Stop 1 VM" in dialog(app, "title")
        await confirm(pilot, "one item")
        await bulk_finished(pilot, app)
        [intent] = [e for e in raw_audit(demo, "vm.stop") if e.kind == "intent"]
        assert (intent.target, intent.reason) == (vm.name, "one item")


async def test_help_lists_the_mark_and_bulk_keys(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        await polled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(pilot.app.screen.query_one("#help-text", Static).render())
        for key, what in [
            ("space", "Mark / unmark row"),
            ("* ctrl+a", "Mark all shown rows"),
            ("ctrl+c", "Cancel bulk action"),
        ]:
            assert f"  {key:<14} {what}" in text
        await pilot.press("escape", "ctrl+c")  # no bulk action running: ctrl+c is Textual's hint again
        await pilot.pause()
        assert any("to quit" in str(n.message) for n in pilot.app._notifications)


async def test_the_confirmation_fits_80x24_with_every_vm_marked(demo: Path) -> None:
    """81 VMs on 22 hosts at 80x24: the blast radius is cut to fit ("… and N more"), and the reason
    field and the question stay on screen."""
    async with console(demo).run_test(size=(80, 24)) as pilot:
        app = await polled(pilot)
        await pilot.press("4", "asterisk", "x")
        await pilot.pause()
        assert isinstance(app.screen, ActionScreen)
        assert "more" in dialog(app, "radius")
        for part in ("reason", "status"):
            region = app.screen.query_one(f"#bulk-{part}").region
            assert region.bottom <= 24
            assert region.height > 0


async def test_bulk_drain_fences_every_marked_host_first_then_drains_each(demo: Path) -> None:
    """The demo's test driver cannot migrate: each drain fails with the driver's message, but
    every marked host was set to No Scheduling before the first drain began."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        hosts = ["pool1-05", "pool1-06"]
        await mark_rows(pilot, hosts)
        await pilot.press("r")
        await pilot.pause()
        assert "2 hosts" in dialog(app, "radius")
        await confirm(pilot, "rack 3 out")
        await bulk_finished(pilot, app)
        run = app.bulk.run
        assert run is not None
        assert [item.label for item, _ in run.outcomes] == [
            "set pool1-05 No Scheduling",
            "set pool1-06 No Scheduling",
            "drain pool1-05",
            "drain pool1-06",
        ]
        store = Store(demo / "db")
        assert [store.host(h).state for h in hosts] == [HostState.NO_SCHEDULING] * 2  # type: ignore[union-attr]
        entries = store.audit()
        fenced = [e for e in entries if e.what == "host.state"]
        drains = [e for e in entries if e.what == "host.drain"]
        assert sorted(e.host or "" for e in fenced) == hosts
        assert sorted(e.host or "" for e in drains) == hosts
        assert {e.reason for e in [*fenced, *drains]} == {"rack 3 out"}
        # The fences were written before the first drain's intent.
        assert max(e.when for e in fenced) <= min(e.when for e in drains)


async def test_bulk_migrate_asks_one_target_and_runs_each_migration(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        vms = [(h, d) for h, d in plain_running(app, 8) if h.startswith("pool1")][:2]
        assert len(vms) == 2
        await mark_rows(pilot, [f"{h}/{vm.uuid}" for h, vm in vms])
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"pool1-09", "enter")
        await confirm(pilot, "spread out")
        assert not isinstance(app.screen, ActionScreen)
        await bulk_finished(pilot, app)
        run = app.bulk.run
        assert run is not None
        assert [(i.vm, o.result.value) for i, o in run.outcomes] == [(vm.name, "failed") for _, vm in vms]
        assert all("not supported by the connection driver" in o.message for _, o in run.outcomes)
        entries = raw_audit(demo, "vm.migrate")
        assert per_target(entries, "intent") == {vm.name: 1 for _, vm in vms}
        assert "2 failed" in app.activity.last


async def test_the_palette_marks_every_shown_row_and_cancels(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        actions = {title: run for title, _help, run in app.palette_actions()}
        actions["Mark every row the filter shows"]()
        await pilot.pause()
        assert app.panes["hosts"].marks == set(app.view.records)
        actions["Cancel the running bulk action"]()  # none running: Textual's hint, nothing else
        await pilot.pause()
        assert app.bulk.run is None
