"""VM lifecycle actions against the real libvirtd hosts A and B of the test bed.

Guests boot the halt ROM (no OS can boot on this machine), so what needs a guest is asserted as the
real behaviour: an ACPI shutdown is accepted and ignored (stop times out), a balloon change is
accepted and changes nothing, vCPU hot-unplug fails. Every domain, volume and pool made here is
named vmdeck-test-* and removed afterwards. Drives live in one directory both hosts see (as the
seed's shared storage would), which libvirt cannot recognise as shared: assume_shared_storage.
"""

from __future__ import annotations

import shutil
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

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
    check_pools,
    create_pools,
    destroy_vm,
    drain_host,
    list_vms,
    migrate_vm,
    scale_vm,
    start_vm,
    stop_vm,
    undefine_vm,
)
from tui.services.poller import PollerSettings
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
PREFIX = f"vmdeck-test-act-{TAG}"
POOL_DIR = Path(f"/srv/{PREFIX}")


def make_config() -> VmConfig:
    small = CostFunction(
        "small",
        vms=Linear(slope=1.0, base=0.0),
        vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        memory=Linear(slope=1.0 / GIB, base=0.0, max=8 * GIB),  # refuses past 8 GiB on a host
    )
    profile = HardwareProfile("small", cores=8, memory=32 * GIB, cost_function="small")
    realm = Realm(
        "r",
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snapshots",
        registration_timeout_s=30.0,
        drives=DrivesPolicy(lazy_allocation=True, cache=DriveCache.NONE, min_size=64 * MIB, max_size=4 * GIB),
    )
    nopools = Realm(
        "nopools",
        drives_pool=f"{PREFIX}-absent",
        bricks_pool=f"{PREFIX}-absent-b",
        volumes_pool=f"{PREFIX}-absent-v",
        snapshots_pool=f"{PREFIX}-absent-s",
    )
    return VmConfig({"small": small}, {"small": profile}, {"r": realm, "nopools": nopools})


def settings(**over: object) -> ActionSettings:
    base: dict[str, object] = {
        "domain_type": "kvm" if testbed.testbed_kvm() else "qemu",
        "machine": "pc",
        "firmware": str(testbed.HALT_ROM),
        "cpu": CpuSpec.custom("qemu64", ("svm",)),
        "migrate_uris": {"*": "tcp://127.0.0.1"},  # host B's name resolves nowhere
        "assume_shared_storage": True,
        "shutdown_timeout": 1.0,
    }
    return ActionSettings(**{**base, **over})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VmConfig, Path]]:
    """Hosts a and b in a store, the realm's pools created on both (through create_pools)."""
    assert URIS is not None
    config = make_config()
    db = tmp_path_factory.mktemp("store")
    store = Store(db)
    store.add_hosts([HostRecord("a", URIS[0], "small", "r"), HostRecord("b", URIS[1], "small", "r")])
    try:
        deck = Deck.open(config, store, settings())
        try:
            for host in ("a", "b"):
                assert check_pools(deck, host).result is Result.FAILED  # nothing there yet
                created = create_pools(deck, host, str(POOL_DIR))
                assert created.ok, created.message
                assert check_pools(deck, host).ok
                again = create_pools(deck, host, str(POOL_DIR))
                assert again.ok
                assert "nothing changed" in again.message
        finally:
            deck.close()
        yield config, db
    finally:
        for uri in URIS:
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


def _dom(uri: str, name: str) -> libvirt.virDomain | None:
    conn = libvirt.open(uri)
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def _small(name: str, host: str | None = None, **kw: object) -> StartRequest:
    base: dict[str, object] = {
        "name": name,
        "vcpus": 1,
        "memory": 64 * MIB,
        "disk": 128 * MIB,
        "host": host,
        "realm": "r",
    }
    return StartRequest(**{**base, **kw})  # type: ignore[arg-type]


@needs_testbed
def test_pools_are_dir_pools_with_autostart(deck: Deck) -> None:
    out = check_pools(deck, "b")
    assert out.ok, out.message
    pools = {p["role"]: p for p in out.details["pools"]}
    assert sorted(pools) == ["bricks", "drives", "snapshots", "volumes"]
    for p in pools.values():
        assert (p["type"], p["active"], p["autostart"]) == ("dir", True, True)
        assert p["path"] == str(POOL_DIR / p["name"])


