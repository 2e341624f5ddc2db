"""A host as last polled from libvirt, as plain frozen data: reachability, node facts, its domains.

The poller (tui/services/poller/) produces a `HostSnapshot` per host each cycle; it lives in memory
only (never stored). Everything here is pure, so the UI, the CLI and the tests read it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tui.core.pci import normalize_pci


class HostStatus(StrEnum):
    CONNECTED = "connected"
    CONNECTING = "connecting"
    UNREACHABLE = "unreachable"
    DISABLED = "disabled"


class DomainState(StrEnum):
    """libvirt's virDomainState, by name (index = the C enum value)."""

    NOSTATE = "nostate"
    RUNNING = "running"
    BLOCKED = "blocked"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"  # being shut down
    SHUTOFF = "shutoff"
    CRASHED = "crashed"
    PMSUSPENDED = "pmsuspended"

    @classmethod
    def from_code(cls, code: int) -> DomainState:
        members = list(cls)
        return members[code] if 0 <= code < len(members) else cls.NOSTATE

    @property
    def holds_resources(self) -> bool:
        """A domain that has a QEMU process holds its vCPUs, memory and devices; shut off/crashed do not."""
        return self not in (DomainState.SHUTOFF, DomainState.CRASHED, DomainState.NOSTATE)


@dataclass(frozen=True)
class NodeFacts:
    """virNodeGetInfo: what the hypervisor reports (memory in bytes)."""

    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DomainFacts:
    name: str
    uuid: str
    state: DomainState
    vcpus: int
    memory: int  # bytes, current allocation
    max_memory: int  # bytes
    hostdevs: tuple[str, ...] = ()  # normalised PCI addresses of <hostdev type='pci'> sources
    cpu_time_ns: int = 0
    cpu_rate: float | None = None  # host CPUs busy on average since the previous poll
    address: str | None = None  # the guest's first IPv4 address from the host's DHCP leases

    def visible(self) -> tuple[object, ...]:
        """What an admin sees of this domain; CPU time and rate move on every poll and are left out."""
        return (
            self.uuid,
            self.name,
            self.state,
            self.vcpus,
            self.memory,
            self.max_memory,
            self.hostdevs,
            self.address,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uuid": self.uuid,
            "state": self.state.value,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "max_memory": self.max_memory,
            "hostdevs": list(self.hostdevs),
            "cpu_time_ns": self.cpu_time_ns,
            "cpu_rate": self.cpu_rate,
            "address": self.address,
        }


@dataclass(frozen=True)
class HostSnapshot:
    """One host as last seen. When unreachable, node/domains are the last successful poll's (or empty)."""

    host: str
    uri: str
    status: HostStatus
    error: str | None = None
    node: NodeFacts | None = None
    domains: tuple[DomainFacts, ...] = ()
    polled_at: float | None = None  # wall-clock time of the last successful poll
    poll_seconds: float | None = None
    seq: int = 0  # increases with every snapshot published for this host

    @property
    def live(self) -> bool:
        return self.status is HostStatus.CONNECTED

    def looks_like(self, other: HostSnapshot | None) -> bool:
        """True when `other` shows an admin the same host: status, error, node and domains' visible facts.

        Poll times, sequence numbers and CPU counters differ on every poll; a consumer that redraws
        only on change (the console) compares with this instead of ==.
        """
        return (
            other is not None
            and self.host == other.host
            and self.status is other.status
            and self.error == other.error
            and self.node == other.node
            and len(self.domains) == len(other.domains)
            and all(a.visible() == b.visible() for a, b in zip(self.domains, other.domains, strict=True))
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "uri": self.uri,
            "status": self.status.value,
            "error": self.error,
            "node": self.node.to_json() if self.node else None,
            "domains": [d.to_json() for d in self.domains],
            "polled_at": self.polled_at,
            "poll_seconds": self.poll_seconds,
        }


def hostdev_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Normalise PCI addresses read from domain XML; drop anything that is not one."""
    out = set()
    for addr in addresses:
        try:
            out.add(normalize_pci(addr))
        except ValueError:
            continue
    return tuple(sorted(out))
