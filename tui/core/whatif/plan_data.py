"""A what-if plan as data: each `Move` with the costs of its source and target before and after, the
VMs that cannot move (`Stuck`), every host's load and the fleet's cost before and after (`Plan`).
The rules that make plans are in plans.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tui.core.curves import INF
from tui.core.fleet import HostState


@dataclass(frozen=True)
class Move:
    vm: str
    vcpus: int
    memory: int
    source: str
    target: str
    source_before: float
    source_after: float
    target_before: float
    target_after: float  # also the scheduler's placement cost for this VM on the target

    @property
    def delta(self) -> float:
        """Change of the fleet's finite total cost (an overloaded source made feasible: -inf)."""
        if not math.isfinite(self.source_before):
            return -INF if math.isfinite(self.source_after) else self.target_after - self.target_before
        return (self.source_after - self.source_before) + (self.target_after - self.target_before)

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.vm,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "from": self.source,
            "to": self.target,
            "source_cost": {"before": self.source_before, "after": self.source_after},
            "target_cost": {"before": self.target_before, "after": self.target_after},
            "delta": self.delta,
        }


@dataclass(frozen=True)
class Stuck:
    vm: str
    host: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"vm": self.vm, "host": self.host, "reason": self.reason}


@dataclass(frozen=True)
class HostLoad:
    host: str
    profile: str
    state: HostState
    vms: int
    vcpus: int
    cores: int
    memory: int
    capacity: int
    cost: float

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "vms": self.vms,
            "vcpus": self.vcpus,
            "cores": self.cores,
            "memory": self.memory,
            "capacity": self.capacity,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class FleetCost:
    total: float  # sum of finite host costs
    infinite: int  # hosts whose current cost is infinite
    in_use: int  # hosts running at least one VM

    def key(self) -> tuple[int, float]:
        return (self.infinite, self.total)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "infinite_hosts": self.infinite, "hosts_in_use": self.in_use}


@dataclass(frozen=True)
class Plan:
    kind: str  # "drain", "rebalance" or "consolidate"
    moves: tuple[Move, ...]
    unmovable: tuple[Stuck, ...]
    emptied: tuple[str, ...]  # hosts the plan leaves without VMs
    before: FleetCost
    after: FleetCost
    hosts_before: tuple[HostLoad, ...]  # in fleet order
    hosts_after: tuple[HostLoad, ...]
    notes: tuple[str, ...]  # why the plan stopped, hosts whose VMs are unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "moves": [m.to_json() for m in self.moves],
            "unmovable": [s.to_json() for s in self.unmovable],
            "emptied": list(self.emptied),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "hosts_before": [h.to_json() for h in self.hosts_before],
            "hosts_after": [h.to_json() for h in self.hosts_after],
            "notes": list(self.notes),
        }
