"""Activity pane benchmark: 100,000 audit entries in a real store; open, filter and scroll the pane.

Goal (issue 16): open, filter and scroll each <= 100 ms. Prints p50 / max wall time, the CPU time
of the process over the same calls, and the load average (the machine is shared). Never asserts.

- The store: a local directory whose audit.jsonl gets N entries through the store's own append path
  (AuditLog.append, fsynced, in batches), a third each of host state changes, intents and their
  outcomes; and with --pg the same entries in a PostgreSQL store (a private cluster,
  tests/pgcluster.py, fsync on) copied with the store's own import.
- The first read (in the console's worker when it opens: audit_tail + rows) is timed on its own;
  then 1,000 actions of this console joined with their audit rows in that 100,000-row log (one
  change, one row: `ActivityLog.add` finds the row by the intent's key), half ending after their
  audit row was read, half before (their intent and outcome read after).
- The pane, in the real app (Pilot, 120x40), each step timed from the key event (or the call) to
  the first frame written after every widget on screen handled it, as bench/ui_keys.py times the
  console's keys (`Frames`): open = key 6 after the log moved on (every row re-selected and the
  visible ones drawn), the first open included (the console has been up for the audit's first
  read: its panes were mounted in the background meanwhile, tui/console/modewarm.py); filter = a `/`
  text, a regex and clearing it, and a narrowing sequence, each to the frame with its first rows
  and to the frame after the count finished (the filter runs in steps, tui/console/activitysearch.py);
  scroll = page down, end, home, one row down and up, page up. Pilot's press + pause is shown once
  for comparison: its idle waits are most of what it measures. Each line also counts the full
  garbage collections that ran during its steps and the longest (they were the worst cases).
  Of an open's figure about 50 ms is Textual's own: `switch_mode` holds the screen's updates for
  50 ms (`App.delay_update`, to mask the transition) before the first frame.
- Baseline: the same rows in the tables' DataTable (tui/console/widgets/table.py FixedTable, the
  fastest table the other panes use): one load + first draw.

    .venv/bin/python bench/bench_activity.py [--entries 100000] [--repeat 15] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ui_keys import NO_FRAME_S, KeyTimer  # noqa: E402

from tui.console.activitylog import ActivityLog, action_entry  # noqa: E402
from tui.console.app import VmdeckApp, make_app  # noqa: E402
from tui.console.panes.activity import ActivityPane  # noqa: E402
from tui.console.session import Session  # noqa: E402
from tui.console.widgets.table import FixedTable  # noqa: E402
from tui.core.hosts import HostRecord  # noqa: E402
from tui.services.config.loader import load_config  # noqa: E402
from tui.services.config.paths import SAMPLE_CONFIG  # noqa: E402
from tui.services.store import Actor, FleetStore, Store  # noqa: E402
from tui.services.store.audit import AuditEntry, new_id, now_iso  # noqa: E402


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


class FullCollections:
    """The garbage collector's full (generation 2) passes and how long each stopped the process:
    with 100,000 entries held, one can be the slowest step's cost."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._began = 0.0
        gc.callbacks.append(self._heard)

    def _heard(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._began)

    def since_last(self) -> str:
        pauses, self.pauses = self.pauses, []
        return f", {len(pauses)} full GC max {max(pauses) * 1000:.0f} ms" if pauses else ""


COLLECTIONS = FullCollections()


def figures(name: str, walls: list[float], cpus: list[float]) -> None:
    ms, cpu = sorted(w * 1000 for w in walls), sorted(c * 1000 for c in cpus)
    print(
        f"  {name:<44} p50 {statistics.median(ms):6.1f} ms  max {ms[-1]:6.1f} ms   "
        f"CPU p50 {statistics.median(cpu):6.1f} max {cpu[-1]:6.1f} ms   "
        f"(n={len(ms)}, load {loadavg()}{COLLECTIONS.since_last()})"
    )


