"""Replays for the what-if lab: one workload under every policy side by side, and A/B of two configs.

The replays themselves are the scheduler's (`scheduling.replay`, `scheduling.compare`); this module
only summarises them the way the lab shows them: placed, rejected, utilisation per host and for the
fleet, and how many hosts were in use (at the end, at the peak, and ever touched).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.fleet import Fleet
from tui.core.model import VmConfig
from tui.core.scheduling.compare import Comparison, compare
from tui.core.scheduling.policies import POLICIES
from tui.core.scheduling.replay import ReplayResult, replay
from tui.core.scheduling.workload import Event, StartEvent


@dataclass(frozen=True)
class HostUse:
    host: str
    profile: str
    vms: int
    vcpus: int
    cores: int
    memory: int
    capacity: int

    @property
    def vcpu_share(self) -> float:
        return self.vcpus / self.cores if self.cores else 0.0

    @property
    def memory_share(self) -> float:
        return self.memory / self.capacity if self.capacity else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "vms": self.vms,
            "vcpus": self.vcpus,
            "cores": self.cores,
            "memory": self.memory,
            "capacity": self.capacity,
            "vcpu_share": self.vcpu_share,
            "memory_share": self.memory_share,
        }


@dataclass(frozen=True)
class PolicyRun:
    result: ReplayResult
    hosts: tuple[HostUse, ...]  # final load, fleet order
    hosts_in_use: int  # at the end
    peak_hosts_in_use: int  # the most hosts running VMs at once
    hosts_touched: int  # hosts that received at least one VM

    @property
    def policy(self) -> str:
        return self.result.policy

    def to_json(self, placements: bool = False) -> dict[str, Any]:
        r = self.result
        out: dict[str, Any] = r.summary() | {
            "hosts_in_use": self.hosts_in_use,
            "peak_hosts_in_use": self.peak_hosts_in_use,
            "hosts_touched": self.hosts_touched,
            "hosts": [h.to_json() for h in self.hosts],
        }
        if placements:
            out["placements"] = [p.to_json() for p in r.placements]
        return out


def host_use(config: VmConfig, result: ReplayResult) -> tuple[HostUse, ...]:
    out = []
    for h in result.hosts:
        profile = config.hardware_profiles[str(h["profile"])]
        out.append(
            HostUse(
                str(h["name"]),
                profile.id,
                int(h["vms"]),
                int(h["vcpus"]),
                profile.cores,
                int(h["memory"]),
                profile.memory,
            )
        )
    return tuple(out)


def occupancy(fleet: Fleet, events: Sequence[Event], result: ReplayResult) -> tuple[int, int]:
    """(peak hosts running VMs at once, hosts that received a VM), from the replay's own decisions.

    Walks the events beside the placements (one per start, in order), so no placement is redone."""
    running: Counter[str] = Counter({h.name: h.vms for h in fleet.hosts if h.vms})
    where: dict[str, str] = {}
    touched: set[str] = set()
    busy = peak = len(running)
    records = iter(result.placements)
    for event in events:
        if isinstance(event, StartEvent):
            record = next(records)
            if record.host is None:
                continue
            where[event.id] = record.host
            touched.add(record.host)
            running[record.host] += 1
            if running[record.host] == 1:
                busy += 1
                peak = max(peak, busy)
        else:
            host = where.pop(event.id, None)
            if host is not None:
                running[host] -= 1
                if running[host] == 0:
                    busy -= 1
    return peak, len(touched)


def run_policy(config: VmConfig, fleet: Fleet, events: Sequence[Event], policy: str) -> PolicyRun:
    result = replay(config, fleet, events, policy)
    peak, touched = occupancy(fleet, events, result)
    hosts = host_use(config, result)
    return PolicyRun(result, hosts, sum(1 for h in hosts if h.vms), peak, touched)


@dataclass(frozen=True)
class PolicyTable:
    events: int
    runs: tuple[PolicyRun, ...]

    def run(self, policy: str) -> PolicyRun:
        return next(r for r in self.runs if r.policy == policy)

    def to_json(self, placements: bool = False) -> dict[str, Any]:
        return {"events": self.events, "policies": [r.to_json(placements) for r in self.runs]}


def replay_policies(
    config: VmConfig, fleet: Fleet, events: Sequence[Event], policies: Sequence[str] = POLICIES
) -> PolicyTable:
    """The same workload under each policy (the cost policy and the reference policies)."""
    events = list(events)
    return PolicyTable(len(events), tuple(run_policy(config, fleet, events, p) for p in policies))


# --- A/B -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AbResult:
    comparison: Comparison
    hosts_a: tuple[HostUse, ...]
    hosts_b: tuple[HostUse, ...]

    def to_json(self) -> dict[str, Any]:
        data = self.comparison.to_json()
        data["hosts"] = [
            {
                "host": a.host,
                "a": {"vms": a.vms, "vcpu_share": a.vcpu_share, "memory_share": a.memory_share},
                "b": {"vms": b.vms, "vcpu_share": b.vcpu_share, "memory_share": b.memory_share},
            }
            for a, b in zip(self.hosts_a, self.hosts_b, strict=True)
        ]
        return data


def ab_replay(
    config_a: VmConfig, config_b: VmConfig, fleet: Fleet, events: Sequence[Event], policy: str = "cost"
) -> AbResult:
    """The scheduler's A/B (`compare`) with each host's utilisation under A and under B."""
    comparison = compare(config_a, config_b, fleet, list(events), policy)
    return AbResult(comparison, host_use(config_a, comparison.a), host_use(config_b, comparison.b))
