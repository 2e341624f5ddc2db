"""Benchmark: start VMs through the scheduler on a real host, then drain it to two others, N in flight.

    .venv/bin/python bench/bench_actions.py [--starts 50] [--drain 20] [--parallel 4]

Uses the real test bed (bash scripts/libvirt-testbed.sh start). Phase 1 starts `--starts` halt-ROM
VMs through `start_vm` with only host B in the store (the scheduler still decides and explains every
placement), each with a sparse qcow2 drive. Phase 2 destroys all but `--drain` of them, adds hosts A
and C and drains B to both with `--parallel` live migrations in flight (the scheduler splits the
VMs between them); then the same VMs go back to B one at a time through `migrate_vm`, the serial
baseline. (On an older test bed without host C the drain goes to A alone, and says so.)

Where the time goes comes from each action's own step timings: vmdeck (scheduling, store/audit
writes), libvirt (volume create, define), QEMU (process start, migration). For a migration, the
audit entry holds the seconds of libvirt's migrate call (the rest of the move is vmdeck's), and the
destination keeps libvirt's completed-job statistics: the migration job's time until QEMU reported
the memory copied (libvirt's Begin/Prepare, which starts the destination QEMU, plus QEMU's transfer
and downtime) and so, by difference, libvirt's Finish/Confirm (resume on the destination, persist,
stop the source QEMU, undefine it there). Prints figures; asserts nothing about time. Everything
made is named vmdeck-test-bench-* and removed at the end.
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
from tui.core.fleet import HostState  # noqa: E402
from tui.core.hosts import HostRecord  # noqa: E402
from tui.core.model import DriveCache, DrivesPolicy, HardwareProfile, Realm, VmConfig  # noqa: E402
from tui.services.actions import (  # noqa: E402
    ActionSettings,
    CpuSpec,
    Deck,
    StartRequest,
    create_pools,
    drain_host,
    migrate_vm,
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


def migrate_call_seconds(store: Store) -> dict[str, float]:
    """VM name -> seconds of libvirt's migrate call, from the vm.migrate audit entries."""
    out: dict[str, float] = {}
    for e in store.audit():
        after = e.after if isinstance(e.after, dict) else {}
        if e.what == "vm.migrate" and after.get("result") == "ok" and "seconds" in after:
            out[str(after["target"])] = float(after["seconds"])
    return out


def completed_jobs(deck: Deck, results: list[dict]) -> dict[str, dict]:
    """VM name -> libvirt's completed migration job statistics, kept on the destination (read once)."""
    out: dict[str, dict] = {}
    for r in results:
        if not r["ok"]:
            continue
        _, conn = deck.connect(r["to"])
        with contextlib.suppress(libvirt.libvirtError):
            stats = conn.lookupByName(r["vm"]).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
            if "time_elapsed" in stats:
                out[r["vm"]] = stats
    return out


def report_moves(results: list[dict], calls: dict[str, float], jobs: dict[str, dict], busy: float) -> None:
    """Per-migration split: vmdeck around the call, libvirt+QEMU until the memory is copied, libvirt after."""
    per = [r["seconds"] for r in results if r["ok"]]
    if not per:
        return
    print(
        f"  per migration: mean {statistics.mean(per):.2f} s, max {max(per):.2f} s; "
        f"sum {sum(per):.2f} s -> {sum(per) / max(1e-9, busy):.1f}x overlap"
    )
    ok = [r for r in results if r["ok"] and r["vm"] in calls]
    if not ok:
        return
    total = sum(r["seconds"] for r in ok)
    call = sum(calls[r["vm"]] for r in ok)
    rows = [("vmdeck: checks, audit, store, refresh request", total - call)]
    timed = [r for r in ok if r["vm"] in jobs]
    if len(timed) == len(ok):
        job = sum(jobs[r["vm"]]["time_elapsed"] for r in ok) / 1000
        down = statistics.mean(jobs[r["vm"]].get("downtime", 0) for r in ok)
        rows += [
            ("libvirt+QEMU: until QEMU copied the memory", job),
            ("  (Begin/Prepare with dest QEMU start + QEMU transfer)", None),
            (f"  (QEMU downtime mean {down:.0f} ms)", None),
            ("libvirt: Finish/Confirm (resume, persist, stop source)", call - job),
        ]
    else:
        rows.append(("libvirt+QEMU: the migrate call", call))
    for label, v in rows:
        if v is None:
            print(f"    {label}")
        else:
            print(f"    {label:<54} {v:7.2f} s  {100 * v / total:5.1f}%")


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
    uri_c = testbed.testbed_uri_c()
    if uri_c is None:
        print("note: test bed has no host C (restart it: bash scripts/libvirt-testbed.sh stop; ... start);")
        print("      draining B to A alone")
    all_uris = [*uris, *([uri_c] if uri_c else [])]
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

        # --- phase 2: drain B to A and C ----------------------------------------------------------
        _, conn_b = deck.connect("b")
        for name in names[args.drain :]:
            dom = conn_b.lookupByName(name)
            dom.destroy()
            dom.undefine()
        deck.close()
        dests = {"a": uri_a, **({"c": uri_c} if uri_c else {})}
        for host, uri in dests.items():
            store.add_host(HostRecord(host, uri, "bench", "bench"))
        deck = Deck.open(cfg, store, settings)
        for host in dests:
            assert create_pools(deck, host, str(POOL_DIR)).ok
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
        to = {h: sum(r["ok"] and r["to"] == h for r in results) for h in dests}
        split = " + ".join(f"{n} -> {h.upper()}" for h, n in to.items())
        print(
            f"drain: {moved}/{len(results)} VMs off B ({split}) with {args.parallel} in flight in {wall:.2f} s "
            f"= {moved / wall:.1f} migrations/s ({out.result.value}: {out.message})"
        )
        if results:
            calls = migrate_call_seconds(store)
            jobs = completed_jobs(deck, results)
            report_moves(results, calls, jobs, wall - plan_time[0])
            print(f"  {'vmdeck: No Scheduling + plan (once)':<56} {plan_time[0]:7.2f} s")
            print(
                f"  {'vmdeck: re-poll + leftovers check (once)':<56} {wall - plan_time[0] - out.details['seconds']:7.2f} s"
            )
        # Serial baseline on the way back: the same VMs one at a time, through migrate_vm.
        store.edit_host("b", {"state": HostState.ENABLED}, "bench")
        deck.close()
        deck = Deck.open(cfg, store, settings)
        began = time.perf_counter()
        back = [migrate_vm(deck, n, to="b") for n in names[: args.drain]]
        wall1 = time.perf_counter() - began
        secs = [o.details["seconds"] for o in back if o.ok]
        print(
            f"baseline: the same {sum(o.ok for o in back)} VMs back to B one at a time in {wall1:.2f} s "
            f"= {len(back) / wall1:.1f} migrations/s"
            + (f" (libvirt migrate call mean {statistics.mean(secs):.2f} s)" if secs else "")
        )
        if moved:
            print(f"  parallel drain vs serial: {wall1 / wall:.1f}x the rate")
        deck.close()
    finally:
        for uri in all_uris:
            testbed.remove_test_objects(uri, PREFIX)
        shutil.rmtree(POOL_DIR, ignore_errors=True)
        shutil.rmtree(db, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
