"""Hosts reached the way production reaches them: qemu+ssh to the test bed's host D.

Host D's libvirtd is fronted by an sshd of the test bed's own (127.0.0.1:2222, its own host key, a
client key the test bed generated, known_hosts files of its own). Here: polling, start, scale, stop,
live migration between the ssh host and host B both ways, and a drain, all over ssh; then the faults
— an sshd that hangs (SIGSTOP), refuses the key, or presents an unknown host key — each on a second,
short-lived sshd of the test's own (tests/testbed.ExtraSshd) so the shared one is never touched:
the faulty host gets a clear status within 10 s while host D keeps updating, and recovers when
the fault is undone. Every fault is undone and every extra sshd stopped in teardown.
"""

from __future__ import annotations

import shutil
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.hostcheck import access_hint
from tui.core.hosts import HostRecord
from tui.core.live import HostStatus
from tui.services.actions import (
    Deck,
    Result,
    StartRequest,
    create_pools,
    destroy_vm,
    drain_host,
    migrate_vm,
    scale_vm,
    start_vm,
    stop_vm,
    undefine_vm,
)
from tui.services.poller import Poller, PollerSettings
from tui.services.store import Store

from . import testbed
from .livefixtures import Recorder, wait_for
from .test_actions_libvirt import make_config, settings

pytestmark = pytest.mark.kvm
SSH_URI = testbed.testbed_ssh_uri()
URIS = testbed.testbed_uris()
needs_ssh = pytest.mark.skipif(
    SSH_URI is None or URIS is None,
    reason="no test-bed host D over ssh: run `bash scripts/libvirt-testbed.sh start` as root "
    "(needs openssh-server: `bash scripts/setup.sh test` installs it)",
)
TAG = uuidlib.uuid4().hex[:6]
PREFIX = f"vmdeck-test-ssh-{TAG}"
POOL_DIR = Path(f"/srv/{PREFIX}")
MIB = 1 << 20
STATUS_BOUND_S = 10.0  # the bound for a clear status of a failing ssh host


def _realm_config():  # type: ignore[no-untyped-def]
    """test_actions_libvirt's config with this module's own pool names (realm 'r')."""
    from dataclasses import replace

    config = make_config()
    realm = replace(
        config.realms["r"],
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snapshots",
    )
    return replace(config, realms={**config.realms, "r": realm})


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    """Host d (over ssh) and host b in one realm whose pools are one directory both see."""
    assert SSH_URI is not None
    assert URIS is not None
    config = _realm_config()
    db = tmp_path_factory.mktemp("store")
    Store(db).add_hosts([HostRecord("d", SSH_URI, "small", "r"), HostRecord("b", URIS[1], "small", "r")])
    try:
        deck = Deck.open(config, Store(db), settings())
        try:
            for host in ("d", "b"):
                created = create_pools(deck, host, str(POOL_DIR))
                assert created.ok, created.message
        finally:
            deck.close()
        yield config, db
    finally:
        for uri in (SSH_URI, URIS[1]):
            testbed.remove_test_objects(uri, PREFIX)
        shutil.rmtree(POOL_DIR, ignore_errors=True)


@pytest.fixture
def deck(bed: tuple[object, Path]) -> Iterator[Deck]:
    config, db = bed
    d = Deck.open(config, Store(db), settings())  # type: ignore[arg-type]
    yield d
    d.close()


@needs_ssh
def test_poll_over_ssh_sees_the_daemon_behind_it(deck: Deck) -> None:
    snap = deck.snapshots()["d"]
    assert snap.status is HostStatus.CONNECTED, snap.error
    assert snap.uri.startswith("qemu+ssh://")
    assert snap.node is not None
    assert snap.node.cpus >= 1
    conn = deck.poller.connection("d")
    assert conn is not None
    assert conn.getHostname() == testbed.read_env()["VMDECK_TESTBED_HOSTNAME_D"]


@needs_ssh
def test_lifecycle_and_migration_over_ssh(deck: Deck) -> None:
    name = f"{PREFIX}-vm-{uuidlib.uuid4().hex[:4]}"
    started = start_vm(
        deck, StartRequest(name, vcpus=1, memory=64 * MIB, max_vcpus=2, disk=64 * MIB, host="d", realm="r")
    )
    assert started.ok, started.message
    assert started.host == "d"
    scaled = scale_vm(deck, name, vcpus=2)
    assert scaled.ok, scaled.message
    deck.wait_refreshed(("d", "b"))
    assert [d.vcpus for d in deck.snapshots()["d"].domains if d.name == name] == [2]
    # Live migration between the ssh host and a unix-socket host, both ways.
    there = migrate_vm(deck, name, to="b")
    assert there.ok, there.message
    deck.wait_refreshed(("d", "b"))
    assert any(d.name == name for d in deck.snapshots()["b"].domains)
    back = migrate_vm(deck, name, to="d")
    assert back.ok, back.message
    deck.wait_refreshed(("d", "b"))
    assert any(d.name == name for d in deck.snapshots()["d"].domains)
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("d",))
    assert undefine_vm(deck, name).ok


