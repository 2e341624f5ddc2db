"""Cold migration of a shut-off VM: define it on the target, then undefine it on the source.

Nothing runs, so nothing is copied: the drives are on storage every host of the realm sees (seed 003's
shared storage), and the target must see each of the VM's disk files as a volume of one of its pools
before anything changes. The target is the scheduler's choice (or `--to`, cost-checked) for the VM's
shape as if it were started there — a shut-off VM holds nothing, so a plan does not count it against
the target's load. Snapshot metadata moves too (redefined on the target, parents first). VMs with PCI
host devices stay: their devices are addresses of this host.

If undefining on the source fails after the target has the definition, the target's copy is removed
again so the VM is never defined twice.
"""

from __future__ import annotations

import contextlib

import libvirt

from tui.core.live import DomainFacts, ManagedVm
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import disk_paths
from tui.services.actions.migrate import check_target
from tui.services.actions.outcome import Failed, Outcome, Refused
from tui.services.actions.power import find_vm

_UNDEFINE = libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE


def cold_refusal(facts: DomainFacts) -> str | None:
    """Why this VM cannot be moved cold, or None (needs no answer: the console asks this first)."""
    if facts.hostdevs:
        return (
            f"{facts.name} has PCI host devices ({', '.join(facts.hostdevs)}): they are this host's; "
            "undefine it and start it elsewhere"
        )
    if facts.state.holds_resources:
        return (
            f"{facts.name} is {facts.state.value}: cold migration moves shut-off VMs "
            "(live-migrate it, or stop it first)"
        )
    return None


def cold_migrate_vm(
    deck: Deck, name: str, *, to: str | None = None, host: str | None = None, reason: str | None = None
) -> Outcome:
    def body(note: Note) -> str:
        source, facts = find_vm(deck, name, host)
        note.host = source
        note.details["from"] = source
        why = cold_refusal(facts)
        if why:
            raise Refused(why)
        with deck.placement_lock:
            target = check_target(deck, source, facts, to)
        note.details.update(to=target.host, cost=target.cost)
        moved = cold_migrate_domain(deck, source, target.host, facts)
        note.details["snapshots"] = moved
        extra = f" with {moved} snapshot(s)" if moved else ""
        return (
            f"{name} moved cold {source} -> {target.host}{extra} (cost there when started {target.cost:.6g})"
        )

    return deck.run("vm.cold-migrate", name, body, reason=reason)


def cold_migrate_domain(deck: Deck, source: str, target: str, facts: DomainFacts) -> int:
    """Move one shut-off domain's definition; returns how many snapshots moved with it."""
    _, src = deck.connect(source)
    _, dst = deck.connect(target)
    dom = deck.domain(src, facts)
    xml = deck.call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE, what=f"read {facts.name}")
    _check_storage(deck, dst, target, disk_paths(xml))
    snaps = deck.call(dom.listAllSnapshots, libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL, what="snapshots")
    snap_xml = [
        (deck.call(s.getXMLDesc, 0, what=f"read snapshot {s.getName()}"), bool(s.isCurrent(0))) for s in snaps
    ]
    try:
        new = deck.call(dst.defineXML, xml, what=f"define {facts.name} on {target}")
    except libvirt.libvirtError as exc:
        raise Failed(f"{target} refused the definition of {facts.name}: {exc.get_error_message()}") from None
    try:
        for text, current in snap_xml:
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
            if current:
                flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
            deck.call(new.snapshotCreateXML, text, flags, what="redefine snapshot")
        deck.call(dom.undefineFlags, _UNDEFINE, what=f"undefine {facts.name} on {source}")
    except (libvirt.libvirtError, Failed) as exc:
        text = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else str(exc)
        with contextlib.suppress(libvirt.libvirtError, Failed):
            deck.call(new.undefineFlags, _UNDEFINE, what=f"undo define on {target}")
        raise Failed(
            f"cold migration of {facts.name} failed ({text}); it stays defined on {source}"
        ) from None
    managed = {vm.uuid.lower() for vm in deck.store.managed_vms()}
    if facts.uuid.lower() in managed:
        deck.store.record_vm(ManagedVm(facts.uuid, facts.name, target), reason=f"moved cold from {source}")
    deck.refresh(source, target)
    return len(snap_xml)


def _check_storage(deck: Deck, dst: libvirt.virConnect, target: str, paths: list[str]) -> None:
    """Every disk file must be a volume the target knows (its pools refreshed first)."""
    if not paths:
        return
    for pool in deck.call(
        dst.listAllStoragePools, libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE, what="pools"
    ):
        with contextlib.suppress(libvirt.libvirtError, Failed):
            deck.call(pool.refresh, 0, what=f"refresh pool {pool.name()}")
    missing = []
    for path in paths:
        try:
            deck.call(dst.storageVolLookupByPath, path, what=f"find {path} on {target}")
        except libvirt.libvirtError:
            missing.append(path)
    if missing:
        raise Refused(
            f"host {target!r} does not see {', '.join(missing)} in any of its pools: cold migration needs "
            "storage both hosts share"
        )
