"""Sorting every table, k9s style: `>` / `<` move the sort column, `!` reverses it; the header shows
the column and direction; the order holds across poller refreshes and filters. Numbers sort as
numbers (by the value the cell shows in its column's unit, not as text). Pilot on the demo fleet."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tui.console.app import VmdeckApp
from tui.console.fleetview import VM_VALUES
from tui.console.panes.base import TablePane
from tui.console.panes.tablesort import SortableRows
from tui.console.sorting import SortValue, cell_sort_key, text_keys, value_key, value_keys
from tui.core.fleet import HostState
from tui.core.live import DomainFacts, DomainState

from .test_ui_console import SIZE, console, header, polled, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def shown_order(app: VmdeckApp) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


def cost_of(app: VmdeckApp, name: str) -> float:
    cost = app.view.cost(name)
    return -math.inf if cost is None else cost  # "-" sorts after every number; checked below


async def sort_by(pilot: object, pane: TablePane, label: str) -> None:
    target = [c for c, _ in pane.COLUMNS].index(label)
    for _ in range(target + 1):
        await pilot.press("greater_than_sign")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert pane.sort == (target, False)


def test_cells_sort_by_their_numbers() -> None:
    cells = ["10/8!", "9/8", "-", "∞", "2.5", "abc", "100004.5", "?"]
    assert sorted(cells, key=cell_sort_key) == ["2.5", "9/8", "10/8!", "100004.5", "∞", "-", "?", "abc"]
    assert cell_sort_key("12.5 GiB") < cell_sort_key("100 GiB")
    assert cell_sort_key("-∞") < cell_sort_key("-3")


async def test_hosts_by_cost_descending_kept_after_a_refresh(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        pane = app.panes["hosts"]
        await sort_by(pilot, pane, "Cost")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert pane.sort == (7, True)
        assert "sorted by Cost ▼" in header(app)
        assert str(app.screen.query_one(DataTable).ordered_columns[7].label) == "Cost▼"
        priced = [n for n in shown_order(app) if app.view.cost(n) is not None]
        assert len(priced) > 10
        costs = [cost_of(app, n) for n in priced]
        assert costs == sorted(costs, reverse=True)
        # A poll changes one host's cost: the table stays sorted by cost.
        running = {n: [d for d in app.view.domains(n) if d.state is DomainState.RUNNING] for n in priced}
        name = next(n for n in priced if running[n])  # the dearest host that runs a VM
        before = app.view.cost(name)
        dom = running[name][0]
        app.poller.connection(name).lookupByUUIDString(dom.uuid).destroy()  # type: ignore[union-attr]
        app.poller.request_poll(name)  # type: ignore[union-attr]
        await wait_for(pilot, lambda: app.view.cost(name) != before, "the cost to change")
        await pilot.pause(0.5)
        priced = [n for n in shown_order(app) if app.view.cost(n) is not None]
        costs = [cost_of(app, n) for n in priced]
        assert costs == sorted(costs, reverse=True)
        assert pane.sort == (7, True)


async def test_vms_by_memory_kept_across_a_filter_and_a_refresh(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        await sort_by(pilot, pane, "Memory")
        assert "sorted by Memory ▲" in header(app)
        memory = {row.key: row.memory for row in app.view.vm_rows()}
        order = shown_order(app)
        assert [memory[k] for k in order] == sorted(memory[k] for k in order)
        assert len({memory[k] for k in order}) > 1  # more than one size: the order means something
        pane.set_filter("pool")
        await pilot.pause()
        order = shown_order(app)
        assert order
        assert [memory[k] for k in order] == sorted(memory[k] for k in order)
        pane.refresh_all()  # what the poller does after a large batch
        await pilot.pause()
        assert shown_order(app) == order
        await pilot.press("less_than_sign")  # back to vCPU
        await pilot.pause()
        assert pane.sort == (3, False)
        assert "sorted by vCPU ▲" in header(app)


async def test_sort_cycles_back_to_the_model_order(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        pane = app.panes["profiles"]
        await pilot.press("2")
        await pilot.pause()
        model = shown_order(app)
        for _ in range(len(pane.COLUMNS)):
            await pilot.press("greater_than_sign")
        await pilot.pause()
        assert pane.sort == (len(pane.COLUMNS) - 1, False)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert pane.sort is None
        assert "sorted by" not in header(app)
        assert shown_order(app) == model


def test_raw_values_sort_numbers_then_text_then_unknown() -> None:
    values = [None, "b", 3, float("inf"), "A", 2.5, float("nan"), -1]
    assert [v for v in sorted(values, key=value_key) if v == v] == [-1, 2.5, 3, float("inf"), "A", "b", None]
    assert value_key(float("nan")) == value_key(None)


def test_a_whole_column_is_keyed_as_value_key_keys_each_value() -> None:
    # value_keys is the fast path of a sort over every row (text columns in C, others memoised).
    mixed = [1, 1.0, True, float("nan"), None, "A", "a", -0.0, 0.0, float("inf"), 2**70, "", "ß", 3]
    repeated = ["b", "A", "b", "a", "A", "b"]  # text mostly repeated: keyed once per distinct text
    for column in (mixed, ["b", "A", "é", "a"], repeated, [3, 1, 2, 1], [None, "x", None], []):
        assert list(value_keys(column)) == [value_key(v) for v in column]


async def test_hosts_sort_by_state_rank_not_by_label(demo: Path) -> None:
    """State sorts Enabled < No Scheduling < Disabled (the cell text would put Disabled first)."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        pane = app.panes["hosts"]
        await sort_by(pilot, pane, "State")
        rank = {s: i for i, s in enumerate(HostState)}
        states = [app.view.records[n].state for n in shown_order(app)]
        assert len(set(states)) == 3  # the demo has hosts in every state: the order means something
        assert [rank[s] for s in states] == sorted(rank[s] for s in states)
        assert states[0] is HostState.ENABLED
        assert states[-1] is HostState.DISABLED


