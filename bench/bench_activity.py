"""Activity pane benchmark: 100,000 audit entries in a real store; open, filter and scroll the pane.

Goal (issue 16): open, filter and scroll each <= 100 ms. Prints p50 / max wall time, the CPU time
of the process over the same calls, and the load average (the machine is shared). Never asserts.

- The store: a local directory whose audit.jsonl gets N entries through the store's own append path
  (AuditLog.append, fsynced, in batches), a third each of host state changes, intents and their
  outcomes; and with --pg the same entries in a PostgreSQL store (a private cluster,
  tests/pgcluster.py, fsync on) copied with the store's own import.
- The first read (in the console's worker when it opens: audit_tail + rows) is timed on its own.
- The pane, in the real app (Pilot, 120x40): open = switching to the pane after the log moved on
  (every row re-selected and the visible ones drawn), the first open included; filter = a `/` text,
  a regex and clearing it; scroll = page down, end, home, one row down. Each waits for the screen
  to be idle (drawn).
- Baseline: the same rows in the tables' DataTable (tui/ui/widgets/table.py FixedTable, the
  fastest table the other panes use): one load + first draw.

    .venv/bin/python bench/bench_activity.py [--entries 100000] [--repeat 15] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.core.hosts import HostRecord  # noqa: E402
from tui.services.config.loader import load_config  # noqa: E402
from tui.services.config.paths import SAMPLE_CONFIG  # noqa: E402
from tui.services.store import Actor, FleetStore, Store  # noqa: E402
from tui.services.store.audit import AuditEntry, new_id, now_iso  # noqa: E402
from tui.ui.activitylog import ActivityLog  # noqa: E402
from tui.ui.app import make_app  # noqa: E402
from tui.ui.panes.activity import ActivityPane  # noqa: E402
from tui.ui.session import Session  # noqa: E402
from tui.ui.widgets.table import FixedTable  # noqa: E402


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def entries(count: int) -> list[list[AuditEntry]]:
    """Batches of 999: host.state changes, vm.stop intents and their outcomes, a third each."""
    batches: list[list[AuditEntry]] = []
    batch: list[AuditEntry] = []
    for n in range(count):
        host = f"node{n % 500:04d}"
        rec = {"name": host, "uri": "qemu+ssh://root@10.0.0.1/system", "profile": "pool1", "state": "enabled"}
        if n % 3 == 0:
            batch.append(
                AuditEntry(
                    now_iso(), Actor("bob"), "host.state", host, rec, {**rec, "state": "disabled"}, "rack 7"
                )
            )
        elif n % 3 == 1:
            batch.append(
                AuditEntry(
                    now_iso(),
                    Actor("carol"),
                    "vm.stop",
                    host,
                    None,
                    None,
                    "ticket 42",
                    id=new_id(),
                    target=f"vm{n}",
                    kind="intent",
                )
            )
        else:
            batch.append(
                AuditEntry(
                    now_iso(),
                    Actor("carol"),
                    "vm.stop",
                    host,
                    None,
                    {"result": "ok", "message": "shut down in 3.1 s"},
                    None,
                    target=f"vm{n - 1}",
                    intent=batch[-1].id,
                    result="ok",
                    kind="outcome",
                )
            )
        if len(batch) == 999:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


def figures(name: str, walls: list[float], cpu: float) -> None:
    ms = sorted(w * 1000 for w in walls)
    print(
        f"  {name:<40} p50 {statistics.median(ms):7.1f} ms   max {ms[-1]:7.1f} ms   "
        f"CPU {cpu * 1000 / len(ms):7.1f} ms/call   (n={len(ms)}, load {loadavg()})"
    )


async def timed(
    pilot: object, runs: int, step: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    walls: list[float] = []
    cpu0 = time.process_time()
    for i in range(runs):
        t0 = time.perf_counter()
        await step(i)
        walls.append(time.perf_counter() - t0)
    return walls, time.process_time() - cpu0


def first_read(store: FleetStore) -> None:
    log = ActivityLog()
    t0, c0 = time.perf_counter(), time.process_time()
    page = store.audit_tail(100_000)
    t1 = time.perf_counter()
    rows = log.audit_rows(page.entries)
    log.add_history(rows)
    t2, c2 = time.perf_counter(), time.process_time()
    print(
        f"  first read (worker): audit_tail {len(page.entries)} entries {t1 - t0:.2f} s + rows {t2 - t1:.2f} s "
        f"= {len(log)} rows; CPU {c2 - c0:.2f} s (load {loadavg()})"
    )


async def pane(store: FleetStore, repeat: int) -> None:
    config = load_config(SAMPLE_CONFIG).config
    assert config is not None
    app = make_app(config, [], session=Session("bench"), store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.activity.log
        t0 = time.perf_counter()
        while log.audit_cursor is None and time.perf_counter() - t0 < 600:
            await pilot.pause(0.1)
        print(f"  console's own first read: {time.perf_counter() - t0:.2f} s to {len(log)} rows")

        first0, cfirst = time.perf_counter(), time.process_time()
        app.switch_mode("activity")
        await pilot.pause()
        figures(
            "open, first time (mount + draw)", [time.perf_counter() - first0], time.process_time() - cfirst
        )
        screen = app.screen
        assert isinstance(screen, ActivityPane)
        assert len(screen.listing.rows) == len(log), (len(screen.listing.rows), len(log))

        async def reopen(_i: int) -> None:
            app.switch_mode("hosts")
            await pilot.pause()
            log.version += 1  # as if entries arrived meanwhile: every row re-selected on open
            t = time.perf_counter()
            app.switch_mode("activity")
            await pilot.pause()
            reopen.walls.append(time.perf_counter() - t)  # type: ignore[attr-defined]

        reopen.walls = []  # type: ignore[attr-defined]
        cpu0 = time.process_time()
        for i in range(repeat):
            await reopen(i)
        figures("open (log changed)", reopen.walls, time.process_time() - cpu0)  # type: ignore[attr-defined]

        async def idle(_i: int) -> None:
            await pilot.pause()

        walls, cpu = await timed(pilot, repeat, idle)
        figures("floor: one idle pause (nothing to do)", walls, cpu)

        texts = ["vm77", "carol", "node00[0-4]7$", ""]

        async def filter_step(i: int) -> None:
            screen.set_filter(texts[i % len(texts)])
            await pilot.pause()

        walls, cpu = await timed(pilot, repeat * len(texts) // 2, filter_step)
        figures("filter (text, text, regex, clear)", walls, cpu)
        screen.set_filter("")
        await pilot.pause()

        keys = ["pagedown", "end", "home", "down"]

        async def scroll_step(i: int) -> None:
            await pilot.press(keys[i % len(keys)])
            await pilot.pause()

        walls, cpu = await timed(pilot, repeat * len(keys) // 2, scroll_step)
        figures("scroll (pgdn, end, home, down)", walls, cpu)

        listing = screen.listing
        moves = [
            lambda: listing.action_page(1),
            lambda: listing.action_jump(-1),
            lambda: listing.action_jump(0),
        ]

        async def scroll_direct(i: int) -> None:
            moves[i % len(moves)]()
            await pilot.pause()

        walls, cpu = await timed(pilot, repeat * len(moves) // 2, scroll_direct)
        figures("scroll, no key routing (pgdn/end/home)", walls, cpu)

        # Baseline: the same rows in the other panes' table.
        rows = [(e.key, e.cells()) for e in log.newest_first()]
        table = FixedTable()
        await app.screen.mount(table)
        for label in ("When", "Source", "Who", "What", "Target", "Result", "Took", "Message"):
            table.add_column(label, key=label, width=12)
        t, c = time.perf_counter(), time.process_time()
        table.load_rows(rows)
        await pilot.pause()
        figures("baseline: FixedTable load + draw", [time.perf_counter() - t], time.process_time() - c)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", action="store_true", help="also on a private PostgreSQL cluster")
    args = parser.parse_args()
    batches = entries(args.entries)
    with tempfile.TemporaryDirectory(prefix="vmdeck-bench-activity-") as tmp:
        local = Store(Path(tmp) / "db", actor=Actor("alice"))
        local.add_host(HostRecord("node0000", "test:///default", "pool1", "libvirt1"), reason="bench")
        t = time.perf_counter()
        for batch in batches:
            local.audit_log.append(batch)
        print(f"local store, {args.entries} entries appended in {time.perf_counter() - t:.1f} s")
        first_read(local)
        asyncio.run(pane(local, args.repeat))
        if args.pg:
            from tests.pgcluster import Cluster, bindir

            found = bindir()
            if found is None:
                raise SystemExit("no PostgreSQL server binaries: install `postgresql`")
            cluster = Cluster(found, fsync=True)
            cluster.start()
            try:
                from tui.services.store.postgres import PostgresStore

                pg = PostgresStore(cluster.url(cluster.create_db()), actor=Actor("alice"))
                t = time.perf_counter()
                pg.import_records([], [], [e for batch in batches for e in batch])
                print(f"PostgreSQL store, {args.entries} entries imported in {time.perf_counter() - t:.1f} s")
                first_read(pg)
                asyncio.run(pane(pg, args.repeat))
                pg.close()
            finally:
                cluster.stop()
    print(f"pid {os.getpid()} done; load {loadavg()}")


if __name__ == "__main__":
    main()
