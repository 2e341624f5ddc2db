"""A new VM's drive (step 2 of a start, start.py): a qcow2 volume in the realm's drives pool, sparse
when drives.lazy-allocation is on, empty or backed by a VM image from the bricks pool, sized within
the realm's drives.min-size/max-size.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Protocol

import libvirt

from tui.core.model import Realm
from tui.core.units import format_size
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import VolumeSpec, build_volume_xml
from tui.services.actions.outcome import Refused


class DriveWanted(Protocol):
    """What a drive is made from (a StartRequest has these)."""

    @property
    def name(self) -> str: ...
    @property
    def disk(self) -> int | None: ...  # bytes; None: the image's size, else the settings' default
    @property
    def image(self) -> str | None: ...  # a volume of the realm's bricks pool


def _drive_size(deck: Deck, realm: Realm, req: DriveWanted, image_capacity: int | None) -> int:
    size = req.disk or image_capacity or deck.settings.default_disk
    policy = realm.drives
    if req.disk is None and image_capacity is None:
        # The default adapts to the realm's bounds; an explicit size is checked against them.
        if policy.min_size is not None:
            size = max(size, policy.min_size)
        if policy.max_size is not None:
            size = min(size, policy.max_size)
    if policy.min_size is not None and size < policy.min_size:
        raise Refused(
            f"drive size {format_size(size)} is below realm {realm.id!r}'s drives.min-size {format_size(policy.min_size)}"
        )
    if policy.max_size is not None and size > policy.max_size:
        raise Refused(
            f"drive size {format_size(size)} is above realm {realm.id!r}'s drives.max-size {format_size(policy.max_size)}"
        )
    if image_capacity is not None and size < image_capacity:
        raise Refused(
            f"drive size {format_size(size)} is smaller than the image ({format_size(image_capacity)})"
        )
    return size


def _pool(deck: Deck, conn: libvirt.virConnect, name: str, role: str, host: str) -> libvirt.virStoragePool:
    try:
        pool = deck.call(conn.storagePoolLookupByName, name, what=f"find pool {name}")
    except libvirt.libvirtError:
        raise Refused(
            f"host {host!r} has no {role} pool {name!r}: create the realm's pools with `vmdeck pools create {host}`"
        ) from None
    if not deck.call(pool.isActive, what=f"pool {name} state"):
        raise Refused(f"the {role} pool {name!r} on host {host!r} is not active (vmdeck pools create {host})")
    return pool


def create_drive(
    deck: Deck,
    conn: libvirt.virConnect,
    realm: Realm,
    req: DriveWanted,
    note: Note,
    timings: dict[str, float],
) -> libvirt.virStorageVol:
    t = time.perf_counter()
    host = note.host or "?"
    drives = _pool(deck, conn, realm.drives_pool, "drives", host)
    backing: tuple[str, str] | None = None
    capacity: int | None = None
    if req.image:
        bricks = _pool(deck, conn, realm.bricks_pool, "bricks (VM images)", host)
        deck.call(bricks.refresh, 0, what=f"refresh pool {realm.bricks_pool}")
        try:
            image = deck.call(bricks.storageVolLookupByName, req.image, what=f"find image {req.image}")
        except libvirt.libvirtError:
            raise Refused(f"no image {req.image!r} in pool {realm.bricks_pool!r} on host {host!r}") from None
        root = ET.fromstring(deck.call(image.XMLDesc, 0, what=f"read image {req.image}"))
        fmt = root.find("target/format")
        backing = (image.path(), fmt.get("type", "raw") if fmt is not None else "raw")
        capacity = int(deck.call(image.info, what=f"size of image {req.image}")[1])
    size = _drive_size(deck, realm, req, capacity)
    vol_name = f"{req.name}.qcow2"
    try:
        deck.call(drives.storageVolLookupByName, vol_name, what=f"look for {vol_name}")
    except libvirt.libvirtError:
        pass
    else:
        raise Refused(f"pool {realm.drives_pool!r} on host {host!r} already has a volume {vol_name!r}")
    spec = VolumeSpec(
        vol_name,
        size,
        lazy=realm.drives.lazy_allocation,
        backing_path=backing[0] if backing else None,
        backing_format=backing[1] if backing else "qcow2",
    )
    # Without lazy allocation the drive's space is reserved now (qemu-img preallocation=falloc).
    vol = deck.call(drives.createXML, build_volume_xml(spec), 0, what=f"create drive {vol_name}")
    note.details["drive"] = {
        "pool": realm.drives_pool,
        "volume": vol_name,
        "path": vol.path(),
        "capacity": size,
        "lazy": realm.drives.lazy_allocation,
        "image": req.image,
    }
    timings["volume"] = time.perf_counter() - t
    return vol