@needs_testbed
def test_create_repairs_a_stopped_pool_whose_directory_was_removed(deck: Deck) -> None:
    assert URIS is not None
    conn = libvirt.open(URIS[1])
    try:
        pool = conn.storagePoolLookupByName(deck.config.realms["r"].snapshots_pool)
        path = Path(pool.XMLDesc(0).split("<path>")[1].split("</path>")[0])
        pool.destroy()
        shutil.rmtree(path)
        broken = check_pools(deck, "b")
        assert not broken.ok
        assert "not active" in broken.message
        repaired = create_pools(deck, "b", str(POOL_DIR))
        assert repaired.ok, repaired.message
        assert f"started {pool.name()}" in repaired.message
        assert pool.isActive() == 1
        assert path.is_dir()
    finally:
        conn.close()


@needs_testbed
def test_start_through_scheduler_stop_force_undefine(deck: Deck) -> None:
    name = _name("life")
    out = start_vm(deck, _small(name, reason="test"))
    assert out.ok, out.message
    host = out.host
    assert host == out.details["candidates"][0]["host"]  # the scheduler's best host
    assert URIS is not None
    uri = URIS[0] if host == "a" else URIS[1]
    dom = _dom(uri, name)
    assert dom is not None
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    xml = dom.XMLDesc(0)
    assert "cache='none' io='native'" in xml
    assert "<memballoon model='virtio'>" in xml
    drive = out.details["drive"]
    vol = dom.connect().storageVolLookupByPath(drive["path"])
    _, capacity, allocation = vol.info()
    assert capacity == 128 * MIB
    assert allocation < 2 * MIB  # lazy allocation: a sparse qcow2
    assert any(v.name == name and v.host == host for v in deck.store.managed_vms())

    # The halt ROM never acts on ACPI: a graceful stop times out and offers to force.
    stopped = stop_vm(deck, name, timeout=0.5)
    assert stopped.result is Result.TIMED_OUT
    assert "--force" in stopped.message
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    refused = undefine_vm(deck, name)
    assert refused.result is Result.REFUSED
    forced = stop_vm(deck, name, timeout=0.5, force=True)
    assert forced.ok, forced.message
    assert forced.details["graceful"] is False
    assert dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    deck.wait_refreshed((host,))
    gone = undefine_vm(deck, name, remove_storage=True)
    assert gone.ok, gone.message
    assert gone.details["deleted_drives"] == [drive["path"]]
    assert _dom(uri, name) is None
    assert not Path(drive["path"]).exists()
    audit = [
        (e.what, e.after["result"]) for e in deck.store.audit() if e.after and e.after.get("target") == name
    ]
    assert audit == [
        ("vm.start", "ok"),
        ("vm.stop", "timed-out"),
        ("vm.undefine", "refused"),
        ("vm.stop", "ok"),
        ("vm.undefine", "ok"),
    ]


@needs_testbed
def test_refusals_change_nothing(bed: tuple[VmConfig, Path], deck: Deck) -> None:
    config, db = bed
    name = _name("no")
    ro = Deck.open(config, Store(db), settings(read_only=True))
    try:
        out = start_vm(ro, _small(name))
        assert out.result is Result.REFUSED
        assert "read-only" in out.message
    finally:
        ro.close()
    too_big = start_vm(deck, _small(name, disk=8 * GIB))
    assert too_big.result is Result.REFUSED
    assert "max-size" in too_big.message
    infeasible = start_vm(deck, _small(name, host="b", memory=9 * GIB))
    assert infeasible.result is Result.REFUSED
    assert "memory is infinite" in infeasible.message
    assert all(_dom(u, name) is None for u in URIS or ())
    assert deck.store.audit()[-1].reason == infeasible.message  # refusals are audited with the why


@needs_testbed
def test_disabled_and_unreachable_hosts_are_refused(bed: tuple[VmConfig, Path]) -> None:
    from .livefixtures import black_hole

    config, db = bed
    store = Store(db)
    with black_hole() as port:
        store.add_hosts(
            [
                HostRecord("hung", f"qemu+tcp://127.0.0.1:{port}/system", "small", "r"),
                HostRecord("off", "qemu+tcp://127.0.0.1:1/system", "small", "r", HostState.DISABLED),
            ]
        )
        try:
            d = Deck.open(config, store, settings(), PollerSettings(open_timeout=1.0, call_timeout=2.0))
            try:
                hung = start_vm(d, _small(_name("x"), host="hung"))
                assert hung.result is Result.REFUSED
                assert "hung" in hung.message
                pools = create_pools(d, "hung", str(POOL_DIR))
                assert pools.result is Result.REFUSED
                assert "unreachable" in pools.message
                off = create_pools(d, "off", str(POOL_DIR))
                assert off.result is Result.REFUSED
                assert "Disabled" in off.message
            finally:
                d.close()
        finally:
            store.remove_host("hung")
            store.remove_host("off")


