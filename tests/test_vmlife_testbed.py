"""A VM's whole life on the real libvirtd test bed: power, snapshots, console, cold migration, drain.

Guests boot the halt ROM (no OS boots on this machine), so what needs a guest is asserted as the
driver's real answer: a guest reboot request is accepted and ignored, a hard reset keeps it running;
no guest writes to its serial console, so the console test asserts that the attach really holds the
console (a second attach is refused by libvirt) and that ctrl+] detaches and releases it. Everything
made here is named vmdeck-test-life-* and removed afterwards; drives live under /srv, which every
test-bed host sees (the seed's shared storage).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import libvirt
import pytest

from tui.core.costs import CostFunction
from tui.core.curves import HardSoft, Linear
from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.model import DriveCache, DrivesPolicy, HardwareProfile, Realm, VmConfig
from tui.services.actions import (
    ActionSettings,
    CpuSpec,
    Deck,
    Result,
    StartRequest,
    create_pools,
    destroy_vm,
    drain_host,
    migrate_vm,
    power_on_vm,
    reboot_vm,
    resume_vm,
    set_autostart,
    start_vm,
    storage_of,
    suspend_vm,
    undefine_vm,
)
from tui.services.actions.coldmigrate import cold_migrate_vm
from tui.services.actions.domain_xml import DomainSpec, build_domain_xml
from tui.services.actions.serialconsole import attach_console
from tui.services.actions.snapshots import (
    EXTERNAL_OPS_VERSION,
    SnapshotKind,
    create_snapshot,
    delete_snapshot,
    list_snapshots,
    revert_snapshot,
)
from tui.services.actions.vminfo import vm_info
from tui.services.store import Store

from . import testbed

pytestmark = pytest.mark.kvm
URIS = testbed.testbed_uris()
needs_testbed = pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
MIB, GIB = 1 << 20, 1 << 30
TAG = uuidlib.uuid4().hex[:6]
PREFIX = f"vmdeck-test-life-{TAG}"
POOL_DIR = Path(f"/srv/{PREFIX}")


def make_config() -> VmConfig:
    cf = CostFunction(
        "c",
        vms=Linear(slope=1.0, base=0.0),
        vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        memory=Linear(slope=1.0 / GIB, base=0.0, max=8 * GIB),
    )
    realm = Realm(
        "r",
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snapshots",
        registration_timeout_s=30.0,
        drives=DrivesPolicy(lazy_allocation=True, cache=DriveCache.NONE, min_size=64 * MIB, max_size=4 * GIB),
    )
    profile = HardwareProfile("p", cores=8, memory=32 * GIB, cost_function="c")
    return VmConfig({"c": cf}, {"p": profile}, {"r": realm})


def settings(**over: object) -> ActionSettings:
    base: dict[str, object] = {
        "domain_type": "kvm" if testbed.testbed_kvm() else "qemu",
        "machine": "pc",
        "firmware": str(testbed.HALT_ROM),
        "cpu": CpuSpec.custom("qemu64", ("svm",)),
        "migrate_uris": {"*": "tcp://127.0.0.1"},
        "assume_shared_storage": True,
        "shutdown_timeout": 1.0,
    }
    return ActionSettings(**{**base, **over})  # type: ignore[arg-type]


def _uris() -> dict[str, str]:
    assert URIS is not None
    out = {"a": URIS[0], "b": URIS[1]}
    c = testbed.testbed_uri_c()
    if c:
        out["c"] = c
    return out


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VmConfig, Path]]:
    config = make_config()
    db = tmp_path_factory.mktemp("store")
    store = Store(db)
    store.add_hosts([HostRecord(n, u, "p", "r") for n, u in _uris().items()])
    try:
        deck = Deck.open(config, store, settings())
        try:
            for host in _uris():
                created = create_pools(deck, host, str(POOL_DIR))
                assert created.ok, created.message
        finally:
            deck.close()
        yield config, db
    finally:
        for uri in _uris().values():
            testbed.remove_test_objects(uri, PREFIX)
        shutil.rmtree(POOL_DIR, ignore_errors=True)


@pytest.fixture
def deck(bed: tuple[VmConfig, Path]) -> Iterator[Deck]:
    config, db = bed
    d = Deck.open(config, Store(db), settings())
    yield d
    d.close()


def _name(what: str) -> str:
    return f"{PREFIX}-{what}-{uuidlib.uuid4().hex[:4]}"


def _dom(host: str, name: str) -> libvirt.virDomain | None:
    conn = libvirt.open(_uris()[host])
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def _start(deck: Deck, name: str, host: str) -> None:
    out = start_vm(deck, StartRequest(name, 1, 64 * MIB, disk=128 * MIB, host=host, realm="r", reason="t"))
    assert out.ok, out.message
    deck.wait_refreshed((host,))


def _diskless(host: str, name: str, start: bool = True) -> None:
    """A VM without any disk (serial console and VNC as vmdeck builds them), defined by hand."""
    spec = DomainSpec(
        name,
        str(uuidlib.uuid4()),
        1,
        1,
        64 * MIB,
        64 * MIB,
        domain_type="kvm" if testbed.testbed_kvm() else "qemu",
        machine="pc",
        firmware=str(testbed.HALT_ROM),
        cpu=CpuSpec.custom("qemu64", ("svm",)),
    )
    conn = libvirt.open(_uris()[host])
    try:
        dom = conn.defineXML(build_domain_xml(spec))
        if start:
            dom.create()
    finally:
        conn.close()


def _audit(deck: Deck, name: str) -> list[tuple[str, str]]:
    return [
        (e.what, e.after["result"])
        for e in deck.store.audit()
        if isinstance(e.after, dict) and e.after.get("target") == name
    ]


def _state(host: str, name: str) -> int:
    dom = _dom(host, name)
    assert dom is not None
    return int(dom.state()[0])


@needs_testbed
def test_power_cycle_suspend_resume_reboot_autostart(deck: Deck) -> None:
    name = _name("pw")
    _start(deck, name, "b")
    again = power_on_vm(deck, name)
    assert again.result is Result.REFUSED
    assert "already running" in again.message
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("b",))
    on = power_on_vm(deck, name, reason="power cycle")
    assert on.ok, on.message
    assert "cost there" in on.message
    assert on.details["cost"] > 0
    assert _state("b", name) == libvirt.VIR_DOMAIN_RUNNING
    deck.wait_refreshed(("b",))

    assert suspend_vm(deck, name).ok
    assert _state("b", name) == libvirt.VIR_DOMAIN_PAUSED
    deck.wait_refreshed(("b",))
    twice = suspend_vm(deck, name)
    assert twice.result is Result.REFUSED
    assert "paused" in twice.message
    assert resume_vm(deck, name).ok
    assert _state("b", name) == libvirt.VIR_DOMAIN_RUNNING
    deck.wait_refreshed(("b",))
    running = resume_vm(deck, name)
    assert running.result is Result.REFUSED
    assert "not suspended" in running.message

    # The halt ROM has no ACPI: the driver accepts the request and the guest keeps running.
    soft = reboot_vm(deck, name)
    assert soft.ok, soft.message
    assert soft.details["method"] == "guest"
    hard = reboot_vm(deck, name, hard=True)
    assert hard.ok, hard.message
    assert _state("b", name) == libvirt.VIR_DOMAIN_RUNNING

    assert set_autostart(deck, name, True).ok
    dom = _dom("b", name)
    assert dom is not None
    assert dom.autostart() == 1
    same = set_autostart(deck, name, True)
    assert same.result is Result.REFUSED
    assert set_autostart(deck, name, False).ok
    assert dom.autostart() == 0

    assert _audit(deck, name) == [
        ("vm.start", "ok"),
        ("vm.power-on", "refused"),
        ("vm.destroy", "ok"),
        ("vm.power-on", "ok"),
        ("vm.suspend", "ok"),
        ("vm.suspend", "refused"),
        ("vm.resume", "ok"),
        ("vm.resume", "refused"),
        ("vm.reboot", "ok"),
        ("vm.reboot", "ok"),
        ("vm.autostart", "ok"),
        ("vm.autostart", "refused"),
        ("vm.autostart", "ok"),
    ]
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("b",))
    gone = undefine_vm(deck, name, remove_storage=True)
    assert gone.ok, gone.message
    assert len(gone.details["deleted_drives"]) == 1


@needs_testbed
def test_power_on_refused_on_a_disabled_host(bed: tuple[VmConfig, Path], deck: Deck) -> None:
    config, db = bed
    name = _name("dis")
    _start(deck, name, "b")
    assert destroy_vm(deck, name).ok
    store = Store(db)
    store.set_state("b", HostState.DISABLED, "test")
    try:
        d = Deck.open(config, store, settings())
        try:
            out = power_on_vm(d, name, host="b")
            assert out.result is Result.REFUSED
            assert "Disabled" in out.message or "unreachable" in out.message
        finally:
            d.close()
    finally:
        store.set_state("b", HostState.ENABLED, "test done")
    assert _state("b", name) == libvirt.VIR_DOMAIN_SHUTOFF


@needs_testbed
def test_snapshots_of_a_qcow2_vm(deck: Deck) -> None:
    name = _name("snap")
    _start(deck, name, "b")
    first = create_snapshot(deck, name, "s1", reason="before upgrade")
    assert first.ok, first.message
    _, conn = deck.connect("b")
    new_libvirt = conn.getLibVersion() >= EXTERNAL_OPS_VERSION
    expected = SnapshotKind.DISK_ONLY if new_libvirt else SnapshotKind.INTERNAL
    assert first.details["kind"] == expected.value
    assert first.details["why"] in first.message
    dup = create_snapshot(deck, name, "s1")
    assert dup.result is Result.REFUSED
    overlay = create_snapshot(deck, name, "s2", kind=SnapshotKind.DISK_ONLY)
    assert overlay.ok, overlay.message
    host, snaps = list_snapshots(deck, name)
    assert host == "b"
    assert [(s.name, s.kind) for s in snaps] == [("s1", expected), ("s2", SnapshotKind.DISK_ONLY)]
    assert snaps[0].description == "before upgrade"
    assert snaps[1].current
    info = vm_info(deck, name)
    assert info.disks[0].pool == f"{PREFIX}-snapshots"  # the VM now writes to the overlay
    assert info.disks[0].path is not None
    assert info.disks[0].path.startswith(str(POOL_DIR / f"{PREFIX}-snapshots"))

    _, doomed = storage_of(deck, name)  # what undefine --remove-storage would delete now
    assert [v.pool for v in doomed] == [f"{PREFIX}-snapshots", f"{PREFIX}-drives"]  # overlay, then base

    missing = revert_snapshot(deck, name, "nope")
    assert missing.result is Result.REFUSED
    assert "no snapshot 'nope'" in missing.message
    assert "s1, s2" in missing.message
    back = revert_snapshot(deck, name, "s2")
    if new_libvirt:
        assert back.ok, back.message
    else:  # libvirt 9.0: the driver's own answer
        assert back.result is Result.FAILED
        assert "external snapshot not supported" in back.message
    if not new_libvirt:
        cannot = delete_snapshot(deck, name, "s2")
        assert cannot.result is Result.FAILED
        assert "--metadata-only" in cannot.message
        forgot = delete_snapshot(deck, name, "s2", metadata_only=True)
        assert forgot.ok, forgot.message
        reverted = revert_snapshot(deck, name, "s1")
        assert reverted.ok, reverted.message
        assert reverted.details["state"] == "running"
        assert vm_info(deck, name).disks[0].pool == f"{PREFIX}-drives"  # s1 predates the overlay
        assert delete_snapshot(deck, name, "s1").ok
        assert list_snapshots(deck, name)[1] == []
    whats = [w for w, _ in _audit(deck, name)]
    assert whats.count("vm.snapshot.create") == 3
    assert "vm.snapshot.revert" in whats
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("b",))
    gone = undefine_vm(deck, name, remove_storage=True)
    assert gone.ok, gone.message
    deleted = gone.details["deleted_drives"]
    assert any(f"{PREFIX}-drives" in p for p in deleted)  # the base volume
    assert all(not Path(p).exists() for p in deleted)


@needs_testbed
def test_snapshots_of_a_diskless_vm(deck: Deck) -> None:
    off = _name("nodisk-off")
    _diskless("b", off, start=False)
    name = _name("nodisk")
    _diskless("b", name)
    deck.wait_refreshed(("b",))
    nothing = create_snapshot(deck, off, "x")
    assert nothing.result is Result.REFUSED
    assert "no disk and is not running" in nothing.message
    internal = create_snapshot(deck, name, "x", kind=SnapshotKind.INTERNAL)
    assert internal.result is Result.REFUSED
    out = create_snapshot(deck, name, "m1")
    assert out.ok, out.message
    assert out.details["kind"] == "memory"
    memfile = POOL_DIR / f"{PREFIX}-snapshots" / f"{name}-m1.mem"
    assert memfile.exists()
    assert [s.kind for s in list_snapshots(deck, name)[1]] == [SnapshotKind.MEMORY]
    back = revert_snapshot(deck, name, "m1")
    _, conn = deck.connect("b")
    if conn.getLibVersion() < EXTERNAL_OPS_VERSION:
        assert back.result is Result.FAILED
        assert "not supported" in back.message  # libvirt's own words
    forgot = delete_snapshot(deck, name, "m1", metadata_only=True)
    assert forgot.ok, forgot.message
    assert not memfile.exists()
    assert undefine_vm(deck, off).ok


@needs_testbed
def test_console_attach_holds_the_console_and_ctrl_bracket_detaches(deck: Deck) -> None:
    name = _name("con")
    _start(deck, name, "b")
    keys_r, keys_w = os.pipe()
    out_r, out_w = os.pipe()
    attached = threading.Event()
    result: list[object] = []

    def attach() -> None:
        result.append(attach_console(deck, name, in_fd=keys_r, out_fd=out_w, on_attached=attached.set))

    worker = threading.Thread(target=attach, daemon=True)
    worker.start()
    assert attached.wait(20), "the console never opened"
    conn = libvirt.open(_uris()["b"])
    try:
        dom = conn.lookupByName(name)
        with pytest.raises(libvirt.libvirtError, match="[Aa]ctive console session"):
            dom.openConsole(None, conn.newStream(0), 0)  # ours holds it
        os.write(keys_w, b"ls\r\x1d")  # typed, then ctrl+]
        worker.join(20)
        assert not worker.is_alive(), "ctrl+] did not detach"
        outcome = result[0]
        assert getattr(outcome, "ok", False), getattr(outcome, "message", outcome)
        assert "detached" in getattr(outcome, "message", "")
        assert b"Connected to" in os.read(out_r, 4096)
        stream = conn.newStream(0)
        dom.openConsole(None, stream, 0)  # released: a new attach works
        stream.abort()
    finally:
        conn.close()
        for fd in (keys_r, keys_w, out_r, out_w):
            os.close(fd)
    off = attach_console(deck, _name("none"), in_fd=0, out_fd=1)
    assert off.result is Result.REFUSED
    assert ("vm.console", "ok") in _audit(deck, name)
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("b",))
    assert undefine_vm(deck, name, remove_storage=True).ok


@needs_testbed
def test_cold_migration_moves_definition_and_snapshots(deck: Deck) -> None:
    name = _name("cold")
    _start(deck, name, "b")
    running = cold_migrate_vm(deck, name, to="a")
    assert running.result is Result.REFUSED
    assert "running" in running.message
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("b",))
    hint = migrate_vm(deck, name, to="a")
    assert hint.result is Result.REFUSED
    assert "cold-migrate" in hint.message
    snap = create_snapshot(deck, name, "keep", kind=SnapshotKind.INTERNAL)
    assert snap.ok, snap.message
    moved = cold_migrate_vm(deck, name, to="a", reason="rebalance")
    assert moved.ok, moved.message
    assert moved.details["snapshots"] == 1
    assert _dom("b", name) is None
    assert _state("a", name) == libvirt.VIR_DOMAIN_SHUTOFF
    deck.wait_refreshed(("a", "b"))
    assert [s.name for s in list_snapshots(deck, name)[1]] == ["keep"]
    assert any(v.name == name and v.host == "a" for v in deck.store.managed_vms())
    on = power_on_vm(deck, name)  # its drive is on the shared storage: it runs on a
    assert on.ok, on.message
    assert on.host == "a"
    assert destroy_vm(deck, name).ok
    deck.wait_refreshed(("a",))
    assert undefine_vm(deck, name, remove_storage=True).ok


@needs_testbed
def test_drain_moves_a_shut_off_vm_cold(deck: Deck) -> None:
    source = "c" if "c" in _uris() else "b"
    if foreign := testbed.foreign_domains(_uris()[source], PREFIX):
        pytest.skip(
            f"host {source} has domains this test did not make ({', '.join(foreign)}): a drain moves them"
        )
    live, off = _name("dr-live"), _name("dr-off")
    _start(deck, live, source)
    _start(deck, off, source)
    assert destroy_vm(deck, off).ok
    deck.wait_refreshed((source,))
    try:
        plan = drain_host(deck, source, "test drain", dry_run=True)
        assert plan.ok, plan.message
        moves = {m["vm"]: m for m in plan.details["plan"]["moves"]}
        assert moves[off]["cold"] is True
        assert moves[live]["cold"] is False
        assert plan.details["plan"]["unmovable"] == []
        out = drain_host(deck, source, "test drain", parallel=2)
        assert out.ok, out.message
        assert out.details["leftovers"] == []
        assert _dom(source, off) is None
        target = moves[off]["to"]
        assert _state(target, off) == libvirt.VIR_DOMAIN_SHUTOFF
        assert ("vm.cold-migrate", "ok") in _audit(deck, off)
    finally:
        deck.store.set_state(source, HostState.ENABLED, "test done")


class FreezableProxy:
    """TCP on 127.0.0.1 forwarding to a test-bed daemon's unix socket; `freeze()` makes the host stop
    answering mid-action (connections stay open, nothing comes back), as a host that dies does."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.alive = threading.Event()
        self.alive.set()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.alive.clear()

    def thaw(self) -> None:
        self.alive.set()

    def close(self) -> None:
        self.thaw()
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.unix_path)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.alive.wait()
            try:
                b.sendall(data)
            except OSError:
                return


