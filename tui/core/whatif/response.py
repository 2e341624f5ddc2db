"""Load response: how each host's cost grows as identical VMs are added, and where the next N land.

Everything is the scheduler's own arithmetic: the cost after k identical VMs is `CostEngine.evaluate(
request, copies=k)` (the same vectorised rule placement uses), the per-host and fleet headroom and the
reason that stops each host are `scheduling.headroom`, and the next placements are `CostEngine.decide`
with each VM added before the next is placed. Nothing here re-states a placement rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.core.fleet import Fleet, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import rejection_reason
from tui.core.scheduling.headroom import Headroom, headroom
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState

DEFAULT_STEPS = 16
DEFAULT_NEXT = 10


@dataclass(frozen=True)
class HostResponse:
    host: str
    profile: str
    state: HostState
    costs: tuple[float, ...]  # the host's total after 1..steps identical VMs (inf once refused)
    infinite_at: int | None  # the first step that costs inf (None: all `steps` are finite)
    fits: int  # headroom: how many more this host takes alone
    capped: bool  # headroom reached its limit before any refusal
    stop: str | None  # what refuses the next one (headroom's reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "costs": list(self.costs),
            "infinite_at": self.infinite_at,
            "fits": self.fits,
            "capped": self.capped,
            "stop": self.stop,
        }


@dataclass(frozen=True)
class NextPlacement:
    step: int  # 1-based: the n-th VM of this shape from now
    host: str | None
    cost: float | None
    reason: str | None  # why it is rejected (then host and cost are None)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "host": self.host, "cost": self.cost, "reason": self.reason}


@dataclass(frozen=True)
class LoadResponse:
    request: Request
    steps: int
    hosts: tuple[HostResponse, ...]  # in fleet order
    next: tuple[NextPlacement, ...]  # stops after the first rejection
    fleet_fits: int
    fleet_capped: bool
    fill_order: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "steps": self.steps,
            "fleet": {
                "fits": self.fleet_fits,
                "capped": self.fleet_capped,
                "fill_order": list(self.fill_order),
            },
            "next": [p.to_json() for p in self.next],
            "hosts": [h.to_json() for h in self.hosts],
        }


def cost_matrix(state: FleetState, request: Request, steps: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(steps × hosts): row k-1 is every host's total after k identical VMs; hosts in name order."""
    engine = CostEngine(state)
    if steps < 1 or not state.size:
        return np.zeros((max(steps, 0), state.size), dtype=np.float64)
    return np.vstack([engine.evaluate(request, copies=k) for k in range(1, steps + 1)])


def next_placements(state: FleetState, request: Request, count: int) -> list[NextPlacement]:
    """Place `count` identical VMs in turn (each counted before the next); mutates `state`."""
    engine = CostEngine(state)
    out: list[NextPlacement] = []
    for step in range(1, count + 1):
        i, cost = engine.decide(request)
        if i < 0:
            out.append(NextPlacement(step, None, None, rejection_reason(state, engine, request)))
            break
        state.add(i, request)
        out.append(NextPlacement(step, state.names[i], cost, None))
    return out


def load_response(
    config: VmConfig,
    fleet: Fleet,
    request: Request,
    steps: int = DEFAULT_STEPS,
    next_count: int = DEFAULT_NEXT,
    host_limit: int = 1000,
    fleet_limit: int = 100_000,
) -> LoadResponse:
    """The load-response view for one request shape (see the module docstring)."""
    if steps < 1 or next_count < 0:
        raise ValueError("steps must be >= 1 and the number of next placements >= 0")
    state = FleetState(config, fleet)
    matrix = cost_matrix(state, request, steps)
    room: Headroom = headroom(config, fleet, request, host_limit, fleet_limit)
    by_name = {h.host: h for h in room.hosts}
    hosts: list[HostResponse] = []
    for index in state.fleet_order:
        i = int(index)
        column = matrix[:, i]
        infinite = np.flatnonzero(~np.isfinite(column))
        hr = by_name[state.names[i]]
        hosts.append(
            HostResponse(
                state.names[i],
                state.profiles[i].id,
                state.states[i],
                tuple(float(v) if math.isfinite(v) else math.inf for v in column),
                int(infinite[0]) + 1 if infinite.size else None,
                hr.fits,
                hr.capped,
                hr.stop,
            )
        )
    upcoming = next_placements(FleetState(config, fleet), request, next_count)
    return LoadResponse(
        request, steps, tuple(hosts), tuple(upcoming), room.fleet_total, room.fleet_capped, room.fill_order
    )
