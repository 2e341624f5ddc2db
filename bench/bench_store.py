"""Store benchmarks. Prints figures and ratios; never asserts on time.

1. Audit log growth (local): one audited host change with 10,000 audit entries (goal <= 20 ms);
   baseline: the audit kept as a TinyDB table, which rewrites the whole file per write.
2. Both backends (`--backends`): host state change latency (median, p99) and throughput at 100 and
   10,000 hosts, one writer and 4 writer processes (goal on PostgreSQL: <= 5 ms at 10,000, flat);
   baseline for PostgreSQL: the same row UPDATE alone in its own transaction (no lock, audit or notify),
   the least a durable change can cost on that server.
3. Change feed (`--feed`): a CLI-like write in another process -> the console's row (Pilot, real app):
   p50 / p99 latency (goal p99 <= 250 ms), both backends; and the idle CPU of the local file watch.

PostgreSQL: a private cluster (tests/pgcluster.py, fsync on) unless --pg URL names a server.

    .venv/bin/python bench/bench_store.py [--entries 10000] [--writes 50] [--backends] [--feed] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from figures import percentile
from tinydb import TinyDB

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.services.store import Actor, Store
from tui.services.store.audit import AuditEntry, now_iso
from tui.services.store.files import AtomicJSONStorage


def seed_audit(store: Store, entries: int) -> None:
    batch = [
        AuditEntry(
            now_iso(),
            store.actor,
            "host.edit",
            f"h{i % 100}",
            {"state": "enabled"},
            {"state": "disabled"},
            "seed",
        )
        for i in range(entries)
    ]
    store.audit_log.append(batch)


def time_writes(store: Store, writes: int) -> list[float]:
    times = []
    for i in range(writes):
        state = HostState.DISABLED if i % 2 == 0 else HostState.ENABLED
        start = time.perf_counter()
        store.set_state("h0", state, "bench")
        times.append(time.perf_counter() - start)
    return times


def time_tinydb_audit(directory: Path, entries: int, writes: int) -> list[float]:
    db = TinyDB(directory / "audit-tinydb.json", storage=AtomicJSONStorage)
    table = db.table("audit")
    row = {
        "when": now_iso(),
        "who": {"user": "bench"},
        "what": "host.edit",
        "host": "h0",
        "before": {"state": "enabled"},
        "after": {"state": "disabled"},
        "reason": "seed",
    }
    table.insert_multiple([row] * entries)
    times = []
    for _ in range(writes):
        start = time.perf_counter()
        table.insert(row)
        times.append(time.perf_counter() - start)
    return times


REPO = Path(__file__).resolve().parents[1]


@contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """Yields a function making a fresh database URL: on --pg's server, or a private cluster."""
    if url:
        import psycopg

        base = url.rsplit("/", 1)[0]

        def fresh_remote() -> str:
            name = f"vmdeck_bench_{os.getpid()}_{time.monotonic_ns()}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
            return f"{base}/{name}"

        yield fresh_remote
        return
    sys.path.insert(0, str(REPO))
    from tests.pgcluster import Cluster, bindir

    found = bindir()
    if found is None:
        raise SystemExit("no PostgreSQL server binaries: install `postgresql` or pass --pg URL")
    cluster = Cluster(found, fsync=True)
    cluster.start()
    try:
        yield lambda: cluster.url(cluster.create_db())
    finally:
        cluster.stop()


WRITER = """
import sys, time
from tui.core.fleet import HostState
from tui.services.store import open_store
store = open_store(sys.argv[1])
n, hosts, w = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store.hosts()  # connected and warm before the clock starts
start = time.time()
for i in range(n):
    name = f"h{(w * 997 + i) % hosts}"
    current = store.host(name)
    state = HostState.ENABLED if current is not None and current.state is HostState.DISABLED else HostState.DISABLED
    store.set_state(name, state, "bench")
print(start, time.time())
"""


def hosts(n: int) -> list[HostRecord]:
    return [HostRecord(f"h{i}", f"qemu+ssh://h{i}/system", "pool1", "libvirt1") for i in range(n)]


