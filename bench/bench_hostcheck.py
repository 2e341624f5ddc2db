"""qemu+ssh against unix sockets, and `vmdeck hosts check --all` on the test bed.

1. A poll cycle of test-bed host D over ssh (through the test bed's sshd) next to the same daemon
   over its unix socket, with N small domains defined on D: the poller's cycle, and the first
   connect (ssh handshake + virt-ssh-helper) against a unix connect. The baseline for both is the
   same poller over the unix socket: what ssh costs on top.
2. `hosts check --all` for the test bed's hosts (A, B, C over unix, D over ssh) in one realm with
   shared pools: wall time of the whole check, per host, and the share of the probe migrations.

Needs the test bed (`bash scripts/libvirt-testbed.sh start` as root). Prints figures; never asserts.

    .venv/bin/python bench/bench_hostcheck.py [--domains 20] [--cycles 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import libvirt  # noqa: E402

from tests import testbed  # noqa: E402
from tui.core.hosts import HostRecord  # noqa: E402
from tui.core.live import HostStatus  # noqa: E402
from tui.services.actions import ActionSettings, CpuSpec, Deck, create_pools  # noqa: E402
from tui.services.libvirt import ensure_runtime  # noqa: E402
from tui.services.poller import Poller, PollerSettings  # noqa: E402
from tui.services.store import Store  # noqa: E402

PREFIX = f"vmdeck-test-bench-hc-{uuidlib.uuid4().hex[:6]}"


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:7.1f} ms  min {min(xs) * 1000:7.1f} ms"


def poll_cycles(uri: str, count: int) -> tuple[float, list[float]]:
    poller = Poller([HostRecord("h", uri, "p", "r")], None, PollerSettings(period=3600))
    began = time.perf_counter()
    snaps = poller.poll_once()
    first = time.perf_counter() - began
    if snaps["h"].status is not HostStatus.CONNECTED:
        raise SystemExit(f"{uri}: {snaps['h'].error}")
    out = []
    for _ in range(count):
        began = time.perf_counter()
        poller.poll_once()
        out.append(time.perf_counter() - began)
    poller.close()
    return first, out


def bench_transports(domains: int, count: int) -> None:
    ssh, unix = testbed.testbed_ssh_uri(), testbed.testbed_uri_d_unix()
    if ssh is None or unix is None:
        raise SystemExit("no host D over ssh in the test bed: run `bash scripts/libvirt-testbed.sh start`")
    conn = libvirt.open(unix)
    try:
        for i in range(domains):
            xml = testbed.tiny_domain_xml(f"{PREFIX}-{i}", str(uuidlib.uuid4()))
            conn.defineXML(xml)
        print(f"poll cycle of host D with {len(conn.listAllDomains(0))} domains ({count} cycles):")
        first_unix, unix_cycles = poll_cycles(unix, count)
        first_ssh, ssh_cycles = poll_cycles(ssh, count)
        print(f"  unix socket  first (connect + poll) {first_unix * 1000:7.1f} ms   cycle {_ms(unix_cycles)}")
        print(f"  qemu+ssh     first (connect + poll) {first_ssh * 1000:7.1f} ms   cycle {_ms(ssh_cycles)}")
        ratio = statistics.median(ssh_cycles) / statistics.median(unix_cycles)
        print(f"  ssh / unix:  connect x{first_ssh / first_unix:.1f}, cycle x{ratio:.2f}")
    finally:
        conn.close()
        testbed.remove_test_objects(unix, PREFIX)


def bench_check_all() -> None:
    from tui.core.costs import CostFunction
    from tui.core.curves import Linear
    from tui.core.model import HardwareProfile, Realm, VmConfig
    from tui.services.hostcheck import check_hosts

    uris = testbed.testbed_uris()
    uri_c, ssh = testbed.testbed_uri_c(), testbed.testbed_ssh_uri()
    if uris is None or uri_c is None or ssh is None:
        raise SystemExit("the test bed needs hosts A, B, C and D")
    realm = Realm(
        "r",
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snap",
    )
    config = VmConfig(
        {"c": CostFunction("c", vms=Linear(slope=1, base=0))},
        {"p": HardwareProfile("p", 1, 1 << 30, "c")},
        {"r": realm},
    )
    hosts = {"a": uris[0], "b": uris[1], "c": uri_c, "d": ssh}
    pool_dir = Path(f"/srv/{PREFIX}")
    db = Path(tempfile.mkdtemp(prefix="vmdeck-bench-hc-"))
    store = Store(db)
    store.add_hosts([HostRecord(n, u, "p", "r") for n, u in hosts.items()])
    settings = ActionSettings(
        domain_type="kvm" if testbed.testbed_kvm() else "qemu",
        machine="pc",
        firmware=str(testbed.HALT_ROM),
        cpu=CpuSpec.custom("qemu64", ("svm",)),
        migrate_uris={"*": "tcp://127.0.0.1"},
    )
    try:
        began = time.perf_counter()
        deck = Deck.open(config, store, settings)
        opened = time.perf_counter() - began
        try:
            for name in hosts:
                assert create_pools(deck, name, str(pool_dir)).ok
            began = time.perf_counter()
            reports = check_hosts(deck, list(hosts))
            took = time.perf_counter() - began
        finally:
            deck.close()
        print(f"\nhosts check --all on the test bed ({len(hosts)} hosts, one realm, shared pools):")
        print(f"  opening the fleet {opened:.2f} s; the checks {took:.2f} s (4 hosts at once)")
        for r in reports:
            migration = next((i for i in r.items if i.check == "migration"), None)
            print(
                f"  {r.host}: {r.seconds or 0:.2f} s, {r.summary()}; migration: {migration.detail if migration else '-'}"
            )
            for item in r.items:
                if item.verdict.value == "fail":
                    print(f"     FAIL {item.check} {item.subject}: {item.detail}")
        serial = sum(r.seconds or 0 for r in reports)
        print(f"  sum of per-host times {serial:.2f} s -> x{serial / took:.1f} from checking in parallel")
    finally:
        for uri in hosts.values():
            testbed.remove_test_objects(uri, PREFIX)
        shutil.rmtree(pool_dir, ignore_errors=True)
        shutil.rmtree(db, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    ensure_runtime()
    bench_transports(args.domains, args.cycles)
    bench_check_all()


if __name__ == "__main__":
    main()
