"""What runs where: every VM on every reachable host, as the poller last saw it (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.services.actions.deck import Deck, host_status_line


@dataclass(frozen=True)
class ListedVm:
    name: str
    uuid: str
    host: str
    state: str
    vcpus: int
    memory: int
    max_memory: int
    hostdevs: tuple[str, ...]
    managed: bool  # started (or adopted) by vmdeck

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "hostdevs": list(self.hostdevs)}


def list_vms(deck: Deck, host: str | None = None) -> tuple[list[ListedVm], dict[str, str]]:
    """(VM rows by host then name, {host: status} for every host); unreachable hosts list no VMs."""
    managed = {vm.uuid.lower() for vm in deck.store.managed_vms()}
    snaps = deck.snapshots()
    rows: list[ListedVm] = []
    statuses: dict[str, str] = {}
    for name in sorted(deck.hosts()):
        if host is not None and name != host:
            continue
        snap = snaps.get(name)
        statuses[name] = host_status_line(snap)
        if snap is None or not snap.live:
            continue
        for d in snap.domains:
            rows.append(
                ListedVm(
                    d.name,
                    d.uuid,
                    name,
                    d.state.value,
                    d.vcpus,
                    d.memory,
                    d.max_memory,
                    d.hostdevs,
                    d.uuid.lower() in managed,
                )
            )
    return rows, statuses