def state_changes(location: str, n_hosts: int, writes: int) -> tuple[list[float], float]:
    """Latencies of `writes` serial state changes, and the throughput of 4 writer processes."""
    from tui.services.store import open_store

    store = open_store(location, actor=Actor("bench"))
    batch = hosts(n_hosts)
    for i in range(0, n_hosts, 1000):
        store.add_hosts(batch[i : i + 1000])
    times = []
    for i in range(writes):
        state = HostState.DISABLED if i % 2 == 0 else HostState.ENABLED
        start = time.perf_counter()
        store.set_state(f"h{(i * 7919) % n_hosts}", state, "bench")
        times.append(time.perf_counter() - start)
    per = max(10, writes // 2)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, location, str(per), str(n_hosts), str(w)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        for w in range(4)
    ]
    spans = [tuple(float(x) for x in p.communicate()[0].split()) for p in procs]
    wall = max(end for _, end in spans) - min(begin for begin, _ in spans)  # process start-up excluded
    store.close()
    return times, 4 * per / wall


def plain_update(location: str, writes: int) -> list[float]:
    """PostgreSQL baseline: one UPDATE of one row, committed — no row lock, audit or notify."""
    import psycopg

    times = []
    with psycopg.connect(location) as conn:
        for i in range(writes):
            start = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    "UPDATE vmdeck_hosts SET version = version + 1 WHERE name = %s", (f"h{(i * 7919) % 100}",)
                )
            times.append(time.perf_counter() - start)
    return times


