"""Placement policies for replays: the cost policy and the reference policies admins compare it with.

`cost` is the tiCrypt rule (lowest cost-function total, ties to the lowest name). The reference
policies ignore cost functions and treat the profile's cores, memory and devices as hard limits (no
overcommit); all of them skip hosts that are not Enabled:
- `first-fit`: the first host in fleet order that fits (virtdc's `is_space_available_for_vm`);
- `best-fit`: the host left with the least free memory, ties to the lowest name;
- `spread`: the host left with the most free memory, ties to the lowest name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from tui.core.curves import INF
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import BoolArray, FleetState, FloatArray

POLICIES: tuple[str, ...] = ("cost", "first-fit", "best-fit", "spread")


class Policy(ABC):
    name: str

    def __init__(self, state: FleetState, engine: CostEngine) -> None:
        self.state = state
        self.engine = engine

    @abstractmethod
    def choose(self, request: Request) -> tuple[int, float]:
        """(host index, cost-function total there) or (-1, inf) when the request is rejected."""


class CostPolicy(Policy):
    name = "cost"

    def choose(self, request: Request) -> tuple[int, float]:
        return self.engine.decide(request)


class _HardLimitPolicy(Policy):
    def fits(self, request: Request) -> BoolArray:
        """Enabled hosts with free cores, memory and devices for the request (no overcommit)."""
        state = self.state
        mask = self.engine.candidates(request)
        mask &= state.vcpus + request.vcpus <= state.cores
        mask &= state.memory + request.memory <= state.capacity
        return mask

    def choose(self, request: Request) -> tuple[int, float]:
        i = self.pick(request)
        # The cost the cost function would have charged there: shows what the policy trades away.
        return (i, self.engine.host_cost(i, request)) if i >= 0 else (-1, INF)

    @abstractmethod
    def pick(self, request: Request) -> int: ...

    def _lowest(self, mask: BoolArray, score: FloatArray) -> int:
        # Hosts are in name order, so argmin's first minimum is the lowest name among equal scores.
        ranked = np.where(mask, score, INF)
        i = int(ranked.argmin())
        return i if mask[i] else -1


class FirstFit(_HardLimitPolicy):
    name = "first-fit"

    def pick(self, request: Request) -> int:
        in_fleet_order = self.fits(request)[self.state.fleet_order]
        if not in_fleet_order.size:
            return -1
        j = int(in_fleet_order.argmax())
        return int(self.state.fleet_order[j]) if in_fleet_order[j] else -1


class BestFit(_HardLimitPolicy):
    name = "best-fit"

    def pick(self, request: Request) -> int:
        if not self.state.size:
            return -1
        left = self.state.capacity - (self.state.memory + request.memory)
        return self._lowest(self.fits(request), left)


class Spread(_HardLimitPolicy):
    name = "spread"

    def pick(self, request: Request) -> int:
        if not self.state.size:
            return -1
        left = self.state.capacity - (self.state.memory + request.memory)
        return self._lowest(self.fits(request), -left)


def make_policy(name: str, state: FleetState, engine: CostEngine) -> Policy:
    classes: dict[str, type[Policy]] = {
        "cost": CostPolicy,
        "first-fit": FirstFit,
        "best-fit": BestFit,
        "spread": Spread,
    }
    if name not in classes:
        raise ValueError(f"unknown policy {name!r} (expected one of: {', '.join(POLICIES)})")
    return classes[name](state, engine)
