"""Live state of the fleet as plain data, and what it means: allocation, cost, FLEET export, reconcile.

The poller (tui/services/poller.py) produces a frozen `HostSnapshot` per host; everything here is pure
so the UI, the CLI and the tests all compute allocation, cost and reconcile findings the same way.
The FLEET export is the bridge to the scheduler: a live fleet is usable wherever a FLEET.json is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tui.core.costs import CostBreakdown
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.hosts import HostRecord
from tui.core.model import VmConfig
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


# --- allocated vs capacity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """What a host's running domains hold against its hardware profile, and the host's current cost."""

    host: str
    profile: str
    vms: int
    vcpus: int
    cores: int
    memory: int
    memory_capacity: int
    devices_in_use: Mapping[str, int] = field(default_factory=dict)  # type -> count (profile devices)
    devices_capacity: Mapping[str, int] = field(default_factory=dict)
    foreign_devices: tuple[str, ...] = ()  # hostdevs in use that the profile does not list
    cost: CostBreakdown | None = None
    known: bool = True  # False when the host has never been polled successfully

    def over(self) -> list[str]:
        """Resources used beyond the profile's capacity, each as a readable reason."""
        reasons = []
        if self.vcpus > self.cores:
            reasons.append(f"vCPUs {self.vcpus} > {self.cores} cores")
        if self.memory > self.memory_capacity:
            reasons.append(f"memory {self.memory} B > {self.memory_capacity} B")
        for kind, used in self.devices_in_use.items():
            if used > self.devices_capacity.get(kind, 0):
                reasons.append(f"{kind} {used} > {self.devices_capacity.get(kind, 0)}")
        if self.foreign_devices:
            reasons.append(f"PCI devices not in profile {self.profile!r}: {', '.join(self.foreign_devices)}")
        return reasons

    def to_json(self) -> dict[str, Any]:
        cost = None
        if self.cost is not None:
            cost = {
                "total": self.cost.total,
                "feasible": self.cost.feasible,
                "terms": {t.name: {"input": t.input, "value": t.value} for t in self.cost.terms},
            }
        return {
            "host": self.host,
            "profile": self.profile,
            "known": self.known,
            "vms": self.vms,
            "vcpus": {"allocated": self.vcpus, "capacity": self.cores},
            "memory": {"allocated": self.memory, "capacity": self.memory_capacity},
            "devices": {
                k: {"allocated": self.devices_in_use.get(k, 0), "capacity": self.devices_capacity.get(k, 0)}
                for k in sorted({*self.devices_in_use, *self.devices_capacity})
            },
            "foreign_devices": list(self.foreign_devices),
            "over": self.over(),
            "cost": cost,
        }


def fleet_host(host: HostRecord, snapshot: HostSnapshot | None, config: VmConfig) -> FleetHost:
    """The scheduler's view of one host from its live snapshot.

    The scheduling state is the admin state, except that an Enabled host that is not answering is
    exported as No Scheduling (nothing can be placed on a host vmdeck cannot reach), with the real
    reason in `unavailable`, which every explanation gives instead of "host is No Scheduling".
    """
    profile = config.hardware_profiles[host.profile]
    own = {d.addr for d in profile.devices}
    vms = vcpus = memory = 0
    in_use: set[str] = set()
    for dom in snapshot.domains if snapshot else ():
        if not dom.state.holds_resources:
            continue
        vms += 1
        vcpus += dom.vcpus
        memory += dom.memory
        in_use.update(a for a in dom.hostdevs if a in own)
    state, unavailable = host.state, None
    if state is HostState.ENABLED and (snapshot is None or not snapshot.live):
        state, unavailable = HostState.NO_SCHEDULING, unreachable_reason(snapshot)
    return FleetHost(host.name, host.profile, state, vms, vcpus, memory, tuple(sorted(in_use)), unavailable)


def unreachable_reason(snapshot: HostSnapshot | None) -> str:
    """How a host that is not answering is described: "unreachable (STATUS: ERROR)"."""
    status = snapshot.status.value if snapshot else "not polled yet"
    error = f": {snapshot.error}" if snapshot is not None and snapshot.error else ""
    return f"unreachable ({status}{error})"