def bench_backends(pg_url: str | None, writes: int) -> None:
    print("\nhost state change (one transaction: lock, check, write, audit, notify):")
    print(f"  {'backend':<11}{'hosts':>7}{'median':>10}{'p99':>10}{'serial/s':>10}{'4 procs/s':>11}")
    print("  (4 procs: read the host, then change it; 4 writer processes at once, start-up excluded)")
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, postgres(pg_url) as fresh:
        figures = {}
        for n in (100, 10_000):
            for backend in ("local", "postgresql"):
                location = str(Path(tmp) / f"db{n}") if backend == "local" else fresh()
                count = writes if backend == "postgresql" or n <= 100 else max(10, writes // 10)
                times, procs = state_changes(location, n, count)
                med = statistics.median(times)
                figures[(backend, n)] = med
                print(
                    f"  {backend:<11}{n:>7}{med * 1e3:>8.2f}ms{percentile(times, 0.99) * 1e3:>8.2f}ms"
                    f"{len(times) / sum(times):>10.0f}{procs:>11.0f}"
                )
                if backend == "postgresql" and n == 100:
                    base = statistics.median(plain_update(location, writes))
        pg_flat = figures[("postgresql", 10_000)] / figures[("postgresql", 100)]
        print(f"  PostgreSQL 10,000 vs 100 hosts: {pg_flat:.2f}x (flat = 1); goal <= 5 ms at 10,000")
        print(
            f"  local / PostgreSQL at 10,000 hosts: {figures[('local', 10_000)] / figures[('postgresql', 10_000)]:.0f}x"
        )
        print(
            f"  baseline, a bare UPDATE committed on the same server: {base * 1e3:.2f} ms "
            f"(a full audited change costs {figures[('postgresql', 100)] / base:.1f}x that)"
        )


FEED_WRITER = """
import sys, time
from tui.core.fleet import HostState
from tui.services.store import open_store
store = open_store(sys.argv[1])
names = sys.argv[3].split(",")
for i in range(int(sys.argv[2])):
    time.sleep(0.25)
    name = names[i % len(names)]
    state = HostState.DISABLED if (i // len(names)) % 2 == 0 else HostState.ENABLED
    store.set_state(name, state, "bench")
    print(name, state.label, time.time(), flush=True)
"""


async def feed_latency(config: Path, location: str, changes: int) -> list[float]:
    """Write in another process; time until the console's row shows it (polled every 2 ms)."""
    from textual.widgets import DataTable

    from tui.console.launch import build_console

    app = build_console(config, location)
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while len(app.view.snapshots) < len(app.view.records):
            await pilot.pause(0.05)
        names = [n for n in app.view.records if app.view.records[n].state.value == "enabled"][:4]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FEED_WRITER,
            location,
            str(changes),
            ",".join(names),
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert proc.stdout is not None
        table = app.screen.query_one(DataTable)
        for _ in range(changes):
            line = (await proc.stdout.readline()).decode().split()
            name, label, written = line[0], " ".join(line[1:-1]), float(line[-1])
            for _ in range(5000):  # bounded: 10 s
                if str(table.get_row(name)[1]) == label:
                    break
                await asyncio.sleep(0.002)
            latencies.append(time.time() - written)
        await proc.wait()
    return latencies


def feed_idle_cpu(directory: Path, seconds: float = 5.0) -> float:
    """CPU share of one core used by the local file watch while nothing changes."""
    from tui.services.store.feed import FileFeed

    feed = FileFeed(directory, lambda _c: None, None)
    start_cpu, start = time.process_time(), time.perf_counter()
    feed.start()
    time.sleep(seconds)
    feed.stop()
    return (time.process_time() - start_cpu) / (time.perf_counter() - start)


def bench_feed(pg_url: str | None, changes: int) -> None:
    from tui.services.demo import prepare_demo
    from tui.services.store import open_store
    from tui.services.store.copy import copy_store
    from tui.services.store.feed import POLL_S

    print("\nchange feed, a write in another process -> the console's row (Pilot, demo fleet):")
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, postgres(pg_url) as fresh:
        paths = prepare_demo(Path(tmp) / "demo")
        url = fresh()
        copy_store(open_store(str(paths.db)), open_store(url))
        for backend, location in (("local", str(paths.db)), ("postgresql", url)):
            lat = asyncio.run(feed_latency(paths.config, location, changes))
            print(
                f"  {backend:<11} p50 {percentile(lat, 0.5) * 1e3:6.1f} ms   p99 {percentile(lat, 0.99) * 1e3:6.1f} ms"
                f"   max {max(lat) * 1e3:6.1f} ms   ({len(lat)} changes; goal p99 <= 250 ms)"
            )
        idle = feed_idle_cpu(paths.db)
        print(f"  local file watch (stat every {POLL_S} s), idle: {idle * 100:.3f} % of a core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--backends", action="store_true", help="only the two-backend comparison")
    parser.add_argument("--feed", action="store_true", help="only the change feed latency")
    parser.add_argument("--changes", type=int, default=60, help="changes timed through the feed")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server whose role may create databases")
    args = parser.parse_args()
    if args.backends or args.feed:
        if args.backends:
            bench_backends(args.pg, max(args.writes, 100))
        if args.feed:
            bench_feed(args.pg, args.changes)
        return
    audit_growth(args.entries, args.writes)
    bench_backends(args.pg, max(args.writes, 100))
    bench_feed(args.pg, args.changes)


def audit_growth(entries: int, writes: int) -> None:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        store = Store(Path(tmp) / "db", actor=Actor("bench"))
        store.add_hosts(
            [HostRecord(f"h{i}", f"qemu+ssh://h{i}/system", "pool1", "libvirt1") for i in range(100)]
        )
        seed_audit(store, entries)
        ours = time_writes(store, writes)
        size = store.audit_log.path.stat().st_size
        read_start = time.perf_counter()
        count = len(store.audit())
        read_s = time.perf_counter() - read_start
        base = time_tinydb_audit(Path(tmp), entries, min(writes, 20))
    med, p95 = statistics.median(ours), sorted(ours)[int(len(ours) * 0.95) - 1]
    print(f"audit entries: {count} ({size / 1e6:.1f} MB JSON lines), 100 hosts in hosts.json")
    print("audited host write (lock + TinyDB hosts rewrite + fsync + audit append + fsync):")
    print(
        f"  median {med * 1e3:.2f} ms   p95 {p95 * 1e3:.2f} ms   max {max(ours) * 1e3:.2f} ms   goal <= 20 ms"
    )
    print(
        f"baseline, audit as a TinyDB table: median {statistics.median(base) * 1e3:.2f} ms per insert "
        f"({statistics.median(base) / med:.1f}x ours)"
    )
    print(f"reading the whole audit log: {read_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
