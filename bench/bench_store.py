"""Store write cost with a large audit log: one audited host change (TinyDB hosts + audit append).

Goal (issue 4): <= 20 ms per write with 10,000 audit entries. Baseline for comparison: the same audit
log kept as a TinyDB table (what the JSON-lines log replaces), which rewrites the whole file per write.
Prints figures; never asserts on time.

    .venv/bin/python bench/bench_store.py [--entries 10000] [--writes 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        store = Store(Path(tmp) / "db", actor=Actor("bench"))
        store.add_hosts(
            [HostRecord(f"h{i}", f"qemu+ssh://h{i}/system", "pool1", "libvirt1") for i in range(100)]
        )
        seed_audit(store, args.entries)
        ours = time_writes(store, args.writes)
        size = store.audit_log.path.stat().st_size
        read_start = time.perf_counter()
        count = len(store.audit())
        read_s = time.perf_counter() - read_start
        base = time_tinydb_audit(Path(tmp), args.entries, min(args.writes, 20))
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
