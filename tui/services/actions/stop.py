"""Stopping and removing VMs: graceful shutdown with a timeout (then force, if asked), destroy, undefine.

A graceful shutdown is an ACPI request the guest may ignore (the test bed's halt-ROM guests always
do: no OS runs there). After the timeout the outcome is TIMED_OUT and offers the next steps — force
(destroy now), or leave it — rather than destroying silently; `force=True` takes the first.
"""

from __future__ import annotations

import contextlib
import time

import libvirt

from tui.core.live import DomainState
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import disk_paths
from tui.services.actions.outcome import Failed, Outcome, Refused, Result

_STATE_POLL_S = 0.1


def _state(deck: Deck, dom: libvirt.virDomain, name: str) -> DomainState:
    return DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))


def stop_vm(
    deck: Deck,
    name: str,
    *,
    host: str | None = None,
    timeout: float | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Outcome:
    def body(note: Note) -> str:
        where, facts = deck.locate(name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        if not _state(deck, dom, name).holds_resources:
            raise Refused(f"{name} is not running (already shut off)")
        limit = deck.settings.shutdown_timeout if timeout is None else timeout
        began = time.monotonic()
        deck.call(dom.shutdown, what=f"shut down {name}")
        while time.monotonic() - began < limit:
            if not _state(deck, dom, name).holds_resources:
                deck.refresh(where)
                note.details["graceful"] = True
                return f"{name} shut down on {where} after {time.monotonic() - began:.1f} s"
            time.sleep(_STATE_POLL_S)
        if not force:
            note.details["offer"] = ["force", "leave running"]
            raise Failed(
                f"{name} on {where} ignored the shutdown request for {limit:g} s (the guest did not act "
                f"on ACPI): force it off with `vmdeck vms stop {name} --force` or `vmdeck vms destroy {name}`",
                Result.TIMED_OUT,
            )
        deck.call(dom.destroy, what=f"force off {name}")
        deck.refresh(where)
        note.details["graceful"] = False
        return f"{name} did not shut down within {limit:g} s: forced off (destroyed) on {where}"

    return deck.run("vm.stop", name, body, reason=reason)


def destroy_vm(deck: Deck, name: str, *, host: str | None = None, reason: str | None = None) -> Outcome:
    """Power off at once (the definition and the drive stay)."""

    def body(note: Note) -> str:
        where, facts = deck.locate(name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        if not _state(deck, dom, name).holds_resources:
            raise Refused(f"{name} is not running (already shut off)")
        deck.call(dom.destroy, what=f"destroy {name}")
        deck.refresh(where)
        return f"{name} powered off (destroyed) on {where}"

    return deck.run("vm.destroy", name, body, reason=reason)


def undefine_vm(
    deck: Deck,
    name: str,
    *,
    host: str | None = None,
    delete_drives: bool = False,
    reason: str | None = None,
) -> Outcome:
    """Remove a shut-off VM's definition; with delete_drives, also its drives in the realm's drives pool
    (never a file outside that pool: images in the bricks pool are shared by other VMs)."""

    def body(note: Note) -> str:
        where, facts = deck.locate(name, host)
        note.host = where
        record, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        if _state(deck, dom, name).holds_resources:
            raise Refused(f"{name} is running on {where}: stop or destroy it first")
        drives = []
        if delete_drives:
            pool_name = deck.realm_of(record).drives_pool
            xml = deck.call(dom.XMLDesc, 0, what=f"read {name}")
            for path in disk_paths(xml):
                vol = _volume_in_pool(deck, conn, path, pool_name)
                if vol is not None:
                    drives.append((vol, path))  # a deleted volume can no longer say its path
        deck.call(dom.undefine, what=f"undefine {name}")
        deleted = []
        for vol, path in drives:
            deck.call(vol.delete, 0, what=f"delete drive {path}")
            deleted.append(path)
        note.details["deleted_drives"] = deleted
        with contextlib.suppress(ValueError, LookupError):
            deck.store.forget_vm(facts.uuid, reason=reason or "undefined")
        deck.refresh(where)
        extra = f" and deleted {len(deleted)} drive(s)" if deleted else ""
        return f"{name} undefined on {where}{extra}"

    return deck.run("vm.undefine", name, body, reason=reason)


def _volume_in_pool(
    deck: Deck, conn: libvirt.virConnect, path: str, pool_name: str
) -> libvirt.virStorageVol | None:
    try:
        vol = deck.call(conn.storageVolLookupByPath, path, what=f"find volume {path}")
        pool = deck.call(vol.storagePoolLookupByVolume, what=f"pool of {path}")
    except libvirt.libvirtError:
        return None
    return vol if pool.name() == pool_name else None