def allocation(host: HostRecord, snapshot: HostSnapshot | None, config: VmConfig) -> Allocation:
    profile = config.hardware_profiles[host.profile]
    fh = fleet_host(host, snapshot, config)
    load = fh.load(profile)  # the scheduler's own Load: one implementation of the cost inputs
    cost = config.cost_functions[profile.cost_function].explain(load)
    own = {d.addr for d in profile.devices}
    foreign = sorted(
        {
            a
            for d in (snapshot.domains if snapshot else ())
            if d.state.holds_resources
            for a in d.hostdevs
            if a not in own
        }
    )
    return Allocation(
        host=host.name,
        profile=profile.id,
        vms=fh.vms,
        vcpus=fh.vcpus,
        cores=profile.cores,
        memory=fh.memory,
        memory_capacity=profile.memory,
        devices_in_use=dict(load.devices),
        devices_capacity=profile.device_counts(),
        foreign_devices=tuple(foreign),
        cost=cost,
        known=snapshot is not None and snapshot.polled_at is not None,
    )


def live_fleet(hosts: Iterable[HostRecord], snapshots: Mapping[str, HostSnapshot], config: VmConfig) -> Fleet:
    """The whole inventory as a scheduler Fleet (FLEET.json), in host-name order."""
    ordered = sorted(hosts, key=lambda h: h.name)
    return Fleet(tuple(fleet_host(h, snapshots.get(h.name), config) for h in ordered))


def not_actionable(
    record: HostRecord, snapshot: HostSnapshot | None, realm_disabled: bool, connected: bool = True
) -> str | None:
    """Why vmdeck cannot act on this host now (Disabled, in a disabled realm, unreachable), or None.

    The one statement of this rule: actions refuse with it, and the console says it before asking
    for a reason. `connected` is False when the poller holds no open connection to the host.
    """
    name = record.name
    if record.state is HostState.DISABLED:
        return f"host {name!r} is Disabled: vmdeck does not connect to it (enable it first)"
    if realm_disabled:
        return f"host {name!r} is in realm {record.realm!r}, which is disabled"
    if snapshot is None or not snapshot.live or not connected:
        return f"host {name!r} is {unreachable_reason(snapshot)}; try again when it answers"
    return None


def cost_text(cost: CostBreakdown | None) -> str:
    if cost is None:
        return "-"
    return "inf" if math.isinf(cost.total) else f"{cost.total:.6g}"


# --- reconcile ("Fix VMs") ----------------------------------------------------------------------------


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


class FindingKind(StrEnum):
    UNMANAGED = "unmanaged"  # on a host, vmdeck did not start it
    MISSING = "missing"  # vmdeck started it, no reachable host reports it
    MOVED = "moved"  # vmdeck started it on one host, another host reports it
    UNKNOWN = "unknown"  # its host is not reachable: cannot tell
    LEFTOVER = "leftover"  # what a failed or interrupted start left on its host (vmdeck's, not in use)


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
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


def reconcile(managed: Iterable[ManagedVm], snapshots: Mapping[str, HostSnapshot]) -> list[Finding]:
    """Compare vmdeck's records with what connected hosts report; sorted by kind, host, name.

    A VM is only called missing when its host answered: an unreachable host proves nothing.
    Domains are matched by UUID (names can be reused; UUIDs are what libvirt guarantees unique).
    """
    seen: dict[str, tuple[str, DomainFacts]] = {}
    for snap in snapshots.values():
        if snap.live:
            for dom in snap.domains:
                seen[dom.uuid.lower()] = (snap.host, dom)
    findings: list[Finding] = []
    records = {m.uuid.lower(): m for m in managed}
    for uuid, vm in records.items():
        found = seen.get(uuid)
        if found is not None:
            where, dom = found
            if vm.status != "active":
                findings.append(
                    Finding(
                        FindingKind.LEFTOVER,
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
                    Finding(
                        FindingKind.MOVED,
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
                Finding(
                    FindingKind.MISSING,
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
                Finding(
                    FindingKind.UNKNOWN,
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
                Finding(
                    FindingKind.UNMANAGED,
                    uuid,
                    dom.name,
                    where,
                    f"not started by vmdeck ({dom.state.value}, {held}): adopt it or remove it from the host",
                )
            )
    order = list(FindingKind)
    findings.sort(key=lambda f: (order.index(f.kind), f.host, f.name, f.uuid))
    return findings


def hostdev_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Normalise PCI addresses read from domain XML; drop anything that is not one."""
    out = set()
    for addr in addresses:
        try:
            out.add(normalize_pci(addr))
        except ValueError:
            continue
    return tuple(sorted(out))