@needs_testbed
def test_failed_start_is_cleaned_up_and_missing_pools_named(bed: tuple[VmConfig, Path]) -> None:
    config, db = bed
    store = Store(db)
    name = _name("fail")
    # Without disabling svm the host CPU cannot run the model: libvirt refuses to start it.
    d = Deck.open(config, store, settings(cpu=CpuSpec.custom("qemu64")))
    try:
        out = start_vm(d, _small(name, host="b"))
        assert out.result is Result.FAILED
        assert "svm" in out.message
        assert "destroyed" not in out.message  # it never ran
        assert "undefined" in out.message
        assert "drive deleted" in out.message
        assert all(_dom(u, name) is None for u in URIS or ())
        assert not Path(out.details["drive"]["path"]).exists()
    finally:
        d.close()
    store.add_host(HostRecord("c", (URIS or ("",))[1], "small", "nopools"))
    try:
        d = Deck.open(config, store, settings())
        try:
            out = start_vm(d, _small(name, host="c", realm="nopools"))
            assert out.result is Result.REFUSED
            assert "vmdeck pools create c" in out.message
        finally:
            d.close()
    finally:
        store.remove_host("c")


@needs_testbed
def test_image_backed_drive(deck: Deck) -> None:
    _, conn = deck.connect("b")
    bricks = conn.storagePoolLookupByName(f"{PREFIX}-bricks")
    image = bricks.createXML(
        f"<volume><name>{PREFIX}-img.qcow2</name><capacity>{256 * MIB}</capacity>"
        "<target><format type='qcow2'/></target></volume>",
        0,
    )
    name = _name("img")
    try:
        small = start_vm(deck, _small(name, host="b", disk=128 * MIB, image=image.name()))
        assert small.result is Result.REFUSED
        assert "smaller than the image" in small.message
        out = start_vm(deck, _small(name, host="b", disk=None, image=image.name()))
        assert out.ok, out.message
        vol = conn.storageVolLookupByPath(out.details["drive"]["path"])
        xml = vol.XMLDesc(0)
        assert image.path() in xml  # <backingStore><path>
        assert vol.info()[1] == 256 * MIB
        assert destroy_vm(deck, name).ok
        deck.wait_refreshed(("b",))
        assert undefine_vm(deck, name, remove_storage=True).ok
        assert bricks.storageVolLookupByName(image.name()) is not None  # images are never deleted
    finally:
        image.delete(0)


@needs_testbed
def test_migrate_scale_and_their_refusals(deck: Deck) -> None:
    assert URIS is not None
    name = _name("mig")
    out = start_vm(deck, _small(name, host="b", max_vcpus=20, max_memory=128 * MIB))
    assert out.ok, out.message
    deck.wait_refreshed(("b",))

    grow = scale_vm(deck, name, vcpus=2)
    assert grow.ok, grow.message
    assert grow.details["after"]["vcpus"] == 2
    shrink = scale_vm(deck, name, vcpus=1)  # hot-unplug needs guest ACPI: fails here, for real
    assert shrink.result is Result.FAILED
    assert "unplug" in shrink.message
    beyond = scale_vm(deck, name, vcpus=21)
    assert beyond.result is Result.REFUSED
    assert "1..20" in beyond.message
    costly = scale_vm(deck, name, vcpus=20)  # past the vCPU curve's hard limit of 16 on the host
    assert costly.result is Result.REFUSED
    assert "cost function refuses" in costly.message
    assert "vcpus is infinite" in costly.message
    # Without a guest balloon driver the VM keeps its maximum (libvirt reports 128 MiB from the
    # start) and a balloon request is accepted and changes nothing.
    balloon = scale_vm(deck, name, memory=96 * MIB)
    assert balloon.ok, balloon.message
    assert balloon.details["before"]["memory"] == 128 * MIB
    assert balloon.details["after"]["memory"] == 128 * MIB

    same = migrate_vm(deck, name, to="b")
    assert same.result is Result.REFUSED
    moved = migrate_vm(deck, name, to="a", reason="balance")
    assert moved.ok, moved.message
    assert _dom(URIS[1], name) is None
    dom = _dom(URIS[0], name)
    assert dom is not None
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert any(v.name == name and v.host == "a" for v in deck.store.managed_vms())
    deck.wait_refreshed(("a", "b"))
    back = migrate_vm(deck, name)  # the scheduler's best other host: the only other one
    assert back.ok, back.message
    assert back.details["to"] == "b"
    deck.wait_refreshed(("a", "b"))
    deck.store.set_state("a", HostState.NO_SCHEDULING, "test")
    try:
        refused = migrate_vm(deck, name, to="a")
        assert refused.result is Result.REFUSED
        assert "No Scheduling" in refused.message
    finally:
        deck.store.set_state("a", HostState.ENABLED, "test done")
    assert destroy_vm(deck, name).ok
    assert undefine_vm(deck, name, remove_storage=True).ok


