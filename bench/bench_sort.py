"""Sorting a 10,000-host table: the console's sort (TablePane.ordered, cells parsed by
tui.ui.sorting.cell_sort_key) and the reload of the sorted rows into the table (FixedTable.load_rows).

    .venv/bin/python bench/bench_sort.py [--hosts 10000] [--repeat 7]

Prints figures (never asserts). Goal: a sort of 10,000 hosts <= 100 ms, key press to rows in order.
Baseline: the best plain sort, by a float per row computed beforehand (what a model holding raw
values would do); the ratio says what parsing the shown cells costs over it. Rows are host cells as
the hosts pane prints them (FleetView.host_cells' formats: "9/8!", "12.5/64G", format_cost).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable

from textual.app import App, ComposeResult

from tui.core.costs import format_cost
from tui.ui.panes.hosts import HostsPane
from tui.ui.sorting import cell_sort_key
from tui.ui.widgets.table import FixedTable

COST = 7


def host_rows(count: int) -> tuple[dict[str, tuple[str, ...]], dict[str, float]]:
    rng = random.Random(7)
    rows: dict[str, tuple[str, ...]] = {}
    raw: dict[str, float] = {}
    for i in range(count):
        name = f"host-{i:05d}"
        cores, vcpus = rng.choice([32, 64, 128]), rng.randrange(0, 140)
        cost = rng.choice([rng.uniform(0, 5000), rng.uniform(1e5, 1e6), float("inf")])
        raw[name] = cost
        rows[name] = (
            name,
            "Enabled",
            "up",
            str(rng.randrange(0, 40)),
            f"{vcpus}/{cores}{'!' if vcpus > cores else ''}",
            f"{rng.randrange(0, 512)}/512G",
            "-",
            format_cost(cost),
            "▁▂▃",
            "standard",
            "realm1",
        )
    return rows, raw


def best_ms(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


class Bench(App[None]):
    def compose(self) -> ComposeResult:
        table = FixedTable(cursor_type="row")
        for label, width in HostsPane.COLUMNS:
            table.add_column(label, key=label, width=width or 12)
        yield table


async def load_ms(rows: dict[str, tuple[str, ...]], repeat: int) -> tuple[float, float]:
    app = Bench()
    async with app.run_test(size=(120, 40)):
        table = app.query_one(FixedTable)
        ordered = sorted(rows.items(), key=lambda row: cell_sort_key(row[1][COST]), reverse=True)
        return best_ms(lambda: table.load_rows(ordered), repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows, raw = host_rows(args.hosts)
    items = list(rows.items())

    def ours() -> object:
        return sorted(items, key=lambda row: cell_sort_key(row[1][COST]), reverse=True)

    def baseline() -> object:
        return sorted(items, key=lambda row: raw[row[0]], reverse=True)

    assert [k for k, _ in ours()][:50] != [k for k, _ in items][:50]  # it does reorder
    sort_best, sort_median = best_ms(ours, args.repeat)
    base_best, base_median = best_ms(baseline, args.repeat)
    load_best, load_median = asyncio.run(load_ms(rows, args.repeat))
    print(f"hosts: {args.hosts:,}, sorted by Cost, descending (best / median of {args.repeat})")
    print(f"  sort, cells parsed (console):    {sort_best:7.1f} / {sort_median:7.1f} ms")
    print(f"  sort, raw floats (baseline):     {base_best:7.1f} / {base_median:7.1f} ms")
    print(f"  ratio console / baseline:        {sort_best / base_best:7.1f} x")
    print(f"  reload sorted rows into table:   {load_best:7.1f} / {load_median:7.1f} ms")
    total = sort_best + load_best
    print(f"  sort + reload:                   {total:7.1f} ms (goal <= 100 ms)")


if __name__ == "__main__":
    main()
