"""A/B: the same workload replayed under two configs (or two policies), decision by decision.

A decision differs when the VM lands on another host or is placed under one side and rejected under
the other. Once one decision differs the fleets diverge, so later differences are consequences as
much as causes: the list is in event order to make the first one easy to find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.fleet import Fleet
from tui.core.model import VmConfig
from tui.core.scheduling.replay import PlacementRecord, ReplayResult, replay
from tui.core.scheduling.workload import Event


@dataclass(frozen=True)
class Difference:
    id: str
    a: PlacementRecord
    b: PlacementRecord

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "a": {"host": self.a.host, "cost": self.a.cost, "reason": self.a.reason},
            "b": {"host": self.b.host, "cost": self.b.cost, "reason": self.b.reason},
        }


@dataclass(frozen=True)
class Comparison:
    a: ReplayResult
    b: ReplayResult
    differences: tuple[Difference, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "decisions": len(self.a.placements),
            "differ": len(self.differences),
            "a": self.a.summary(),
            "b": self.b.summary(),
            "differences": [d.to_json() for d in self.differences],
        }


def diff(a: ReplayResult, b: ReplayResult) -> tuple[Difference, ...]:
    return tuple(
        Difference(x.id, x, y) for x, y in zip(a.placements, b.placements, strict=True) if x.host != y.host
    )


def compare(
    config_a: VmConfig,
    config_b: VmConfig,
    fleet: Fleet,
    events: Sequence[Event],
    policy_a: str = "cost",
    policy_b: str | None = None,
) -> Comparison:
    first = replay(config_a, fleet, events, policy_a)
    second = replay(config_b, fleet, events, policy_b or policy_a)
    return Comparison(first, second, diff(first, second))