@needs_testbed
def test_pci_vm_cannot_migrate(deck: Deck) -> None:
    assert URIS is not None
    name = _name("pci")
    xml = testbed.tiny_domain_xml(name, str(uuidlib.uuid4())).replace(
        "<controller type='usb' model='none'/>",
        "<controller type='usb' model='none'/><hostdev mode='subsystem' type='pci' managed='yes'>"
        "<source><address domain='0x0000' bus='0x01' slot='0x02' function='0x0'/></source></hostdev>",
    )
    conn = libvirt.open(URIS[1])
    conn.defineXML(xml)  # defined only: the device does not exist here, so it could never start
    conn.close()
    deck.wait_refreshed(("b",))
    out = migrate_vm(deck, name, to="a")
    assert out.result is Result.REFUSED
    assert "PCI host devices (0000:01:02.0)" in out.message
    rows, _ = list_vms(deck, "b")
    assert [r.hostdevs for r in rows if r.name == name] == [("0000:01:02.0",)]
    assert undefine_vm(deck, name).ok


@needs_testbed
def test_drain_host_b(deck: Deck) -> None:
    assert URIS is not None
    if foreign := testbed.foreign_domains(URIS[1], PREFIX):
        pytest.skip(
            f"host B runs domains this test did not make ({', '.join(foreign)}): draining would move them"
        )
    names = [_name("drain") for _ in range(3)]
    for n in names:
        out = start_vm(deck, _small(n, host="b"))
        assert out.ok, out.message
    pci = _name("pci")
    conn = libvirt.open(URIS[1])
    conn.defineXML(testbed.tiny_domain_xml(pci, str(uuidlib.uuid4())))  # shut off: moves cold
    conn.close()
    deck.wait_refreshed(("b",))
    try:
        plan = drain_host(deck, "b", "maintenance test", dry_run=True)
        assert plan.ok, plan.message
        live = [m for m in plan.details["plan"]["moves"] if not m["cold"]]
        assert sorted(m["vm"] for m in live) == sorted(names)
        assert {m["to"] for m in plan.details["plan"]["moves"]} == {"a"}
        assert [m["vm"] for m in plan.details["plan"]["moves"] if m["cold"]] == [pci]
        assert plan.details["plan"]["unmovable"] == []
        assert deck.host("b").state is HostState.ENABLED  # a dry run changes nothing

        seen = []
        out = drain_host(deck, "b", "maintenance test", parallel=2, on_result=seen.append)
        assert out.ok, out.message  # the shut-off VM moved cold: nothing is left behind
        assert out.details["leftovers"] == []
        assert sorted(r.move.vm for r in seen if r.ok) == sorted([*names, pci])
        assert _dom(URIS[0], pci) is not None
        assert deck.host("b").state is HostState.NO_SCHEDULING
        for n in names:
            dom = _dom(URIS[0], n)
            assert dom is not None
            assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        whats = [e.what for e in deck.store.audit("b")]
        assert "host.state" in whats
        assert whats.count("vm.migrate") >= 3
        # The drain's outcome is written last, after every migration's (its intent came first).
        assert [e.what for e in deck.store.audit("b", raw=True)][-1] == "host.drain"
    finally:
        deck.store.set_state("b", HostState.ENABLED, "test done")
