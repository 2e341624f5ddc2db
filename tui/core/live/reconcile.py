"""Reconcile ("Fix VMs"): vmdeck's records of the VMs it started (`ManagedVm`) against what the
connected hosts report, as findings an admin can act on (unmanaged, missing, moved, unknown, leftover).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tui.core.live.snapshots import DomainFacts, HostSnapshot


@dataclass(frozen=True)
class ManagedVm:
    """A VM vmdeck started (the store's record): where it should be."""

    uuid: str
    name: str
    host: str
    # "active"; "starting": recorded before its domain is defined (a start that dies mid-way is still
    # known as vmdeck's); "leftover": a failed start whose clean-up did not remove everything.
    status: str = "active"
    # PCI addresses it was given: counted as in use by every scheduler until its host's poll shows it.
    devices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"uuid": self.uuid, "name": self.name, "host": self.host}
        if self.status != "active":
            doc["status"] = self.status
        if self.devices:
            doc["devices"] = list(self.devices)
        return doc


class ReconcileKind(StrEnum):
    UNMANAGED = "unmanaged"  # on a host, vmdeck did not start it
    MISSING = "missing"  # vmdeck started it, no reachable host reports it
    MOVED = "moved"  # vmdeck started it on one host, another host reports it
    UNKNOWN = "unknown"  # its host is not reachable: cannot tell
    LEFTOVER = "leftover"  # what a failed or interrupted start left on its host (vmdeck's, not in use)


@dataclass(frozen=True)
class ReconcileFinding:
    kind: ReconcileKind
    uuid: str
    name: str
    host: str  # where it is (unmanaged, moved) or where vmdeck put it (missing, unknown)
    action: str
    recorded_host: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "uuid": self.uuid,
            "name": self.name,
            "host": self.host,
            "recorded_host": self.recorded_host,
            "action": self.action,
        }


def reconcile(managed: Iterable[ManagedVm], snapshots: Mapping[str, HostSnapshot]) -> list[ReconcileFinding]:
    """Compare vmdeck's records with what connected hosts report; sorted by kind, host, name.

    A VM is only called missing when its host answered: an unreachable host proves nothing.
    Domains are matched by UUID (names can be reused; UUIDs are what libvirt guarantees unique).
    """
    seen: dict[str, tuple[str, DomainFacts]] = {}
    for snap in snapshots.values():
        if snap.live:
            for dom in snap.domains:
                seen[dom.uuid.lower()] = (snap.host, dom)
    findings: list[ReconcileFinding] = []
    records = {m.uuid.lower(): m for m in managed}
    for uuid, vm in records.items():
        found = seen.get(uuid)
        if found is not None:
            where, dom = found
            if vm.status != "active":
                findings.append(
                    ReconcileFinding(
                        ReconcileKind.LEFTOVER,
                        uuid,
                        dom.name,
                        where,
                        f"left behind by a start that did not finish ({vm.status}, {dom.state.value}): "
                        f"remove it (vmdeck vms undefine {dom.name} --delete-drives) or adopt it",
                        vm.host,
                    )
                )
            elif where != vm.host:
                findings.append(
                    ReconcileFinding(
                        ReconcileKind.MOVED,
                        uuid,
                        dom.name,
                        where,
                        f"migrated outside vmdeck: update the record to host {where!r}",
                        vm.host,
                    )
                )
            continue
        home = snapshots.get(vm.host)
        if home is not None and home.live:
            findings.append(
                ReconcileFinding(
                    ReconcileKind.MISSING,
                    uuid,
                    vm.name,
                    vm.host,
                    "removed outside vmdeck: forget the record (and release its resources)",
                    vm.host,
                )
            )
        else:
            status = home.status.value if home else "not polled"
            findings.append(
                ReconcileFinding(
                    ReconcileKind.UNKNOWN,
                    uuid,
                    vm.name,
                    vm.host,
                    f"host is {status}: check again when it answers",
                    vm.host,
                )
            )
    for uuid, (where, dom) in seen.items():
        if uuid not in records:
            held = "holds resources" if dom.state.holds_resources else "shut off"
            findings.append(
                ReconcileFinding(
                    ReconcileKind.UNMANAGED,
                    uuid,
                    dom.name,
                    where,
                    f"not started by vmdeck ({dom.state.value}, {held}): adopt it or remove it from the host",
                )
            )
    order = list(ReconcileKind)
    findings.sort(key=lambda f: (order.index(f.kind), f.host, f.name, f.uuid))
    return findings
