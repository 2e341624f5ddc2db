"""Load history: memory per host (measured with tracemalloc, rings full) and the cost of recording
one poll, for a fleet of test-shaped snapshots.

    .venv/bin/python bench/bench_history.py [--hosts 1000] [--vms-per-host 10]

Prints figures (never asserts). The rings are fixed size (tui/services/loadhistory.py): memory per
host must not grow with the number of polls. Baseline for recording: appending the same values
as Python floats to a deque(maxlen=360) per series (the plain bounded structure).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections import deque

from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, NodeFacts
from tui.services.loadhistory import HOST_BYTES, SLOTS, VM_BYTES, LoadHistory


def snapshots(hosts: int, vms: int) -> list[HostSnapshot]:
    node = NodeFacts("x86_64", 256 << 30, 64, 2000, 2, 2, 16, 2)
    out = []
    for h in range(hosts):
        domains = tuple(
            DomainFacts(
                f"vm{v}", f"{h:08d}-{v:04d}", DomainState.RUNNING, 4, 8 << 30, 8 << 30, cpu_rate=0.5 + v
            )
            for v in range(vms)
        )
        out.append(HostSnapshot(f"h{h}", "test:///", HostStatus.CONNECTED, node=node, domains=domains))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--vms-per-host", type=int, default=10)
    args = parser.parse_args()
    snaps = snapshots(args.hosts, args.vms_per_host)
    polls = SLOTS + 10  # more polls than slots: the rings are full and wrapped
    history = LoadHistory()
    tracemalloc.start()  # memory in one run, time in another (tracemalloc slows allocations)
    base = tracemalloc.get_traced_memory()[0]
    for poll in range(polls):
        for snap in snaps:
            history.record(snap, at=float(poll))
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    history = LoadHistory()
    start = time.perf_counter()
    for poll in range(polls):
        for snap in snaps:
            history.record(snap, at=float(poll))
    took = time.perf_counter() - start
    per_host = used / args.hosts
    print(f"hosts: {args.hosts:,}, VMs per host: {args.vms_per_host}, polls recorded: {polls}")
    print(f"  ring bytes per host (design):   {HOST_BYTES:,} + {VM_BYTES:,} per VM")
    print(f"  measured per host incl. VMs:    {per_host:,.0f} bytes")
    expected = HOST_BYTES + args.vms_per_host * VM_BYTES
    print(
        f"  design per host incl. VMs:      {expected:,} bytes (measured / design {per_host / expected:.2f})"
    )
    print(f"  record one poll of one host:    {took / (polls * args.hosts) * 1e6:.1f} µs")
    baseline: dict[str, deque[float]] = {}
    start = time.perf_counter()
    for poll in range(polls):
        for snap in snaps:
            series = baseline.setdefault(snap.host, deque(maxlen=SLOTS))
            series.append(float(poll))
            series.append(sum(d.cpu_rate or 0.0 for d in snap.domains) / 64)
            series.append(sum(d.memory for d in snap.domains) / (256 << 30))
            for d in snap.domains:
                baseline.setdefault(d.uuid, deque(maxlen=SLOTS)).append(d.cpu_rate or 0.0)
    took_base = time.perf_counter() - start
    print(f"  baseline deque append:          {took_base / (polls * args.hosts) * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