class Frames:
    """Times a step as the console's key benchmark does (bench/ui_keys.py `KeyTimer`): from the call
    (or the key event reaching the app) to the first frame written after every widget on screen has
    handled every message queued so far; with the process CPU time over the same span. Pilot's own
    `press` + `pause` are not used for timing: they sleep in 20 ms slices until the process is idle
    (three of them a key), so they time Pilot (about 65 ms) rather than the console."""

    def __init__(self, app: VmdeckApp, pilot: Pilot[None]) -> None:
        self.keys, self.pilot = KeyTimer(app), pilot  # KeyTimer records every frame's time

    async def call(self, step: Callable[[], object], until: Callable[[], bool] | None = None) -> float:
        """`step()`, then until the first frame after it returned (what it changed is drawn); with
        `until`, until the first frame after every widget settled and `until()` holds (a filter's
        count finished)."""
        cpu0, began = time.process_time(), time.perf_counter()
        step()
        if until is None:
            return await self._frame(began, cpu0, time.perf_counter())
        await asyncio.sleep(0)
        await self.keys.settle(self.pilot)
        while not until():
            await asyncio.sleep(0.001)
            await self.keys.settle(self.pilot)
        return await self._frame(began, cpu0, time.perf_counter())

    async def key(self, key: str) -> float:
        latency = await self.keys.answer(self.pilot, key)
        self.cpu = self.keys.cpu[-1]
        return latency

    async def _frame(self, began: float, cpu0: float, done: float) -> float:
        frames = self.keys.frames
        latency = done - began
        while time.perf_counter() - done < NO_FRAME_S:
            if frames and frames[-1] > done:
                latency = min(f for f in frames if f > done) - began
                break
            await asyncio.sleep(0.001)
        self.cpu = time.process_time() - cpu0
        return latency


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
    joins(log, [e for e in page.entries if e.kind == "intent"][:500])