@needs_ssh
def test_drain_over_ssh(deck: Deck) -> None:
    uri = testbed.testbed_ssh_uri()
    assert uri is not None
    if foreign := testbed.foreign_domains(uri, PREFIX):
        pytest.skip(f"host d has domains this test did not make ({', '.join(foreign)}): a drain moves them")
    name = f"{PREFIX}-vm-{uuidlib.uuid4().hex[:4]}"
    started = start_vm(deck, StartRequest(name, vcpus=1, memory=64 * MIB, disk=64 * MIB, host="d", realm="r"))
    assert started.ok, started.message
    deck.wait_refreshed(("d", "b"))  # the drain plans from the polled facts: they must hold the VM
    # Drain the ssh host: the VM moves to b, d ends No Scheduling.
    drained = drain_host(deck, "d", "test: drain over ssh")
    assert drained.ok, drained.message
    deck.wait_refreshed(("d", "b"))
    assert any(d.name == name for d in deck.snapshots()["b"].domains)
    assert not any(d.name == name for d in deck.snapshots()["d"].domains)
    assert deck.store.host("d").state.value == "no-scheduling"  # type: ignore[union-attr]
    deck.store.set_state("d", deck.store.host("b").state, "test: undo the drain")  # type: ignore[union-attr]
    deck.wait_refreshed(("d", "b"))
    stopped = stop_vm(deck, name)
    assert stopped.result in (Result.OK, Result.TIMED_OUT)  # the halt ROM ignores ACPI
    assert destroy_vm(deck, name).ok
    assert undefine_vm(deck, name, remove_storage=True).ok


def _poller(*records: HostRecord) -> tuple[Poller, Recorder]:
    # The console's bounds (open_timeout 10 s) with a short period so "keeps updating" is visible.
    poller = Poller(records, None, PollerSettings(period=0.5, backoff_max=2.0))
    recorder = Recorder()
    poller.subscribe(recorder)
    poller.start()
    return poller, recorder


def _latest(recorder: Recorder, host: str):  # type: ignore[no-untyped-def]
    seen = recorder.of(host)
    return seen[-1] if seen else None


def _status_within(recorder: Recorder, host: str, status: HostStatus, bound: float) -> bool:
    def ok() -> bool:
        snap = _latest(recorder, host)
        return snap is not None and snap.status is status

    return wait_for(ok, bound)


def _d_keeps_updating(recorder: Recorder) -> None:
    before = len([s for s in recorder.of("d") if s.status is HostStatus.CONNECTED])
    assert wait_for(
        lambda: len([s for s in recorder.of("d") if s.status is HostStatus.CONNECTED]) >= before + 2, 10
    ), "host d stopped updating while the other host was failing"


@needs_ssh
def test_sshd_that_hangs_gets_a_status_within_10_s_and_recovers() -> None:
    assert SSH_URI is not None
    with testbed.ExtraSshd() as sshd:
        poller, rec = _poller(HostRecord("d", SSH_URI, "small", "r"), HostRecord("x", sshd.uri, "small", "r"))
        try:
            assert _status_within(rec, "x", HostStatus.CONNECTED, 30), _latest(rec, "x")
            sshd.freeze()
            assert _status_within(rec, "x", HostStatus.UNREACHABLE, STATUS_BOUND_S), _latest(rec, "x")
            _d_keeps_updating(rec)
            sshd.thaw()
            assert _status_within(rec, "x", HostStatus.CONNECTED, 40), _latest(rec, "x")
        finally:
            sshd.thaw()
            poller.close(wait=0)


@needs_ssh
@pytest.mark.parametrize("fault", ["refused key", "unknown host key"])
def test_ssh_refusals_get_a_clear_status_and_recover(fault: str) -> None:
    assert SSH_URI is not None
    with testbed.ExtraSshd() as sshd:
        if fault == "refused key":
            sshd.refuse_key()
            expect = "Permission denied (publickey)"
        else:
            sshd.forget_host_key()
            expect = "Host key verification failed"
        poller, rec = _poller(HostRecord("d", SSH_URI, "small", "r"), HostRecord("x", sshd.uri, "small", "r"))
        try:
            assert _status_within(rec, "x", HostStatus.UNREACHABLE, STATUS_BOUND_S), _latest(rec, "x")
            snap = _latest(rec, "x")
            assert snap is not None
            assert expect in (snap.error or ""), snap
            hint = access_hint(snap.error)
            assert hint is not None
            assert ("authorized_keys" if fault == "refused key" else "known_hosts") in hint
            _d_keeps_updating(rec)
            sshd.accept_key()
            sshd.know_host_key()
            assert _status_within(rec, "x", HostStatus.CONNECTED, 40), _latest(rec, "x")
        finally:
            poller.close(wait=0)
