"""Snapshots through libvirt's snapshot API: create (of the right kind), list, revert, delete.

Three kinds, and the rule that picks one (`choose_kind`, pure, so it is tested table-driven):
- `disk-only`: an external overlay per disk, created in the realm's snapshots pool; the disk's base
  volume is left untouched. Needs file-backed disks and the snapshots pool active on the host.
- `internal`: the state is kept inside the qcow2 volumes themselves (memory too, when running).
  Needs every disk to be qcow2.
- `memory`: for a running VM without disks, its memory state saved to a file in the snapshots pool.

`auto` prefers disk-only where the host's libvirt can also revert and delete external snapshots
(9.9 and later: `EXTERNAL_OPS_VERSION`); on an older libvirt a qcow2 VM gets an internal snapshot
instead, so that what is taken can also be reverted. The result says which kind was taken and why.
Where the driver cannot do something (reverting an external snapshot on libvirt 9.0), its own
message is the result.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import libvirt

from tui.core.live import DomainState
from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome, Refused
from tui.services.actions.power import find_vm

EXTERNAL_OPS_VERSION = 9_009_000  # libvirt reverts (9.9) and deletes (9.7) external snapshots
_SNAP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SnapshotKind(StrEnum):
    AUTO = "auto"
    DISK_ONLY = "disk-only"
    INTERNAL = "internal"
    MEMORY = "memory"


@dataclass(frozen=True)
class Disk:
    target: str  # vda
    format: str  # qcow2, raw
    path: str | None  # the file, for file-backed disks


def domain_disks(domain_xml: str) -> list[Disk]:
    """The writable disks of a domain (cdroms and read-only disks are never snapshotted)."""
    root = ET.fromstring(domain_xml)
    disks = []
    for el in root.iterfind("devices/disk"):
        if el.get("device", "disk") != "disk" or el.find("readonly") is not None:
            continue
        target = el.find("target")
        driver = el.find("driver")
        source = el.find("source")
        path = source.get("file") if source is not None and el.get("type") == "file" else None
        disks.append(
            Disk(
                target.get("dev", "?") if target is not None else "?",
                driver.get("type", "raw") if driver is not None else "raw",
                path,
            )
        )
    return disks


def choose_kind(
    requested: SnapshotKind,
    disks: list[Disk],
    running: bool,
    pool_active: bool,
    pool: str,
    libvirt_version: int,
) -> tuple[SnapshotKind, str]:
    """(kind to take, why) — or Refused saying why no snapshot of that kind can be taken."""
    all_files = bool(disks) and all(d.path for d in disks)
    all_qcow2 = bool(disks) and all(d.format == "qcow2" for d in disks)
    new_libvirt = libvirt_version >= EXTERNAL_OPS_VERSION
    version = _version_text(libvirt_version)
    if requested is SnapshotKind.AUTO:
        if not disks:
            if running:
                return SnapshotKind.MEMORY, f"the VM has no disk: its memory state goes to pool {pool!r}"
            raise Refused("nothing to snapshot: the VM has no disk and is not running")
        if all_files and pool_active and (new_libvirt or not all_qcow2):
            why = f"overlays in the realm's snapshots pool {pool!r}; the disks' base volumes stay untouched"
            if not new_libvirt:
                why += f" (libvirt {version} cannot revert it: raw disks allow no internal snapshot)"
            return SnapshotKind.DISK_ONLY, why
        if all_qcow2:
            if not pool_active:
                return SnapshotKind.INTERNAL, f"inside the qcow2 volume(s): pool {pool!r} is not active here"
            return SnapshotKind.INTERNAL, (
                f"inside the qcow2 volume(s): libvirt {version} on this host cannot revert or delete "
                "external snapshots (9.9 can), and a snapshot should be revertible"
            )
        raise Refused(f"no snapshot kind fits: disks are not all files and pool {pool!r} is not active")
    if requested is SnapshotKind.INTERNAL:
        if not all_qcow2:
            raise Refused("an internal snapshot needs every disk to be qcow2 (and at least one disk)")
        return requested, "inside the qcow2 volume(s), as asked"
    if requested is SnapshotKind.DISK_ONLY:
        if not all_files:
            raise Refused("a disk-only snapshot needs file-backed disks (and at least one disk)")
        if not pool_active:
            raise Refused(f"the realm's snapshots pool {pool!r} is not active here (vmdeck pools create)")
        return requested, f"overlays in the realm's snapshots pool {pool!r}, as asked"
    if disks or not running:
        raise Refused("a memory snapshot is for a running VM without disks (use disk-only or internal)")
    if not pool_active:
        raise Refused(f"the realm's snapshots pool {pool!r} is not active here (vmdeck pools create)")
    return requested, f"memory state to pool {pool!r}, as asked"


def _version_text(version: int) -> str:
    return f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"


def snapshot_kind_of(snapshot_xml: str) -> SnapshotKind:
    root = ET.fromstring(snapshot_xml)
    memory = root.find("memory")
    if memory is not None and memory.get("snapshot") == "external":
        return SnapshotKind.MEMORY
    if any(d.get("snapshot") == "external" for d in root.iterfind("disks/disk")):
        return SnapshotKind.DISK_ONLY
    return SnapshotKind.INTERNAL


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    kind: SnapshotKind
    state: str  # the VM's state when it was taken
    created: int  # seconds since the epoch
    current: bool
    parent: str | None
    description: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "kind": self.kind.value}


def _info(deck: Deck, snap: libvirt.virDomainSnapshot) -> SnapshotInfo:
    xml = deck.call(snap.getXMLDesc, 0, what=f"read snapshot {snap.getName()}")
    root = ET.fromstring(xml)
    parent = root.findtext("parent/name")
    return SnapshotInfo(
        name=str(snap.getName()),
        kind=snapshot_kind_of(xml),
        state=root.findtext("state") or "?",
        created=int(root.findtext("creationTime") or 0),
        current=bool(deck.call(snap.isCurrent, 0, what="current snapshot")),
        parent=parent,
        description=root.findtext("description") or "",
    )


def list_snapshots(deck: Deck, name: str, host: str | None = None) -> tuple[str, list[SnapshotInfo]]:
    where, facts = find_vm(deck, name, host)
    _, conn = deck.connect(where)
    dom = deck.domain(conn, facts)
    snaps = deck.call(dom.listAllSnapshots, 0, what=f"snapshots of {name}")
    infos = [_info(deck, s) for s in snaps]
    return where, sorted(infos, key=lambda s: (s.created, s.name))


def _find(deck: Deck, dom: libvirt.virDomain, vm: str, snap: str) -> libvirt.virDomainSnapshot:
    names = sorted(deck.call(dom.snapshotListNames, 0, what=f"snapshots of {vm}"))
    if snap not in names:
        known = ", ".join(names) or "none"
        raise Refused(f"VM {vm!r} has no snapshot {snap!r} (snapshots: {known})")
    return deck.call(dom.snapshotLookupByName, snap, 0, what=f"find snapshot {snap}")


def _pool_dir(
    deck: Deck, conn: libvirt.virConnect, pool_name: str
) -> tuple[libvirt.virStoragePool, str] | None:
    try:
        pool = deck.call(conn.storagePoolLookupByName, pool_name, what=f"find pool {pool_name}")
        if not deck.call(pool.isActive, what=f"pool {pool_name} state"):
            return None
        path = ET.fromstring(deck.call(pool.XMLDesc, 0, what=f"read pool {pool_name}")).findtext(
            "target/path"
        )
    except libvirt.libvirtError:
        return None
    return (pool, path) if path else None


def _snapshot_xml(
    snap: str, reason: str | None, kind: SnapshotKind, vm: str, disks: list[Disk], pool_dir: str | None
) -> str:
    root = ET.Element("domainsnapshot")
    ET.SubElement(root, "name").text = snap
    if reason:
        ET.SubElement(root, "description").text = reason
    if kind is SnapshotKind.DISK_ONLY:
        el = ET.SubElement(root, "disks")
        for d in disks:
            disk = ET.SubElement(el, "disk", name=d.target, snapshot="external")
            ET.SubElement(disk, "driver", type="qcow2")
            ET.SubElement(disk, "source", file=f"{pool_dir}/{vm}-{d.target}-{snap}.qcow2")
    elif kind is SnapshotKind.MEMORY:
        ET.SubElement(root, "memory", snapshot="external", file=f"{pool_dir}/{vm}-{snap}.mem")
    return ET.tostring(root, encoding="unicode")


def create_snapshot(
    deck: Deck,
    name: str,
    snap: str | None = None,
    *,
    kind: SnapshotKind = SnapshotKind.AUTO,
    host: str | None = None,
    reason: str | None = None,
) -> Outcome:
    snap_name = snap or time.strftime("snap-%Y%m%d-%H%M%S", time.gmtime())

    def body(note: Note) -> str:
        if not _SNAP_NAME.fullmatch(snap_name):
            raise Refused(f"invalid snapshot name {snap_name!r}: 1-64 letters, digits, '.', '_' or '-'")
        where, facts = find_vm(deck, name, host)
        note.host = where
        record, conn = deck.connect(where)
        realm = deck.realm_of(record)
        dom = deck.domain(conn, facts)
        existing = deck.call(dom.snapshotListNames, 0, what=f"snapshots of {name}")
        if snap_name in existing:
            raise Refused(f"VM {name!r} already has a snapshot {snap_name!r}")
        state = DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))
        disks = domain_disks(deck.call(dom.XMLDesc, 0, what=f"read {name}"))
        pool = _pool_dir(deck, conn, realm.snapshots_pool)
        version = int(deck.call(conn.getLibVersion, what="libvirt version"))
        chosen, why = choose_kind(
            kind, disks, state.holds_resources, pool is not None, realm.snapshots_pool, version
        )
        note.details.update(snapshot=snap_name, kind=chosen.value, why=why)
        xml = _snapshot_xml(snap_name, reason, chosen, name, disks, pool[1] if pool else None)
        flags = 0
        if chosen is SnapshotKind.DISK_ONLY:
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
        deck.call(dom.snapshotCreateXML, xml, flags, what=f"snapshot {name}")
        if pool is not None and chosen is not SnapshotKind.INTERNAL:
            deck.call(pool[0].refresh, 0, what=f"refresh pool {realm.snapshots_pool}")  # new files as volumes
        return f"snapshot {snap_name} of {name} on {where}: {chosen.value} — {why}"

    return deck.run("vm.snapshot.create", name, body, reason=reason)


def revert_snapshot(
    deck: Deck, name: str, snap: str, *, host: str | None = None, reason: str | None = None
) -> Outcome:
    def body(note: Note) -> str:
        where, facts = find_vm(deck, name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        target = _find(deck, dom, name, snap)
        note.details["snapshot"] = snap
        try:
            deck.call(dom.revertToSnapshot, target, 0, what=f"revert {name} to {snap}")
        except libvirt.libvirtError as exc:
            raise Failed(
                f"libvirt on {where} cannot revert {name} to {snap}: {exc.get_error_message()}"
            ) from None
        state = DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))
        note.details["state"] = state.value
        deck.refresh(where)
        return f"{name} reverted to snapshot {snap} on {where} (now {state.value})"

    return deck.run("vm.snapshot.revert", name, body, reason=reason)


def delete_snapshot(
    deck: Deck,
    name: str,
    snap: str,
    *,
    host: str | None = None,
    metadata_only: bool = False,
    reason: str | None = None,
) -> Outcome:
    """Delete a snapshot (libvirt merges what it must). `metadata_only` forgets it and keeps its disk
    overlays — they are the VM's disks now — but removes an external memory file, which only a revert
    would have read."""

    def body(note: Note) -> str:
        where, facts = find_vm(deck, name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        target = _find(deck, dom, name, snap)
        xml = deck.call(target.getXMLDesc, 0, what=f"read snapshot {snap}")
        kind = snapshot_kind_of(xml)
        note.details.update(snapshot=snap, kind=kind.value)
        if metadata_only:
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
            deck.call(target.delete, flags, what=f"forget snapshot {snap}")
            removed = _remove_memory_file(deck, conn, xml) if kind is SnapshotKind.MEMORY else None
            extra = f"; removed its memory file {removed}" if removed else ""
            return f"snapshot {snap} of {name} forgotten on {where} (its disk overlays stay in use){extra}"
        try:
            deck.call(target.delete, 0, what=f"delete snapshot {snap}")
        except libvirt.libvirtError as exc:
            hint = (
                f" (`vmdeck vms snapshot {name} delete {snap} --metadata-only` forgets it and keeps its files)"
                if kind is not SnapshotKind.INTERNAL
                else ""
            )
            raise Failed(
                f"libvirt on {where} cannot delete {snap}: {exc.get_error_message()}{hint}"
            ) from None
        return f"snapshot {snap} of {name} deleted on {where}"

    return deck.run("vm.snapshot.delete", name, body, reason=reason)


def _remove_memory_file(deck: Deck, conn: libvirt.virConnect, snapshot_xml: str) -> str | None:
    memory = ET.fromstring(snapshot_xml).find("memory")
    path = memory.get("file") if memory is not None else None
    if not path:
        return None
    try:
        vol = deck.call(conn.storageVolLookupByPath, path, what=f"find {path}")
        deck.call(vol.delete, 0, what=f"delete {path}")
    except (libvirt.libvirtError, Failed):
        return None
    return path