async def test_vm_memory_sorts_on_bytes_not_on_the_rounded_text(demo: Path) -> None:
    """Two VMs whose memory prints alike ("1.5 GiB") but differs in bytes sort by the bytes."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        rows = {row.key: row for row in app.view.vm_rows()}
        by_memory = sorted(rows, key=lambda k: rows[k].memory)
        large = by_memory[-1]
        small = next(k for k in reversed(by_memory) if rows[k].memory < rows[large].memory)
        # The model says `small` is a few bytes larger than `large`'s memory shown rounded the same.
        pane._vm_rows[small] = replace(rows[small], memory=rows[large].memory + 1)
        pane._vm_rows[large] = replace(rows[large], memory=rows[large].memory)
        await sort_by(pilot, pane, "Memory")
        order = shown_order(app)
        assert order.index(large) < order.index(small)  # bytes decide, whatever the cells say
        await pilot.press("exclamation_mark")
        await pilot.pause()
        order = shown_order(app)
        assert order.index(small) < order.index(large)


async def test_a_column_sorted_again_has_the_changes_made_while_another_one_sorted(demo: Path) -> None:
    """The VMs pane keeps a column's sort keys while another column sorts (KEEP_SORT_KEYS): a VM
    that changed meanwhile is where its new value puts it when the column sorts again."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        await sort_by(pilot, pane, "Memory")
        smallest = shown_order(app)[0]
        await pilot.press("greater_than_sign")  # Devices: Memory's keys are kept
        await pilot.pause()
        assert pane.sort == (5, False)
        host, _, uuid = smallest.partition("/")
        snap = app.view.snapshots[host]
        largest = max(row.memory for row in app.view.vm_rows())
        domains = tuple(replace(d, memory=largest * 2) if d.uuid == uuid else d for d in snap.domains)
        app.view.apply([replace(snap, domains=domains, seq=snap.seq + 1)])
        app._panes_changed([host])
        await pilot.press("less_than_sign")  # back to Memory
        await pilot.pause()
        assert pane.sort == (4, False)
        order = shown_order(app)
        assert order[-1] == smallest
        memory = {row.key: row.memory for row in app.view.vm_rows()}
        assert [memory[k] for k in order] == sorted(memory[k] for k in order)


async def test_a_whole_hosts_column_has_the_values_each_host_sorts_on(demo: Path) -> None:
    """A sort of the hosts keys a whole column at once (FleetView.host_column, which skips the
    columns it does not need): every column's values equal `host_values`, host by host."""
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        view, names = app.view, list(app.view.records)
        assert any(view.status(n) is not view.status(names[0]) for n in names)  # values that differ
        for column in range(len(app.panes["hosts"].COLUMNS)):
            values = list(map(view.host_column(column), names))
            assert values == [view.host_values(n)[column] for n in names], column


def test_a_text_column_is_keyed_by_its_lower_case_text_in_value_key_order() -> None:
    # text_keys: plain strings instead of (1, 0.0, text) tuples, for a column of text only.
    repeated = ["b", "A", "b", "a", "A", "b"]
    for column in (["b", "A", "é", "a", "", "ß", "10", "9"], repeated, []):
        keys = list(text_keys(list(column)) or ())
        assert keys == [value_key(v)[2] for v in column]
        order = sorted(range(len(column)), key=keys.__getitem__)
        assert order == sorted(range(len(column)), key=lambda i: value_key(column[i]))
    assert text_keys(["a", None, "b"]) is None
    assert text_keys(["a", 1]) is None


