"""A start that fails or dies mid-way leaves nothing vmdeck does not know (issue 10 item 8), on host B.

Before: a host killed mid-start left a defined domain and its drive that the store did not know, and
`reconcile` called it "not started by vmdeck". Now the VM is recorded as "starting" before its drive
and domain exist; a failed start forgets the record once its clean-up removed everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tui.core.costs import CostFunction
from tui.core.curves import Linear
from tui.core.hosts import HostRecord
from tui.core.live.reconcile import ReconcileKind, reconcile
from tui.core.model import DriveCache, DrivesPolicy, HardwareProfile, Realm, VmConfig
from tui.services.actions import Deck, Result, StartRequest, create_pools, start_vm
from tui.services.store import Store

from . import testbed
from .test_actions_libvirt import settings

pytestmark = pytest.mark.kvm
URIS = testbed.testbed_uris()
needs_testbed = pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
TAG = f"vmdeck-test-left-{uuidlib.uuid4().hex[:6]}"
MIB, GIB = 1 << 20, 1 << 30


def make_config(tag: str = TAG) -> VmConfig:
    """One realm whose four pools are named after `tag` (a child process passes the parent's)."""
    cost = CostFunction("c", vms=Linear(slope=1.0, base=0.0))
    profile = HardwareProfile("small", cores=8, memory=32 * GIB, cost_function="c")
    realm = Realm(
        "r",
        volumes_pool=f"{tag}-vm",
        drives_pool=f"{tag}-drives",
        bricks_pool=f"{tag}-bricks",
        snapshots_pool=f"{tag}-snapshots",
        registration_timeout_s=30.0,
        drives=DrivesPolicy(lazy_allocation=True, cache=DriveCache.NONE, min_size=64 * MIB, max_size=4 * GIB),
    )
    return VmConfig({"c": cost}, {"small": profile}, {"r": realm})


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VmConfig, Path]]:
    assert URIS is not None
    config = make_config()
    db = tmp_path_factory.mktemp("store")
    Store(db).add_host(HostRecord("b", URIS[1], "small", "r"))
    pool_dir = Path(f"/srv/{TAG}")
    deck = Deck.open(config, Store(db), settings())
    try:
        created = create_pools(deck, "b", str(pool_dir))
        assert created.ok, created.message
        yield config, db
    finally:
        deck.close()
        testbed.remove_test_objects(URIS[1], TAG, pool_dir)


def request(name: str) -> StartRequest:
    return StartRequest(name, 1, 64 * MIB, disk=128 * MIB, host="b", realm="r", reason="test")


@needs_testbed
def test_a_start_that_fails_records_first_then_forgets_what_it_removed(bed: tuple[VmConfig, Path]) -> None:
    config, db = bed
    deck = Deck.open(config, Store(db), settings(firmware="/nonexistent/vmdeck-test.rom"))
    try:
        out = start_vm(deck, request(f"{TAG}-fail"))
    finally:
        deck.close()
    assert out.result is Result.FAILED
    assert "the VM was removed" in out.message
    store = Store(db)
    assert [vm for vm in store.managed_vms() if vm.name == f"{TAG}-fail"] == []
    changes = [
        (e.what, (e.after or e.before or {}).get("status")) for e in store.audit() if e.what.startswith("vm.")
    ]
    assert changes[-3:] == [("vm.start", None), ("vm.record", "starting"), ("vm.forget", "starting")]


STARTER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from tests.test_actions_libvirt import settings
    from tests.test_start_leftovers import make_config
    from tui.services.actions import Deck, StartRequest, start_vm
    from tui.services.store import Store
    deck = Deck.open(make_config(sys.argv[4]), Store(sys.argv[1]), settings())
    start_vm(deck, StartRequest(sys.argv[3], 1, 64 << 20, disk=128 << 20, host="b", realm="r", reason="x"))
    """
)


@needs_testbed
def test_a_start_killed_mid_way_is_known_as_vmdeck_s_to_reconcile(bed: tuple[VmConfig, Path]) -> None:
    config, db = bed
    name = f"{TAG}-killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(db), os.getcwd(), name, TAG],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert URIS is not None
    conn = libvirt.open(URIS[1])
    try:
        deadline = time.monotonic() + 60
        while name not in {d.name() for d in conn.listAllDomains(0)}:  # killed once its domain exists
            assert proc.poll() is None, "the start ended before it defined the domain"
            assert time.monotonic() < deadline
            time.sleep(0.001)
    finally:
        conn.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [vm] = [vm for vm in Store(db).managed_vms() if vm.name == name]
    assert vm.status == "starting"
    deck = Deck.open(config, Store(db), settings())
    try:
        findings = [f for f in reconcile(Store(db).managed_vms(), deck.snapshots()) if f.name == name]
    finally:
        deck.close()
    # Its domain and drive are there, and reconcile knows them as vmdeck's (before: "not started by vmdeck").
    assert [f.kind for f in findings] == [ReconcileKind.LEFTOVER]
    # And the intent the dead process wrote is reconciled by the next start (the Deck above).
    [entry] = [e for e in Store(db).audit(vm=name) if e.what == "vm.start"]
    assert entry.result == "abandoned"
