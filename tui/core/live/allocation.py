"""What a host's live domains hold against its hardware profile (allocation and cost), the live
fleet as the scheduler's `Fleet` (the FLEET export: a live fleet is usable wherever a FLEET.json is),
and the one rule of when vmdeck cannot act on a host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.costs import CostBreakdown
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.hosts import HostRecord
from tui.core.live.snapshots import HostSnapshot
from tui.core.model import VmConfig


@dataclass(frozen=True)
class HostAllocation:
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


def allocation(host: HostRecord, snapshot: HostSnapshot | None, config: VmConfig) -> HostAllocation:
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
    return HostAllocation(
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