class ValueRows(SortableRows):
    """The sort of a table pane's model without a pane: rows with one raw value each."""

    def __init__(self, values: dict[str, SortValue]) -> None:
        self.values = values
        self._rows = {key: (str(value),) for key, value in values.items()}
        self.sort: tuple[int, bool] | None = (0, False)
        self._sort_keys = {}
        self._sort_text = False
        self._kept_keys = {}
        self._orders = {}

    def sort_value(self, key: str, column: int) -> SortValue:
        return self.values[key]

    def column_values(self, column: int) -> list[SortValue]:
        return [self.values[key] for key in self._rows]


def test_a_text_column_that_gets_another_value_sorts_as_value_key_says() -> None:
    rows = ValueRows({"r1": "b", "r2": "A", "r3": "c"})
    rows._index_sort()
    assert rows._sort_text
    rows.values.update(r2=None, r4=2)  # a value that is not text, a new row with a number
    rows._rows["r4"] = ("2",)
    rows._index_sort(["r2", "r4"])
    assert not rows._sort_text
    assert rows.ordered(rows._rows) == ["r4", "r1", "r3", "r2"]
    assert rows.ordered(rows._rows) == sorted(rows._rows, key=lambda key: value_key(rows.values[key]))


def fresh_order(pane: TablePane, keys: list[str]) -> list[str]:
    """What a sort of these VM rows from scratch gives: raw values, equal ones in the model's order."""
    assert pane.sort is not None
    column, reverse = pane.sort
    rows = pane._vm_rows  # type: ignore[attr-defined]
    model = [key for key in pane._rows if key in set(keys)]
    return sorted(model, key=lambda key: value_key(VM_VALUES[column](rows[key])), reverse=reverse)


async def test_a_cached_vm_order_is_always_the_order_a_fresh_sort_gives(demo: Path) -> None:
    """The VMs pane caches each sorted order of every row and patches it with the rows changed
    since (tablesort._ordered_all): through VMs that change, appear and go, columns sorted and
    sorted again both ways, filters set and cleared and rebuilds, the rows shown are always in the
    order a sort from scratch gives."""
    rng = random.Random(14)
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        pane = app.panes["vms"]
        hits = 0

        def change_host() -> None:
            host = rng.choice([h for h in app.view.snapshots if app.view.snapshots[h].domains])
            snap = app.view.snapshots[host]
            domains = list(snap.domains)
            roll = rng.random()
            if roll < 0.2 and len(domains) > 1:
                domains.pop(rng.randrange(len(domains)))  # undefined
            elif roll < 0.4:
                n = rng.randrange(10**6)
                domains.append(DomainFacts(f"new{n}", f"{n:08x}-1111-4000-8000-000000000000",
                                           DomainState.RUNNING, rng.choice((1, 2, 4)), rng.choice((1, 2, 3)) << 30,
                                           4 << 30))  # fmt: skip
            else:
                k = rng.randrange(len(domains))
                state = rng.choice((DomainState.RUNNING, DomainState.PAUSED, DomainState.SHUTOFF))
                memory = rng.choice((1, 2, 3, 5)) << 30
                domains[k] = replace(domains[k], state=state, memory=memory, vcpus=rng.choice((1, 2, 8)))
            app.view.apply([replace(snap, domains=tuple(domains), seq=snap.seq + 1)])
            app._panes_changed([host])

        for _step in range(120):
            roll = rng.random()
            if roll < 0.4:
                for _ in range(rng.randrange(1, 4)):
                    change_host()
            elif roll < 0.8:
                await pilot.press(rng.choice(("greater_than_sign", "less_than_sign", "exclamation_mark")))
            elif roll < 0.9:
                pane.set_filter(rng.choice(("", "", "vm", "pool1", "running")))
            else:
                pane.refresh_all()  # what the poller does after a large batch
            await pilot.pause()
            hits += sum(1 for _order, stale in pane._orders.values() if not stale)
            if pane._shows_every_row():  # what `_reorder` trusts instead of comparing every key
                assert pane.table.row_keys() == pane._rows.keys()
            if pane.sort is not None:
                shown = shown_order(app)
                assert shown == fresh_order(pane, shown), (pane.sort, pane.filter.text)
                if not pane.filter.text:
                    assert set(shown) == set(pane._rows)
                every = list(pane._rows)
                assert pane.ordered(every) == fresh_order(pane, every), pane.sort
        assert hits  # the cache was used, not only rebuilt
