"""Sorting a 10,000-host table the way the console does: a key press (`TablePane.set_sort`) on a
real HostsPane over a FleetView of 10,000 polled hosts, from the raw values the rows were built
from (FleetView.host_values) to the rows reloaded into the table in order (FixedTable.load_rows).

    .venv/bin/python bench/bench_sort.py [--hosts 10000] [--repeat 7]

Prints figures (never asserts): wall and CPU time, and the load average (the machine is shared).
Goal: a sort of 10,000 hosts <= 100 ms, key press to rows in order. Baselines, each sorting the same
10,000 rows by cost, descending:
- the best plain sort: `sorted` by a float per row computed beforehand (no key computation);
- the previous console sort: the shown cell text parsed per row (tui.console.sorting.cell_sort_key).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.console.fleetview import FleetView
from tui.console.panes.hosts import HostsPane
from tui.console.session import Session
from tui.console.sorting import cell_sort_key
from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, NodeFacts
from tui.services.config import load_config
from tui.services.config.paths import SAMPLE_CONFIG

COST = 7  # "Cost" in HostsPane.COLUMNS
GIB = 1 << 30
Figures = tuple[float, float, float]


def make_view(count: int) -> FleetView:
    """`count` polled hosts of the sample config's profiles, each with 0-12 running VMs."""
    loaded = load_config(SAMPLE_CONFIG)
    assert loaded.config is not None, loaded.diagnostics
    rng = random.Random(7)
    profiles = [("pool1", "libvirt1"), ("pool2", "libvirt2")]
    records = []
    for i in range(count):
        profile, realm = profiles[i % 2]
        state = rng.choice([HostState.ENABLED] * 8 + [HostState.NO_SCHEDULING])
        records.append(HostRecord(f"host-{i:05d}", f"test:///h{i}", profile, realm, state))
    view = FleetView(loaded.config, records)
    node = NodeFacts("x86_64", 32 * GIB, 8, 2000, 1, 1, 8, 1)
    snaps = []
    for i, record in enumerate(records):
        doms = tuple(
            DomainFacts(f"vm-{i}-{j}", f"{i:08x}-0000-0000-0000-{j:012x}", DomainState.RUNNING,
                        rng.randrange(1, 5), rng.randrange(1, 9) * GIB, 8 * GIB)
            for j in range(rng.randrange(0, 13))
        )  # fmt: skip
        snaps.append(HostSnapshot(record.name, record.uri, HostStatus.CONNECTED, node=node, domains=doms))
    view.apply(snaps)
    return view


def timed(run: Callable[[], object], repeat: int, setup: Callable[[], object] = lambda: None) -> Figures:
    """(best wall ms, median wall ms, median CPU ms) over `repeat` runs; `setup` runs untimed."""
    walls, cpus = [], []
    for _ in range(repeat):
        setup()
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return min(walls), statistics.median(walls), statistics.median(cpus)


class Bench(App[None]):
    def __init__(self, view: FleetView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield Static("")

    def on_mount(self) -> None:
        self.push_screen(HostsPane(self.view, Session("bench")))


async def console_ms(view: FleetView, repeat: int) -> tuple[Figures, Figures, Figures, Figures, list[str]]:
    """Time the key presses: sort by cost from the unsorted table, reverse that sort; mark every
    row (`*`), toggle one mark (space) with every row marked."""
    app = Bench(view)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = app.screen
        assert isinstance(pane, HostsPane)
        by_cost = timed(lambda: pane.set_sort((COST, True)), repeat, lambda: pane.set_sort(None))
        order = [str(row.key.value) for row in pane.table.ordered_rows]
        flip = timed(pane.action_sort_reverse, repeat)
        marks = timed(pane.action_mark_all, repeat, pane.clear_marks)  # every row marked at once
        toggle = timed(pane.action_toggle_mark, repeat)  # space, with 10,000 rows marked
        assert len(pane.marks) == len(view.records) - repeat  # each space unmarked the next row
        return by_cost, flip, marks, toggle, order


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    view = make_view(args.hosts)
    rows = [(name, view.host_cells(name)) for name in view.names()]
    costs = {name: view.cost(name) for name in view.names()}
    floats = {n: -1.0 if c is None else c for n, c in costs.items()}

    def plain() -> object:
        return sorted(rows, key=lambda row: floats[row[0]], reverse=True)

    def parsed() -> object:
        return sorted(rows, key=lambda row: cell_sort_key(row[1][COST]), reverse=True)

    ours, flip, marks, toggle, order = asyncio.run(console_ms(view, args.repeat))
    base, text = timed(plain, args.repeat), timed(parsed, args.repeat)
    shown = [floats[n] for n in order]
    assert shown == sorted(shown, reverse=True), "the console's order is not by cost"
    print(
        f"hosts: {args.hosts:,}, sorted by Cost, descending (best / median wall, median CPU; {args.repeat} runs)"
    )
    print(
        f"  console: key press to rows in order:  {ours[0]:7.1f} / {ours[1]:7.1f} ms, CPU {ours[2]:7.1f} ms"
    )
    print("    (raw values per row + sort + rows reordered in the table; goal <= 100 ms)")
    print(
        f"  console: reverse that sort (!):       {flip[0]:7.1f} / {flip[1]:7.1f} ms, CPU {flip[2]:7.1f} ms"
    )
    print(
        f"  baseline: sorted() by precomputed float: {base[0]:7.1f} / {base[1]:7.1f} ms, CPU {base[2]:7.1f} ms"
    )
    print(
        f"  previous: sorted() parsing cell text:   {text[0]:7.1f} / {text[1]:7.1f} ms, CPU {text[2]:7.1f} ms"
    )
    print(
        f"  console: mark every row (*):          {marks[0]:7.1f} / {marks[1]:7.1f} ms, CPU {marks[2]:7.1f} ms"
    )
    print(
        f"  console: toggle one mark (space):     {toggle[0]:7.1f} / {toggle[1]:7.1f} ms, CPU {toggle[2]:7.1f} ms"
    )
    print(f"  ratio console / plain sort:            {ours[0] / base[0]:7.1f} x")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"  load average: {load} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
