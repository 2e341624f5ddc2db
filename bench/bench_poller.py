"""Full poll cycles of test-driver fleets, in-process and through the poller worker, the console's
CPU while the worker polls a large fleet, and 50 real KVM domains on one libvirtd.

Goals (issue 14): 2,000 test-driver hosts x 20 domains: first complete poll <= 3 s, a cycle <= 0.5 s;
the console's CPU while its worker polls 10,000 hosts at the real period (10 s) <= 5% of one core.
Baselines in the same run: the bare loop (one thread, getInfo + listAllDomains + info/UUIDString/name
per domain over already open connections: the same libvirt calls, nothing else) and the bare
open() of every host's connection (the test driver parses each node file: the first poll's floor).
Every figure comes with its CPU time and the load average (the machine is shared). Prints figures;
never asserts on time. The KVM part needs the test bed.

    .venv/bin/python bench/bench_poller.py [--hosts 2000] [--domains 20] [--cycles 5] [--kvm 50]
        [--console-hosts 10000 --console-domains 10 --console-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

import libvirt

from tui.core.hosts import HostRecord
from tui.core.live import HostStatus
from tui.services.libvirt import ensure_runtime
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import LivePoller, Poller, PollerSettings
from tui.services.pollworker import WorkerPoller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return "load " + Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def cpu_s() -> float:
    return time.process_time()


def cycles(poller: LivePoller, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        snaps = poller.poll_once(60.0)
        out.append(time.perf_counter() - start)
        bad = [s.host for s in snaps.values() if s.status is not HostStatus.CONNECTED]
        if bad:
            raise SystemExit(f"hosts not connected: {bad[:5]}")
    return out


def baseline(uris: list[str], count: int) -> tuple[float, list[float]]:
    """(seconds to open every connection, the bare loop's cycle times)."""
    start = time.perf_counter()
    conns = [libvirt.open(u) for u in uris]
    opened = time.perf_counter() - start
    out = []
    for _ in range(count):
        start = time.perf_counter()
        for conn in conns:
            conn.getInfo()
            for dom in conn.listAllDomains(0):
                dom.info()
                dom.UUIDString()
                dom.name()
        out.append(time.perf_counter() - start)
    for conn in conns:
        conn.close()
    return opened, out


def fmt(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(times) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms"
        f" (min {min(times) * 1e3:.0f}, {len(times)} cycles)"
    )


def bench_test_driver(hosts: int, domains: int, count: int, workers: int) -> None:
    print(
        f"test driver: {hosts} hosts x {domains} domains ({hosts * domains} domains), {workers} poller threads"
    )
    with tempfile.TemporaryDirectory() as tmp:
        records = fake_fleet(Path(tmp), hosts, domains)
        cpu0, before = cpu_s(), rss_mb()
        start = time.perf_counter()
        opened, base = baseline([r.uri for r in records], count)
        print(
            f"  bare open() of every host, 1 thread: {opened * 1e3:.0f} ms  (the first poll's floor)  {load()}"
        )
        print(f"  bare loop, 1 thread: {fmt(base)}  CPU {cpu_s() - cpu0:.2f} s for open + {count} cycles")
        for kind in (Poller, WorkerPoller):
            poller: LivePoller = kind(records, settings=PollerSettings(workers=workers))
            cpu0 = cpu_s()
            start = time.perf_counter()
            first_snaps = poller.poll_once(120.0)
            first = time.perf_counter() - start
            bad = [s.host for s in first_snaps.values() if s.status is not HostStatus.CONNECTED]
            times = cycles(poller, count)
            used = cpu_s() - cpu0
            peak = rss_mb()
            poller.close()
            where = "in-process" if kind is Poller else "worker process"
            print(
                f"  {where}: first complete poll (opens every connection) {first * 1e3:.0f} ms"
                f" ({first / opened:.2f}x bare open; {len(bad)} not connected)   goal <= 3000 ms"
            )
            print(
                f"    poll cycle: {fmt(times)}   goal <= 500 ms;"
                f" {statistics.median(times) / statistics.median(base):.2f}x the bare loop"
            )
            print(
                f"    this process's CPU {used:.2f} s over first poll + {count} cycles"
                f" (wall {first + sum(times):.1f} s)   {load()}"
            )
            if kind is Poller:
                print(f"    peak RSS {peak:.0f} MB (before the fleet {before:.0f} MB)")


def bench_console_cpu(hosts: int, domains: int, seconds: float) -> None:
    """The console's side of the worker at the real period: CPU of this process only (the worker is
    another process) while it receives what the worker polls, as the idle console does."""
    print(f"console CPU: worker polling {hosts} hosts x {domains} domains at the real 10 s period")
    with tempfile.TemporaryDirectory() as tmp:
        records = fake_fleet(Path(tmp), hosts, domains)
        poller = WorkerPoller(records, settings=PollerSettings(period=10.0))
        got: list[int] = []
        poller.subscribe(lambda _snap: got.append(1), changes_only=True)
        start = time.perf_counter()
        poller.start()
        while len(poller.snapshots()) < hosts or not all(s.live for s in poller.snapshots().values()):
            time.sleep(0.5)
            if time.perf_counter() - start > 600:
                print("  not every host connected within 600 s")
                break
        print(f"  every host connected after {time.perf_counter() - start:.1f} s")
        samples0, cpu0, wall0 = poller.stats.samples, cpu_s(), time.perf_counter()
        time.sleep(seconds)
        used, wall = cpu_s() - cpu0, time.perf_counter() - wall0
        samples = poller.stats.samples - samples0
        poller.close()
    print(
        f"  console process CPU {used:.2f} s over {wall:.0f} s = {used / wall * 100:.2f}% of one core"
        f"   goal <= 5%;  {samples} load samples ({samples / wall:.0f}/s), {len(got)} snapshots  {load()}"
    )


def bench_kvm(count_domains: int, count: int) -> None:
    try:
        from tests.testbed import testbed_kvm, testbed_uris, tiny_domain_xml
    except ImportError:
        print("kvm: tests/testbed.py not found: skipped")
        return
    uris = testbed_uris()
    if uris is None:
        print("kvm: no test bed answering (run `bash scripts/libvirt-testbed.sh start` as root): skipped")
        return
    ensure_runtime()
    conn = libvirt.open(uris[0])
    made = []
    try:
        start = time.perf_counter()
        for i in range(count_domains):
            xml = tiny_domain_xml(
                f"vmdeck-test-bench-{i}", str(uuidlib.uuid4()), domain_type="kvm" if testbed_kvm() else "qemu"
            )
            dom = conn.defineXML(xml)
            made.append(dom)
            dom.create()
        print(f"kvm: started {count_domains} tiny guests in {time.perf_counter() - start:.1f} s")
        poller = Poller([HostRecord("a", uris[0], "pool1", "libvirt1")])
        poller.poll_once()
        times = cycles(poller, count)
        running = sum(1 for d in poller.snapshots()["a"].domains if d.state.holds_resources)
        poller.close()
        _, base = baseline([uris[0]], count)
        print(f"  {running} running domains on one libvirtd, full poll cycle: {fmt(times)}   goal <= 1000 ms")
        print(f"  baseline (bare loop): {fmt(base)}")
    finally:
        for dom in made:
            for step in (dom.destroy, dom.undefine):
                with contextlib.suppress(libvirt.libvirtError):
                    step()
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--workers", type=int, default=PollerSettings().workers)
    parser.add_argument("--kvm", type=int, default=50, help="real KVM guests (0 to skip)")
    parser.add_argument("--console-hosts", type=int, default=10000, help="0 to skip")
    parser.add_argument("--console-domains", type=int, default=10)
    parser.add_argument("--console-seconds", type=float, default=60.0)
    args = parser.parse_args()
    ensure_runtime()
    if args.hosts:
        bench_test_driver(args.hosts, args.domains, args.cycles, args.workers)
    if args.console_hosts:
        bench_console_cpu(args.console_hosts, args.console_domains, args.console_seconds)
    if args.kvm:
        bench_kvm(args.kvm, args.cycles)


if __name__ == "__main__":
    main()
