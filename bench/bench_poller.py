"""Full poll cycles: 500 test-driver hosts x 20 domains, and 50 real KVM domains on one libvirtd.

Goals (issue 4): test fleet cycle <= 0.5 s and < 300 MB RSS; 50 KVM domains <= 1 s. The baseline is
a plain single-threaded loop (listAllDomains + info per domain) over the same open connections: the
least any poller can do. The KVM part needs the test bed (`bash scripts/libvirt-testbed.sh start`).
Prints figures; never asserts on time.

    .venv/bin/python bench/bench_poller.py [--hosts 500] [--domains 20] [--cycles 5] [--kvm 50]
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
from tui.services.poller import Poller, PollerSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycles(poller: Poller, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        snaps = poller.poll_once()
        out.append(time.perf_counter() - start)
        bad = [s.host for s in snaps.values() if s.status is not HostStatus.CONNECTED]
        if bad:
            raise SystemExit(f"hosts not connected: {bad[:5]}")
    return out


def baseline(uris: list[str], count: int) -> list[float]:
    conns = [libvirt.open(u) for u in uris]
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
    return out


def fmt(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(times) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms"
        f" (min {min(times) * 1e3:.0f}, {len(times)} cycles)"
    )


def bench_test_driver(hosts: int, domains: int, count: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        records = fake_fleet(Path(tmp), hosts, domains)
        before = rss_mb()
        poller = Poller(records, settings=PollerSettings(workers=workers))
        start = time.perf_counter()
        poller.poll_once()
        first = time.perf_counter() - start
        times = cycles(poller, count)
        peak = rss_mb()
        poller.close()
        base = baseline([r.uri for r in records], count)
    print(f"test driver: {hosts} hosts x {domains} domains ({hosts * domains} domains), {workers} workers")
    print(f"  first poll incl. opening every connection: {first * 1e3:.0f} ms")
    print(f"  full poll cycle: {fmt(times)}   goal <= 500 ms")
    print(
        f"  baseline (bare loop, 1 thread): {fmt(base)}   poller/baseline {statistics.median(times) / statistics.median(base):.2f}x"
    )
    print(f"  peak RSS {peak:.0f} MB (before the fleet {before:.0f} MB)   goal < 300 MB")


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
        base = baseline([uris[0]], count)
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
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--workers", type=int, default=PollerSettings().workers)
    parser.add_argument("--kvm", type=int, default=50, help="real KVM guests (0 to skip)")
    args = parser.parse_args()
    ensure_runtime()
    bench_test_driver(args.hosts, args.domains, args.cycles, args.workers)
    if args.kvm:
        bench_kvm(args.kvm, args.cycles)


if __name__ == "__main__":
    main()
