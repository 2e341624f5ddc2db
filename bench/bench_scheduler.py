"""Scheduler benchmark: decisions per second of the cost engine beside a plain Python loop.

Prints (never asserts):
- replay decisions/s at 100, 1,000 and 10,000 hosts, engine vs the plain loop over hosts (ratio);
- single cold decisions/s (a fresh vectorised pass per decision, no per-shape cache);
- a 100,000-event replay over 10,000 hosts: time and peak RSS (in a child process, so the figure is
  the replay's own).

5 curves per host (vms, vcpus, memory and two device types), 20 request shapes, as in
../shared/notes/performance.md. Run: .venv/bin/python bench/bench_scheduler.py [--quick]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.core.costs import CostFunction  # noqa: E402
from tui.core.curves import HardSoft, Linear  # noqa: E402
from tui.core.fleet import Fleet, FleetHost, HostState  # noqa: E402
from tui.core.model import Device, HardwareProfile, VmConfig  # noqa: E402
from tui.core.scheduling import CostEngine, FleetState, replay  # noqa: E402
from tui.core.scheduling.reference import PlainFleet  # noqa: E402
from tui.core.scheduling.request import Request  # noqa: E402
from tui.core.scheduling.workload import Event, Shape, StartEvent, WorkloadSpec, generate  # noqa: E402

GIB = 1024**3


def bench_config() -> VmConfig:
    def cf(cf_id: str, offset: float) -> CostFunction:
        return CostFunction(
            cf_id,
            vms=Linear(slope=1, base=0),
            vcpus=HardSoft(soft=32, hard=64, soft_amt=4, hard_amt=32),
            memory=HardSoft(soft=128 * GIB, hard=256 * GIB, scale=10),
            devices={"nvidia-gpu": Linear(slope=1, base=0, max=4), "fpga": Linear(slope=2, base=0, max=2)},
            offset=offset,
        )

    gpus = tuple(Device("nvidia-gpu", f"0000:{b:02x}:00.0") for b in range(1, 5))
    fpgas = tuple(Device("fpga", f"0000:{b:02x}:00.0") for b in range(0x10, 0x12))
    profiles = {
        "pool1": HardwareProfile("pool1", 32, 256 * GIB, "pool1"),
        "pool2": HardwareProfile("pool2", 32, 256 * GIB, "pool2"),
        "gpu": HardwareProfile("gpu", 32, 256 * GIB, "gpu", devices=gpus + fpgas),
    }
    cfs = {"pool1": cf("pool1", 0), "pool2": cf("pool2", 1000), "gpu": cf("gpu", 100000)}
    return VmConfig(cfs, profiles, {})


def bench_fleet(n: int) -> Fleet:
    hosts = []
    for i in range(n):
        profile = "gpu" if i % 10 == 0 else ("pool1" if i % 2 else "pool2")
        state = HostState.NO_SCHEDULING if i % 50 == 7 else HostState.ENABLED
        # Start busy (about half the soft limits) so the replay runs near capacity from the start.
        vms = (i * 7) % 5
        hosts.append(FleetHost(f"host-{i:06d}", profile, state, vms, vms * 3, vms * 12 * GIB))
    return Fleet(tuple(hosts))


SHAPES = tuple(Shape(v, m * GIB, 1.0) for v in (1, 2, 4, 8, 16) for m in (2, 4, 16, 32))  # 20 shapes


def workload(hosts: int, starts: int, seed: int = 1) -> list[Event]:
    # Steady state within the run: mean lifetime = a quarter of the arrivals, so about as many stops
    # as starts follow, capped at ~4 more VMs per host on top of the initial load (near the hard limits).
    spec = WorkloadSpec(
        starts=starts,
        rate=1.0,
        mean_lifetime=min(starts / 4, hosts * 4.0),
        shapes=SHAPES,
        gpu_share=0.05,
        seed=seed,
    )
    return generate(spec)


def plain_replay(config: VmConfig, fleet: Fleet, events: list[Event], budget_s: float) -> tuple[int, float]:
    """Starts decided per second by the plain loop (stops within the time budget included)."""
    plain = PlainFleet(config, fleet)
    running: dict[str, tuple[int, Request, list[str]]] = {}
    starts = 0
    began = time.perf_counter()
    for event in events:
        if isinstance(event, StartEvent):
            i, _ = plain.place(event.request)
            starts += 1
            if i >= 0:
                running[event.id] = (i, event.request, plain.add(i, event.request))
        elif event.id in running:
            i, request, taken = running.pop(event.id)
            plain.remove(i, request, taken)
        if time.perf_counter() - began > budget_s:
            break
    return starts, time.perf_counter() - began


def replay_rates(sizes: list[int], starts: int, plain_budget: float) -> None:
    config = bench_config()
    print("replay decisions/s (cost policy; each start is one decision, stops included in the time)")
    print(f"{'hosts':>8} {'engine':>12} {'plain loop':>12} {'ratio':>8} {'rejected':>9}")
    for n in sizes:
        fleet = bench_fleet(n)
        events = workload(n, starts)
        began = time.perf_counter()
        result = replay(config, fleet, events)
        engine_rate = starts / (time.perf_counter() - began)
        plain_starts, plain_s = plain_replay(config, fleet, events, plain_budget)
        plain_rate = plain_starts / plain_s
        print(
            f"{n:>8,} {engine_rate:>12,.0f} {plain_rate:>12,.0f} {engine_rate / plain_rate:>7,.0f}x "
            f"{result.rejected / starts:>8.1%}"
        )


def cold_rates(sizes: list[int], decisions: int) -> None:
    config = bench_config()
    requests = [Request(s.vcpus, s.memory) for s in SHAPES]
    print("\nsingle cold decisions/s (one full vectorised pass + argmin each, no per-shape cache)")
    print(f"{'hosts':>8} {'engine':>12} {'plain loop':>12} {'ratio':>8}")
    for n in sizes:
        fleet = bench_fleet(n)
        state = FleetState(config, fleet)
        engine = CostEngine(state)
        began = time.perf_counter()
        for k in range(decisions):
            costs = engine.evaluate(requests[k % len(requests)])
            costs.argmin()
        engine_rate = decisions / (time.perf_counter() - began)
        plain = PlainFleet(config, fleet)
        count, began = 0, time.perf_counter()
        while time.perf_counter() - began < 1.0:
            plain.place(requests[count % len(requests)])
            count += 1
        plain_rate = count / (time.perf_counter() - began)
        print(f"{n:>8,} {engine_rate:>12,.0f} {plain_rate:>12,.0f} {engine_rate / plain_rate:>7,.0f}x")


def big_replay(hosts: int, events: int) -> None:
    config = bench_config()
    fleet = bench_fleet(hosts)
    stream = workload(hosts, events // 2, seed=2)[:events]
    began = time.perf_counter()
    result = replay(config, fleet, stream)
    elapsed = time.perf_counter() - began
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    starts = result.placed + result.rejected
    print(
        f"{len(stream):,} events over {hosts:,} hosts: {elapsed:.2f} s "
        f"({starts / elapsed:,.0f} decisions/s, {result.rejected:,} rejected), peak RSS {rss_mib:,.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    parser.add_argument("--big-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_only:
        big_replay(10_000, 20_000 if args.quick else 100_000)
        return
    starts = 4_000 if args.quick else 20_000
    replay_rates([100, 1_000, 10_000], starts, plain_budget=2.0 if args.quick else 5.0)
    cold_rates([100, 1_000, 10_000], 200 if args.quick else 1_000)
    print()
    child = [sys.executable, __file__, "--big-only"] + (["--quick"] if args.quick else [])
    subprocess.run(child, check=True)


if __name__ == "__main__":
    main()
