"""Benchmark: start VMs through the scheduler on a real host, then drain that host with N in flight.

    .venv/bin/python bench/bench_actions.py [--starts 50] [--drain 20] [--parallel 4]

Uses the real test bed (bash scripts/libvirt-testbed.sh start). Phase 1 starts `--starts` halt-ROM
VMs through `start_vm` with only host B in the store (the scheduler still decides and explains every
placement), each with a sparse qcow2 drive. Phase 2 destroys all but `--drain` of them, adds host A
and drains B to A with `--parallel` live migrations in flight. Only two real hosts run here, so the
drain goes to one destination instead of two (the plan, the bound on in-flight migrations and the
per-VM work are the same). Where the time goes comes from each action's own step timings:
vmdeck (scheduling, store/audit writes), libvirt (volume create, define), QEMU (process start,
migration). Prints figures; asserts nothing about time. Everything made is named vmdeck-test-bench-*
and removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import testbed  # noqa: E402
from tui.core.costs import CostFunction  # noqa: E402
from tui.core.curves import HardSoft, Linear  # noqa: E402
from tui.core.hosts import HostRecord  # noqa: E402
from tui.core.model import DriveCache, DrivesPolicy, HardwareProfile, Realm, VmConfig  # noqa: E402
from tui.services.actions import (  # noqa: E402
    ActionSettings,
    CpuSpec,
    Deck,
    StartRequest,
    create_pools,
    drain_host,
    start_vm,
)
from tui.services.store import Store  # noqa: E402

MIB, GIB = 1 << 20, 1 << 30
PREFIX = "vmdeck-test-bench"
POOL_DIR = Path(f"/srv/{PREFIX}")


def config() -> VmConfig:
    cf = CostFunction(
        "bench",
        vms=Linear(slope=1.0, base=0.0),
        vcpus=HardSoft(soft=64, hard=128, soft_amt=4, hard_amt=32),
        memory=Linear(slope=1.0 / GIB, base=0.0),
    )
    profile = HardwareProfile("bench", cores=64, memory=64 * GIB, cost_function="bench")
    realm = Realm(
        "bench",
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snapshots",
        registration_timeout_s=60.0,
        drives=DrivesPolicy(lazy_allocation=True, cache=DriveCache.NONE, min_size=64 * MIB, max_size=4 * GIB),
    )
    return VmConfig({"bench": cf}, {"bench": profile}, {"bench": realm})


def cleanup(uri: str) -> None:
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(PREFIX):
                for step in (dom.destroy, dom.undefine):
                    with contextlib.suppress(libvirt.libvirtError):
                        step()
        for pool in conn.listAllStoragePools(0):
            if pool.name().startswith(PREFIX):
                with contextlib.suppress(libvirt.libvirtError):
                    pool.refresh(0)
                    for vol in pool.listAllVolumes(0):
                        vol.delete(0)
                for step in (pool.destroy, pool.undefine):
                    with contextlib.suppress(libvirt.libvirtError):
                        step()
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--drain", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    uris = testbed.testbed_uris()
    if uris is None:
        print("no test bed: run `bash scripts/libvirt-testbed.sh start` as root")
        return 1
    uri_a, uri_b = uris
    cfg = config()
    settings = ActionSettings(
        domain_type="kvm" if testbed.testbed_kvm() else "qemu",
        machine="pc",
        firmware=str(testbed.HALT_ROM),
        cpu=CpuSpec.custom("qemu64", ("svm",)),
        migrate_uris={"*": "tcp://127.0.0.1"},
        assume_shared_storage=True,
    )
    db = Path(tempfile.mkdtemp(prefix="vmdeck-bench-"))
    store = Store(db)
    store.add_host(HostRecord("b", uri_b, "bench", "bench"))
    try:
        deck = Deck.open(cfg, store, settings)
        assert create_pools(deck, "b", str(POOL_DIR)).ok
        # --- phase 1: starts through the scheduler ---------------------------------------------------
        steps: dict[str, list[float]] = {}
        names = []
        began = time.perf_counter()
        for i in range(args.starts):
            name = f"{PREFIX}-{i:03d}"
            out = start_vm(deck, StartRequest(name, 1, 64 * MIB, disk=128 * MIB, realm="bench"))
            if not out.ok:
                print(f"start {name} failed: {out.message}")
                return 1
            names.append(name)
            for k, v in out.details["timings"].items():
                steps.setdefault(k, []).append(v)
        wall = time.perf_counter() - began
        total = sum(steps["total"])
        print(
            f"start: {args.starts} VMs in {wall:.2f} s = {args.starts / wall:.1f} VMs/s "
            f"(mean {statistics.mean(steps['total']) * 1000:.0f} ms, max {max(steps['total']) * 1000:.0f} ms)"
        )
        groups = {
            "vmdeck: schedule (live fleet -> FleetState -> explain)": ["schedule"],
            "vmdeck: store record + audit": ["record"],
            "libvirt: qcow2 drive create (qemu-img)": ["volume"],
            "libvirt: define": ["define"],
            "QEMU: process start (virDomainCreate)": ["start"],
            "wait for running (state polls)": ["wait_running"],
        }
        for label, keys in groups.items():
            s = sum(sum(steps.get(k, [])) for k in keys)
            print(f"  {label:<56} {s:7.2f} s  {100 * s / total:5.1f}%")
        audit_s = wall - total
        print(f"  {'vmdeck: audit append + outcome (outside step timings)':<56} {audit_s:7.2f} s")

        # --- phase 2: drain ---------------------------------------------------------------------------
        _, conn_b = deck.connect("b")
        for name in names[args.drain :]:
            dom = conn_b.lookupByName(name)
            dom.destroy()
            dom.undefine()
        deck.close()
        store.add_host(HostRecord("a", uri_a, "bench", "bench"))
        deck = Deck.open(cfg, store, settings)
        assert create_pools(deck, "a", str(POOL_DIR)).ok
        plan_time: list[float] = []
        began = time.perf_counter()
        out = drain_host(
            deck,
            "b",
            "benchmark",
            parallel=args.parallel,
            on_plan=lambda _p: plan_time.append(time.perf_counter() - began),
        )
        wall = time.perf_counter() - began
        results = out.details.get("results", [])
        moved = sum(r["ok"] for r in results)
        per = [r["seconds"] for r in results]
        print(
            f"drain: {moved}/{len(results)} VMs B -> A with {args.parallel} in flight in {wall:.2f} s "
            f"= {moved / wall:.1f} migrations/s ({out.result.value}: {out.message})"
        )
        if per:
            print(f"  vmdeck: No Scheduling + plan                        {plan_time[0]:7.2f} s")
            print(
                f"  libvirt+QEMU: per migration mean {statistics.mean(per):.2f} s, max {max(per):.2f} s; "
                f"sum {sum(per):.2f} s -> {sum(per) / max(1e-9, wall - plan_time[0]):.1f}x overlap"
            )
            print(
                f"  vmdeck: re-poll + leftovers check                  {wall - plan_time[0] - out.details['seconds']:7.2f} s"
            )
        # Serial baseline on the way back: the same VMs one at a time, through migrate_vm.
        from tui.services.actions import migrate_vm

        store.edit_host(
            "b", {"state": __import__("tui.core.fleet", fromlist=["HostState"]).HostState.ENABLED}, "bench"
        )
        deck.close()
        deck = Deck.open(cfg, store, settings)
        began = time.perf_counter()
        back = [migrate_vm(deck, n, to="b") for n in names[: args.drain]]
        wall1 = time.perf_counter() - began
        print(
            f"baseline: the same {sum(o.ok for o in back)} VMs back one at a time in {wall1:.2f} s "
            f"= {len(back) / wall1:.1f} migrations/s"
        )
        deck.close()
    finally:
        for uri in uris:
            cleanup(uri)
        shutil.rmtree(POOL_DIR, ignore_errors=True)
        shutil.rmtree(db, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
