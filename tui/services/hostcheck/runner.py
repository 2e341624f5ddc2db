"""Running one host's readiness check through libvirt (remote, like every other call).

Reads capabilities, domain capabilities, node info and memory stats, the profile's PCI node devices,
the realm's pools and the versions, and judges them with the rules in tui/core/hostcheck/. Two
checks change something for a moment, so they go through `Deck.run` (refused in read-only mode,
audited): a marker volume written through this host and looked up through every other host of the
realm (shared storage really shared), and a paused, disk-less probe VM live-migrated to every other
host of the realm (migration reachability). Both clean up after themselves.

Every libvirt call is bounded (`Deck.call`); once one call gets no answer the host is considered
gone and the rest of its items say so at once, so a host that dies mid-check costs one bound, and
each item gets its own message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import libvirt

from tui.core.hostcheck import CheckItem, HostCheckReport, Verdict, access_hint
from tui.core.hostcheck.hardware import (
    PCI_BRIDGE_CLASS,
    PciDeviceFacts,
    check_device,
    check_iommu,
    check_kvm,
    node_device_name,
    parse_capabilities,
    parse_node_device,
)
from tui.core.hostcheck.report import clip
from tui.core.hostcheck.resources import (
    PeerResult,
    PoolFacts,
    check_capacity,
    check_peers,
    check_pool,
    check_versions,
)
from tui.core.hosts import HostRecord
from tui.core.model import Graphics, HardwareProfile
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import DomainSpec, build_domain_xml
from tui.services.actions.outcome import Failed, Refused, Result

T = TypeVar("T")

CHECK_CALL_TIMEOUT_S = 15.0  # one read call; a host that needs longer is treated as gone
PROBE_MIGRATE_TIMEOUT_S = 60.0
PROBE_MEMORY = 16 << 20  # the probe VM: paused, no disk, 16 MiB
MARKER_PREFIX = ".vmdeck-check-"
IOMMU_SCAN_LIMIT = 64  # node devices looked at to find an IOMMU group when the profile has no devices
SHARED_ROLES = ("drives", "bricks")
REFRESH_RETRIES, REFRESH_PAUSE_S = (
    20,
    0.1,
)  # a busy pool's refresh is retried for up to ~2 s  # the pools VM drives and images live in: these must be shared


class _Gone(Exception):
    """The host stopped answering earlier in this check."""


class _HostCalls:
    """Bounded calls to one host; after a timeout every further call fails at once."""

    def __init__(self, deck: Deck, name: str, conn: libvirt.virConnect) -> None:
        self.deck, self.name, self.conn = deck, name, conn
        self.gone: str | None = None
        self.timeout = min(CHECK_CALL_TIMEOUT_S, deck.settings.call_timeout)

    def __call__(self, fn: Callable[..., T], *args: Any, what: str) -> T:
        if self.gone is not None:
            raise _Gone(self.gone)
        try:
            return self.deck.call(fn, *args, what=f"{self.name}: {what}", timeout=self.timeout)
        except Failed as exc:
            self.gone = str(exc)
            raise _Gone(self.gone) from None


def _message(exc: BaseException) -> str:
    if isinstance(exc, libvirt.libvirtError):
        return f"libvirt: {exc.get_error_message() or exc}"
    if isinstance(exc, _Gone):
        return f"host stopped answering ({exc})"
    return str(exc)


def _guard(
    items: list[CheckItem], check: str, subject: str, fn: Callable[[], Iterable[CheckItem] | CheckItem]
) -> None:
    """Run one section; whatever goes wrong becomes that section's FAIL item with the message."""
    try:
        found = fn()
        items.extend([found] if isinstance(found, CheckItem) else found)
    except (
        libvirt.libvirtError,
        _Gone,
        Failed,
        Refused,
        ValueError,
        KeyError,
        TypeError,
        ET.ParseError,
    ) as exc:
        items.append(CheckItem(check, subject, Verdict.FAIL, f"could not check: {clip(_message(exc))}"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- one host ------------------------------------------------------------------------------------------
def check_host(deck: Deck, name: str, *, peers_checks: bool = True) -> HostCheckReport:
    """Every check of one host. A host vmdeck cannot act on (unknown, Disabled, unreachable, unknown
    profile) gets a report with `refused` saying why and no items."""
    began = time.perf_counter()
    try:
        record, conn = deck.connect(name)
    except Refused as exc:
        hint = access_hint(str(exc))
        why = clip(str(exc)) + (f" — {hint}" if hint else "")
        return HostCheckReport(name, _now(), refused=why, seconds=time.perf_counter() - began)
    profile = deck.config.hardware_profiles.get(record.profile)
    if profile is None:
        why = f"host {name!r} has hardware profile {record.profile!r}, which the config does not define"
        return HostCheckReport(name, _now(), refused=why, seconds=time.perf_counter() - began)
    realm = deck.config.realms.get(record.realm)
    call = _HostCalls(deck, name, conn)
    items: list[CheckItem] = []
    device_items: list[CheckItem] = []
    groups_seen = [False]

    def kvm() -> list[CheckItem]:
        caps = parse_capabilities(call(conn.getCapabilities, what="capabilities"))
        error = None
        try:
            call(conn.getDomainCapabilities, None, None, None, "kvm", 0, what="domain capabilities")
        except libvirt.libvirtError as exc:
            # A read-only connection may not ask; the capabilities have answered already.
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_DENIED:
                error = exc.get_error_message() or str(exc)
        device_items.extend(_devices(call, profile, groups_seen))
        if not profile.devices:
            groups_seen[0] = _any_iommu_group(call)
        return [check_kvm(caps, error), check_iommu(caps, groups_seen[0], bool(profile.devices))]

    _guard(items, "kvm", "kvm", kvm)
    items.extend(device_items)
    _guard(items, "capacity", "capacity", lambda: _capacity(call, profile))
    if realm is None:
        items.append(
            CheckItem("pool", record.realm, Verdict.FAIL, f"realm {record.realm!r} is not in the config")
        )
    else:
        for role, pool in realm.pools().items():
            _guard(
                items,
                "pool",
                pool,
                functools.partial(_pool_items, call, role, pool, name),
            )
    peers = _peers(deck, record) if realm is not None else {}
    _guard(items, "versions", "versions", lambda: [_versions(call, name, peers)])
    if realm is not None and peers_checks:
        for role in SHARED_ROLES:
            pool = realm.pools()[role]
            _guard(items, "shared-storage", pool, functools.partial(_shared, deck, call, name, pool, peers))
        _guard(items, "migration", "migration", lambda: [_migration(deck, call, record, peers)])
    return HostCheckReport(name, _now(), tuple(items), seconds=time.perf_counter() - began)


def check_hosts(deck: Deck, names: Iterable[str], parallel: int = 4) -> list[HostCheckReport]:
    """Check several hosts, `parallel` at a time; reports in the order of `names`."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(parallel, len(wanted))), thread_name_prefix="hostcheck"
    ) as pool:
        return list(pool.map(lambda n: _check_or_report(deck, n), wanted))


def _check_or_report(deck: Deck, name: str) -> HostCheckReport:
    """check_host, with anything unexpected (an unreadable store, a bug) reported for that host
    instead of ending the whole run with a traceback."""
    try:
        return check_host(deck, name)
    except Exception as exc:
        return HostCheckReport(
            name, _now(), refused=f"the check itself failed: {type(exc).__name__}: {clip(str(exc))}"
        )


# --- sections ------------------------------------------------------------------------------------------
def _devices(call: _HostCalls, profile: HardwareProfile, groups_seen: list[bool]) -> list[CheckItem]:
    items = []
    addrs = [d.addr for d in profile.devices]
    for device in profile.devices:
        facts, problem = _node_device(call, device.addr)
        bridges: list[str] = []
        if facts is not None:
            groups_seen[0] = groups_seen[0] or facts.iommu_group is not None
            for member in facts.group_members:
                if member == facts.address or member in addrs:
                    continue
                other, _ = _node_device(call, member)
                if other is not None and other.class_code == PCI_BRIDGE_CLASS:
                    bridges.append(member)
        items.append(check_device(device, facts, addrs, bridges, problem))
    return items


def _node_device(call: _HostCalls, address: str) -> tuple[PciDeviceFacts | None, str | None]:
    """(facts, None), (None, None) when libvirt knows no such device, (None, why) when unreadable."""
    try:
        dev = call(call.conn.nodeDeviceLookupByName, node_device_name(address), what=f"node device {address}")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE:
            return None, None
        raise
    try:
        return parse_node_device(call(dev.XMLDesc, 0, what=f"node device {address} XML")), None
    except ValueError as exc:
        return None, str(exc)


def _any_iommu_group(call: _HostCalls) -> bool:
    devices = call(
        call.conn.listAllDevices, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV, what="PCI node devices"
    )
    for dev in devices[:IOMMU_SCAN_LIMIT]:
        with contextlib.suppress(libvirt.libvirtError, ValueError):
            if parse_node_device(call(dev.XMLDesc, 0, what="node device XML")).iommu_group is not None:
                return True
    return False


def _capacity(call: _HostCalls, profile: HardwareProfile) -> list[CheckItem]:
    info = call(call.conn.getInfo, what="node info")
    cpus = int(info[2])
    # nodeinfo reports NUMA node 0's memory on some hosts; the all-cells memory stats are the machine's.
    try:
        stats = call(call.conn.getMemoryStats, libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0, what="node memory")
        memory, source = int(stats["total"]) * 1024, "node memory stats"
    except (libvirt.libvirtError, KeyError):
        memory, source = int(info[1]) << 20, "nodeinfo: may count NUMA node 0 only"
    return check_capacity(profile, cpus, memory, source)


def _pool_items(call: _HostCalls, role: str, pool: str, host: str) -> list[CheckItem]:
    return [check_pool(_pool_facts(call, role, pool), host)]


def _pool_facts(call: _HostCalls, role: str, name: str) -> PoolFacts:
    try:
        pool = call(call.conn.storagePoolLookupByName, name, what=f"pool {name}")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return PoolFacts(role, name, False)
        raise
    active = bool(call(pool.isActive, what=f"pool {name} state"))
    autostart = bool(call(pool.autostart, what=f"pool {name} autostart"))
    _state, capacity, _allocation, available = call(pool.info, what=f"pool {name} info")
    path = ET.fromstring(call(pool.XMLDesc, 0, what=f"pool {name} XML")).findtext("target/path")
    return PoolFacts(role, name, True, active, autostart, int(capacity), int(available), path)


def _peers(deck: Deck, record: HostRecord) -> dict[str, libvirt.virConnect | str]:
    """Other hosts of the realm: name -> live connection, or why it cannot be used."""
    out: dict[str, libvirt.virConnect | str] = {}
    for other in deck.store.hosts():
        if other.name == record.name or other.realm != record.realm:
            continue
        try:
            out[other.name] = deck.connect(other.name)[1]
        except Refused as exc:
            out[other.name] = str(exc)
    return out


def _versions(call: _HostCalls, name: str, peers: dict[str, libvirt.virConnect | str]) -> CheckItem:
    lib = int(call(call.conn.getLibVersion, what="libvirt version"))
    qemu = int(call(call.conn.getVersion, what="hypervisor version"))
    theirs: dict[str, tuple[int, int]] = {}
    for peer, conn in peers.items():
        if isinstance(conn, str):
            continue
        with contextlib.suppress(libvirt.libvirtError, Failed):
            theirs[peer] = (
                int(
                    call.deck.call(conn.getLibVersion, what=f"{peer}: libvirt version", timeout=call.timeout)
                ),
                int(
                    call.deck.call(conn.getVersion, what=f"{peer}: hypervisor version", timeout=call.timeout)
                ),
            )
    return check_versions(name, lib, qemu, theirs)


def _unusable(peers: dict[str, libvirt.virConnect | str]) -> list[PeerResult]:
    return [PeerResult(p, False, f"not checked: {why}") for p, why in peers.items() if isinstance(why, str)]


def _skipped(outcome_result: Result, message: str) -> str | None:
    return message if outcome_result is Result.REFUSED else None


def _shared(
    deck: Deck, call: _HostCalls, name: str, pool_name: str, peers: dict[str, libvirt.virConnect | str]
) -> CheckItem:
    """A marker volume written through this host must be visible through every other realm host."""
    fix = f"put pool {pool_name} on the realm's shared file system on every host (seed 000: one distributed file system)"
    if call.gone is not None:
        raise _Gone(call.gone)
    results: list[PeerResult] = []
    live = {p: c for p, c in peers.items() if not isinstance(c, str)}
    if not live:
        return check_peers("shared-storage", pool_name, _unusable(peers), fix)
    marker = f"{MARKER_PREFIX}{name}-{uuidlib.uuid4().hex[:8]}"

    def body(note: Note) -> str:
        note.host = name
        note.details.update(pool=pool_name, marker=marker)
        pool = call(call.conn.storagePoolLookupByName, pool_name, what=f"pool {pool_name}")
        if not call(pool.isActive, what=f"pool {pool_name} state"):
            raise Failed(f"pool {pool_name} is not active on {name}")
        vol = call(pool.createXML, _marker_xml(marker), 0, what=f"write marker {marker}")
        try:
            for peer, conn in sorted(live.items()):
                results.append(_look_for(deck, call.timeout, peer, conn, pool_name, marker))
        finally:
            with contextlib.suppress(libvirt.libvirtError, _Gone):
                call(vol.delete, 0, what=f"delete marker {marker}")
        return (
            f"{name}: marker in {pool_name} visible on {sum(r.ok for r in results)} of {len(results)} host(s)"
        )

    outcome = deck.run("host.check.shared-storage", name, body, reason="host check: is the storage shared?")
    if not outcome.ok:
        skipped = _skipped(outcome.result, outcome.message)
        if skipped is not None:
            return check_peers("shared-storage", pool_name, [], fix, skipped=skipped)
        return CheckItem(
            "shared-storage", pool_name, Verdict.FAIL, f"could not check: {clip(outcome.message)}", fix
        )
    return check_peers("shared-storage", pool_name, results + _unusable(peers), fix)


def _marker_xml(name: str) -> str:
    vol = ET.Element("volume")
    ET.SubElement(vol, "name").text = name
    ET.SubElement(vol, "capacity", unit="bytes").text = "512"
    ET.SubElement(vol, "allocation", unit="bytes").text = "0"
    target = ET.SubElement(vol, "target")
    ET.SubElement(target, "format", type="raw")
    return ET.tostring(vol, encoding="unicode")


def _refresh(deck: Deck, timeout: float, peer: str, pool: libvirt.virStoragePool, pool_name: str) -> None:
    """pool.refresh, waiting out another refresh of the same pool (several hosts of a realm checked
    at once refresh one peer's pool together: libvirt refuses with "asynchronous jobs running")."""
    for attempt in range(REFRESH_RETRIES + 1):
        try:
            deck.call(pool.refresh, 0, what=f"{peer}: refresh {pool_name}", timeout=timeout)
            return
        except libvirt.libvirtError as exc:
            busy = "asynchronous jobs" in (exc.get_error_message() or "")
            if not busy or attempt == REFRESH_RETRIES:
                raise
        time.sleep(REFRESH_PAUSE_S)


def _look_for(
    deck: Deck, timeout: float, peer: str, conn: libvirt.virConnect, pool_name: str, marker: str
) -> PeerResult:
    try:
        pool = deck.call(
            conn.storagePoolLookupByName, pool_name, what=f"{peer}: pool {pool_name}", timeout=timeout
        )
        _refresh(deck, timeout, peer, pool, pool_name)
        deck.call(pool.storageVolLookupByName, marker, what=f"{peer}: look for the marker", timeout=timeout)
    except libvirt.libvirtError as exc:
        code = exc.get_error_code()
        if code == libvirt.VIR_ERR_NO_STORAGE_VOL:
            return PeerResult(
                peer, False, f"the marker is not visible in its pool {pool_name}: not the same storage"
            )
        if code == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return PeerResult(peer, False, f"has no pool {pool_name}")
        return PeerResult(peer, False, _message(exc))
    except Failed as exc:
        return PeerResult(peer, False, str(exc))
    return PeerResult(peer, True, "sees the marker")


def _migration(
    deck: Deck, call: _HostCalls, record: HostRecord, peers: dict[str, libvirt.virConnect | str]
) -> CheckItem:
    """A paused, disk-less probe VM live-migrated from this host to each other host of the realm."""
    fix = (
        "open the migration ports (49152-49215 by default) between the hosts, make each host's name "
        "resolve from the others, or give vmdeck a migration URI per host (--migrate-uri HOST=tcp://ADDR)"
    )
    if call.gone is not None:
        raise _Gone(call.gone)
    live = {p: c for p, c in peers.items() if not isinstance(c, str)}
    if not live:
        return check_peers("migration", "migration", _unusable(peers), fix)
    results: list[PeerResult] = []

    def body(note: Note) -> str:
        note.host = record.name
        for peer, conn in sorted(live.items()):
            results.append(_probe(deck, call, record.name, peer, conn))
        note.details["peers"] = {r.peer: r.detail for r in results}
        return f"{record.name}: probe VM migrated to {sum(r.ok for r in results)} of {len(results)} host(s)"

    outcome = deck.run("host.check.migration", record.name, body, reason="host check: can VMs migrate?")
    if not outcome.ok:
        skipped = _skipped(outcome.result, outcome.message)
        if skipped is not None:
            return check_peers("migration", "migration", [], fix, skipped=skipped)
        return CheckItem(
            "migration", "migration", Verdict.FAIL, f"could not check: {clip(outcome.message)}", fix
        )
    return check_peers("migration", "migration", results + _unusable(peers), fix)


def _probe(deck: Deck, call: _HostCalls, source: str, peer: str, dst: libvirt.virConnect) -> PeerResult:
    s = deck.settings
    name = f"vmdeck-check-{uuidlib.uuid4().hex[:10]}"
    spec = DomainSpec(
        name=name,
        uuid=str(uuidlib.uuid4()),
        vcpus=1,
        max_vcpus=1,
        memory=PROBE_MEMORY,
        max_memory=PROBE_MEMORY,
        domain_type=s.domain_type,
        machine=s.machine,
        firmware=s.firmware,
        cpu=s.cpu,
        graphics=Graphics.NONE,  # no display: its port could collide on the destination
    )
    params: dict[str, object] = {}
    uri = s.migrate_uri(peer)
    if uri:
        params[libvirt.VIR_MIGRATE_PARAM_URI] = uri
    began = time.perf_counter()
    dom = None
    try:
        dom = call(
            call.conn.createXML,
            build_domain_xml(spec),
            libvirt.VIR_DOMAIN_START_PAUSED,
            what="start probe VM",
        )
        deck.call(
            dom.migrate3,
            dst,
            params,
            libvirt.VIR_MIGRATE_LIVE,
            what=f"migrate probe to {peer}",
            timeout=PROBE_MIGRATE_TIMEOUT_S,
        )
        return PeerResult(peer, True, f"probe VM migrated in {time.perf_counter() - began:.2f} s")
    except (libvirt.libvirtError, Failed, _Gone) as exc:
        return PeerResult(peer, False, _message(exc))
    finally:
        for conn in (dst, call.conn):
            with contextlib.suppress(libvirt.libvirtError, Failed):
                leftover = deck.call(conn.lookupByName, name, what="find probe VM", timeout=call.timeout)
                deck.call(leftover.destroy, what="remove probe VM", timeout=call.timeout)
