"""The effect of a config change on every host: each host's cost for a request before and after,
its rank (the scheduler's own order and tie-break), and where the request goes under each config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.core.fleet import Fleet, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState


@dataclass(frozen=True)
class HostChange:
    host: str
    profile: str
    state: HostState
    old_cost: float  # cost for the request before the edits (inf: refused)
    new_cost: float
    old_rank: int | None  # 1 = where the request goes; None = refused
    new_rank: int | None

    @property
    def delta(self) -> float | None:
        if math.isfinite(self.old_cost) and math.isfinite(self.new_cost):
            return self.new_cost - self.old_cost
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "old_cost": self.old_cost,
            "new_cost": self.new_cost,
            "delta": self.delta,
            "old_rank": self.old_rank,
            "new_rank": self.new_rank,
        }


@dataclass(frozen=True)
class Rerank:
    request: Request
    hosts: tuple[HostChange, ...]  # by new rank (refused last), then name
    old_choice: str | None
    new_choice: str | None
    changed_costs: int
    changed_ranks: int

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "old_choice": self.old_choice,
            "new_choice": self.new_choice,
            "changed_costs": self.changed_costs,
            "changed_ranks": self.changed_ranks,
            "hosts": [h.to_json() for h in self.hosts],
        }


def ranks(costs: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """1-based rank of each host by (cost, index); 0 for refused hosts. Index order is name order, so
    this is the scheduler's tie-break: the first rank is exactly `CostEngine.decide`'s choice."""
    order = np.argsort(costs, kind="stable")
    out = np.zeros(costs.shape[0], dtype=np.int64)
    out[order] = np.arange(1, costs.shape[0] + 1)
    out[~np.isfinite(costs)] = 0
    return out


def rerank_costs(
    state: FleetState,
    request: Request,
    old: np.ndarray[Any, np.dtype[np.float64]],
    new: np.ndarray[Any, np.dtype[np.float64]],
) -> Rerank:
    """Compare two cost vectors of the same fleet (indexed as `state`, i.e. by name)."""
    old_rank, new_rank = ranks(old), ranks(new)
    hosts = [
        HostChange(
            state.names[i],
            state.profiles[i].id,
            state.states[i],
            float(old[i]),
            float(new[i]),
            int(old_rank[i]) or None,
            int(new_rank[i]) or None,
        )
        for i in range(state.size)
    ]
    hosts.sort(key=lambda h: (h.new_rank is None, h.new_rank or 0, h.host))
    same = (old == new) | (~np.isfinite(old) & ~np.isfinite(new))
    first_old = next((h.host for h in hosts if h.old_rank == 1), None)
    first_new = next((h.host for h in hosts if h.new_rank == 1), None)
    return Rerank(
        request, tuple(hosts), first_old, first_new, int((~same).sum()), int((old_rank != new_rank).sum())
    )


def request_costs(
    config: VmConfig, fleet: Fleet, request: Request
) -> tuple[FleetState, np.ndarray[Any, np.dtype[np.float64]]]:
    state = FleetState(config, fleet)
    return state, CostEngine(state).evaluate(request)


def rerank(base: VmConfig, edited: VmConfig, fleet: Fleet, request: Request) -> Rerank:
    """Every host's cost for `request` under both configs, and how the ranking moves."""
    state, old = request_costs(base, fleet, request)
    _, new = request_costs(edited, fleet, request)
    return rerank_costs(state, request, old, new)
