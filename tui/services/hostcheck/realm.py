"""The realm-wide checks of a host, which change something for a moment and so go through `Deck.run`
(refused in read-only mode, audited): a marker volume written through this host and looked up
through every other host of the realm (shared storage really shared), and a paused, disk-less probe
VM live-migrated to every other host of the realm (migration reachability). Both clean up after
themselves.
"""

from __future__ import annotations

import contextlib
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET

import libvirt

from tui.core.hostcheck import CheckItem, Verdict
from tui.core.hostcheck.report import clip
from tui.core.hostcheck.resources import PeerResult, check_peers
from tui.core.hosts import HostRecord
from tui.core.model import Graphics
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import DomainSpec, build_domain_xml
from tui.services.actions.outcome import Failed, Refused, Result
from tui.services.hostcheck.calls import HostCalls, HostGone, message_of

PROBE_MIGRATE_TIMEOUT_S = 60.0
PROBE_MEMORY = 16 << 20  # the probe VM: paused, no disk, 16 MiB
MARKER_PREFIX = ".vmdeck-check-"
# A busy pool's refresh is retried for up to ~2 s.
REFRESH_RETRIES, REFRESH_PAUSE_S = 20, 0.1


def realm_peers(deck: Deck, record: HostRecord) -> dict[str, libvirt.virConnect | str]:
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


def _unusable(peers: dict[str, libvirt.virConnect | str]) -> list[PeerResult]:
    return [PeerResult(p, False, f"not checked: {why}") for p, why in peers.items() if isinstance(why, str)]


def _skipped(outcome_result: Result, message: str) -> str | None:
    return message if outcome_result is Result.REFUSED else None


def shared_storage_item(
    deck: Deck, call: HostCalls, name: str, pool_name: str, peers: dict[str, libvirt.virConnect | str]
) -> CheckItem:
    """A marker volume written through this host must be visible through every other realm host."""
    fix = f"put pool {pool_name} on the realm's shared file system on every host (seed 000: one distributed file system)"
    if call.gone is not None:
        raise HostGone(call.gone)
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
            with contextlib.suppress(libvirt.libvirtError, HostGone):
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
        return PeerResult(peer, False, message_of(exc))
    except Failed as exc:
        return PeerResult(peer, False, str(exc))
    return PeerResult(peer, True, "sees the marker")


def migration_item(
    deck: Deck, call: HostCalls, record: HostRecord, peers: dict[str, libvirt.virConnect | str]
) -> CheckItem:
    """A paused, disk-less probe VM live-migrated from this host to each other host of the realm."""
    fix = (
        "open the migration ports (49152-49215 by default) between the hosts, make each host's name "
        "resolve from the others, or give vmdeck a migration URI per host (--migrate-uri HOST=tcp://ADDR)"
    )
    if call.gone is not None:
        raise HostGone(call.gone)
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


def _probe(deck: Deck, call: HostCalls, source: str, peer: str, dst: libvirt.virConnect) -> PeerResult:
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
    except (libvirt.libvirtError, Failed, HostGone) as exc:
        return PeerResult(peer, False, message_of(exc))
    finally:
        for conn in (dst, call.conn):
            with contextlib.suppress(libvirt.libvirtError, Failed):
                leftover = deck.call(conn.lookupByName, name, what="find probe VM", timeout=call.timeout)
                deck.call(leftover.destroy, what="remove probe VM", timeout=call.timeout)