@needs_testbed
def test_a_target_that_dies_mid_cold_migration(bed: tuple[VmConfig, Path], deck: Deck) -> None:
    """The target stops answering after the action began: a clear failure, the VM stays where it was,
    and the audit holds the real outcome."""
    config, db = bed
    socket_path = parse_qs(urlsplit(_uris()["b"]).query).get("socket", [""])[0]
    if not socket_path:
        pytest.skip("host B of this test bed is not reached through a unix socket")
    name = _name("dies")
    _start(deck, name, "a")
    assert destroy_vm(deck, name).ok
    proxy = FreezableProxy(socket_path)
    store = Store(db)
    store.add_host(HostRecord("bp", f"qemu+tcp://127.0.0.1:{proxy.port}/system", "p", "r"))
    try:
        d = Deck.open(config, store, settings(call_timeout=3.0))
        try:
            assert d.snapshots()["bp"].live
            proxy.freeze()
            out = cold_migrate_vm(d, name, to="bp", reason="move it")
            assert out.result is Result.FAILED
            assert "no answer within 3 s" in out.message
            entry = d.store.audit()[-1]
            assert (entry.what, entry.after["result"], entry.reason) == (
                "vm.cold-migrate",
                "failed",
                "move it",
            )
            assert "no answer" in entry.after["message"]
        finally:
            proxy.thaw()
            d.close()
    finally:
        store.remove_host("bp")
        proxy.close()
    assert _state("a", name) == libvirt.VIR_DOMAIN_SHUTOFF  # still defined where it was
