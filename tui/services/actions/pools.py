"""The realm's four storage pools on a host (seed 000, "Setting up Libvirt Pools").

The seed's steps per pool: `pool-define-as NAME dir - - - - PATH`, `pool-build`, `pool-start`,
`pool-autostart`. `check_pools` reads what exists (allowed in read-only mode); `create_pools` does
whatever is missing — defines a directory pool at BASE/NAME, builds, starts and marks it autostart —
and leaves correct pools alone, so it is safe to run again.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import libvirt

from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome

DEFAULT_POOL_BASE = "/var/lib/libvirt/ticrypt"


@dataclass(frozen=True)
class PoolStatus:
    role: str  # volumes, drives, bricks, snapshots
    name: str
    exists: bool
    type: str | None = None
    path: str | None = None
    active: bool = False
    autostart: bool = False

    @property
    def ready(self) -> bool:
        return self.exists and self.active and self.autostart

    def problem(self) -> str | None:
        if not self.exists:
            return "missing"
        missing = [w for w, ok in (("not active", self.active), ("no autostart", self.autostart)) if not ok]
        return ", ".join(missing) or None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ready": self.ready, "problem": self.problem()}


def pool_xml(name: str, path: str) -> str:
    pool = ET.Element("pool", {"type": "dir"})
    ET.SubElement(pool, "name").text = name
    target = ET.SubElement(pool, "target")
    ET.SubElement(target, "path").text = path
    return ET.tostring(pool, encoding="unicode")


def _status(deck: Deck, conn: libvirt.virConnect, role: str, name: str) -> PoolStatus:
    try:
        pool = deck.call(conn.storagePoolLookupByName, name, what=f"find pool {name}")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return PoolStatus(role, name, False)
        raise
    root = ET.fromstring(deck.call(pool.XMLDesc, 0, what=f"read pool {name}"))
    return PoolStatus(
        role,
        name,
        True,
        root.get("type"),
        root.findtext("target/path"),
        bool(deck.call(pool.isActive, what=f"pool {name} state")),
        bool(deck.call(pool.autostart, what=f"pool {name} autostart")),
    )


def check_pools(deck: Deck, host: str) -> Outcome:
    def body(note: Note) -> str:
        note.host = host
        record, conn = deck.connect(host)
        realm = deck.realm_of(record)
        pools = [_status(deck, conn, role, name) for role, name in realm.pools().items()]
        note.details["realm"] = realm.id
        note.details["pools"] = [p.to_json() for p in pools]
        bad = [f"{p.name} ({p.problem()})" for p in pools if not p.ready]
        if bad:
            raise Failed(
                f"{host}: pools not ready: {', '.join(bad)} (`vmdeck pools create {host}` fixes them)"
            )
        return f"{host}: the {len(pools)} pools of realm {realm.id!r} exist, are active and autostart"

    return deck.run("pool.check", host, body, mutates=False)


def create_pools(deck: Deck, host: str, base: str = DEFAULT_POOL_BASE, reason: str | None = None) -> Outcome:
    def body(note: Note) -> str:
        note.host = host
        if not os.path.isabs(base):
            raise Failed(f"the pool base directory must be an absolute path on the host, got {base!r}")
        record, conn = deck.connect(host)
        realm = deck.realm_of(record)
        note.details["realm"] = realm.id
        steps: list[str] = []
        final = []
        for role, name in realm.pools().items():
            status = _status(deck, conn, role, name)
            if not status.exists:
                path = os.path.join(base, name)
                pool = deck.call(
                    conn.storagePoolDefineXML, pool_xml(name, path), 0, what=f"define pool {name}"
                )
                # pool-build makes the directory (and its parents) on the host itself, not here.
                deck.call(pool.build, 0, what=f"build pool {name}")
                steps.append(f"defined {name} at {path}")
            else:
                pool = deck.call(conn.storagePoolLookupByName, name, what=f"find pool {name}")
            if not deck.call(pool.isActive, what=f"pool {name} state"):
                if status.exists:
                    # An inactive pool whose directory was removed cannot start: building it first
                    # recreates the directory (and leaves an existing one as it is).
                    deck.call(pool.build, 0, what=f"build pool {name}")
                deck.call(pool.create, 0, what=f"start pool {name}")
                steps.append(f"started {name}")
            if not deck.call(pool.autostart, what=f"pool {name} autostart"):
                deck.call(pool.setAutostart, 1, what=f"autostart pool {name}")
                steps.append(f"autostart {name}")
            final.append(_status(deck, conn, role, name))
        note.details["steps"] = steps
        note.details["pools"] = [p.to_json() for p in final]
        if not steps:
            return f"{host}: the {len(final)} pools of realm {realm.id!r} were already ready; nothing changed"
        return f"{host}: {'; '.join(steps)}"

    return deck.run("pool.create", host, body, reason=reason)