def joins(log: ActivityLog, read: list[AuditEntry]) -> None:
    """1,000 of this console's actions joined with their audit rows in the full log: 500 whose
    intent row is in it (read while they ran), 500 whose intent and outcome are read after."""
    fresh = [
        AuditEntry(now_iso(), Actor("alice"), "vm.stop", "node0001", None, None, "bench", kind="intent")
        for _ in range(len(read))
    ]
    done = [
        AuditEntry(
            now_iso(),
            Actor("alice"),
            "vm.stop",
            "node0001",
            None,
            {"result": "ok"},
            None,
            intent=e.id,
            result="ok",
            kind="outcome",
        )
        for e in fresh
    ]
    before = len(log)
    t0, c0 = time.perf_counter(), time.process_time()
    for entry in [*read, *fresh]:
        ended = time.time()
        log.add(
            [
                action_entry(
                    log.next_number(),
                    label="stop vm",
                    what="vm.stop",
                    target="vm1",
                    who="alice",
                    result="ok",
                    message="vm1 shut down",
                    began=ended - 1,
                    ended=ended,
                    intent=entry.id,
                )
            ]
        )
    log.add(log.audit_rows(fresh + done))
    t1, c1 = time.perf_counter(), time.process_time()
    assert len(log) == before + len(fresh), (len(log), before)  # one row per change
    n = len(read) + len(fresh)
    print(
        f"  {n} console actions joined with their audit rows: {(t1 - t0) / n * 1e6:.1f} µs each "
        f"(CPU {(c1 - c0) / n * 1e6:.1f} µs), log {len(log)} rows"
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
        await pilot.pause()
        COLLECTIONS.since_last()
        frames = Frames(app, pilot)

        async def timed(steps: list[Callable[[], Awaitable[float]]]) -> tuple[list[float], list[float]]:
            walls, cpus = [], []
            for step in steps:
                walls.append(await step())
                cpus.append(frames.cpu)
                await pilot.pause()  # settle between steps, not timed
            return walls, cpus

        wall = await frames.key("6")
        figures("open, first time (key 6 to its frame)", [wall], [frames.cpu])
        screen = app.screen
        assert isinstance(screen, ActivityPane)
        assert len(screen.listing.rows) == len(log), (len(screen.listing.rows), len(log))

        async def reopen() -> float:
            await frames.key("1")
            await pilot.pause()
            log.version += 1  # as if entries arrived meanwhile: every row re-selected on open
            return await frames.key("6")

        figures("open (log changed; key 6 to its frame)", *await timed([reopen] * repeat))

        async def nothing() -> float:
            return await frames.call(lambda: None)

        figures("floor: nothing to do (call to settled)", *await timed([nothing] * repeat))

        def applying(text: str, whole: bool) -> Callable[[], Awaitable[float]]:
            search = getattr(screen, "search", None)  # none before the filter ran in steps: done at once
            until = (lambda: search is None or search.done) if whole else None
            return lambda: frames.call(lambda: screen.set_filter(text), until)

        texts = ["vm77", "carol", "node00[0-4]7$", ""]  # text, text, regex, clear: applied in turn
        for whole in (False, True):
            label = "count finished" if whole else "first rows shown"
            steps = [applying(texts[i % len(texts)], whole) for i in range(repeat * len(texts) // 2)]
            walls, cpus = await timed(steps)
            for n, text in enumerate(texts):
                figures(
                    f"filter {text or 'cleared'!r}: {label}", walls[n :: len(texts)], cpus[n :: len(texts)]
                )
            steps = [applying(t, whole) for t in ("v", "vm", "vm7", "vm77", "")] * max(1, repeat // 5)
            figures(f"filter v, vm, vm7, vm77, clear: {label}", *await timed(steps))
        screen.set_filter("")
        await pilot.pause()

        def press(key: str) -> Callable[[], Awaitable[float]]:
            return lambda: frames.key(key)

        for key in ("pagedown", "end", "home", "down", "up", "pageup"):
            figures(f"scroll: {key} (key to its frame)", *await timed([press(key)] * repeat))

        # Through Pilot as tests drive it: press + pause (its idle waits included).
        walls, cpus = [], []
        for i in range(repeat * 2):
            cpu0, t = time.process_time(), time.perf_counter()
            await pilot.press(("pagedown", "end", "home", "down")[i % 4])
            await pilot.pause()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - cpu0)
        figures("scroll via Pilot press + pause (Pilot's floor)", walls, cpus)

        # Baseline: the same rows in the other panes' table.
        rows = [(e.key, e.cells()) for e in log.newest_first()]
        table = FixedTable()
        await app.screen.mount(table)
        for label in ("When", "Source", "Who", "What", "Target", "Result", "Took", "Message"):
            table.add_column(label, key=label, width=12)
        t, c = time.perf_counter(), time.process_time()
        table.load_rows(rows)
        await pilot.pause()
        figures("baseline: FixedTable load + draw", [time.perf_counter() - t], [time.process_time() - c])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", action="store_true", help="also on a private PostgreSQL cluster")
    args = parser.parse_args()
    # The entries are built again for each store rather than kept: 100,000 parsed entries held by
    # the bench would make every full garbage collection in the console's process slower.
    with tempfile.TemporaryDirectory(prefix="vmdeck-bench-activity-") as tmp:
        local = Store(Path(tmp) / "db", actor=Actor("alice"))
        local.add_host(HostRecord("node0000", "test:///default", "pool1", "libvirt1"), reason="bench")
        t = time.perf_counter()
        for batch in entries(args.entries):
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
                pg.import_records([], [], [e for batch in entries(args.entries) for e in batch])
                print(f"PostgreSQL store, {args.entries} entries imported in {time.perf_counter() - t:.1f} s")
                first_read(pg)
                asyncio.run(pane(pg, args.repeat))
                pg.close()
            finally:
                cluster.stop()
    print(f"pid {os.getpid()} done; load {loadavg()}")


if __name__ == "__main__":
    main()
