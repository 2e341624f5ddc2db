"""Headroom: how many more VMs of one shape fit, per host (alone) and in the whole fleet.

A host's headroom counts identical requests added to it alone until the first one it refuses; the
reason names what stops it first (state, devices, or the term that turns infinite and at which
input). The fleet's headroom places identical requests with the cost policy until the first
rejection. Each host then takes exactly its own headroom, since it sees the same sequence of loads;
the fill is nevertheless computed by placing, so it also shows the order hosts fill in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.core.fleet import Fleet, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import term_reason
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState

DEFAULT_HOST_LIMIT = 1000
DEFAULT_FLEET_LIMIT = 100_000


@dataclass(frozen=True)
class HostHeadroom:
    host: str
    profile: str
    state: HostState
    fits: int  # more VMs of this shape the host takes alone
    capped: bool  # the count reached the limit: nothing refused so far
    stop: str | None  # what refuses the next one
    fleet: int  # how many it took in the fleet-wide fill

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "fits": self.fits,
            "capped": self.capped,
            "stop": self.stop,
            "fleet": self.fleet,
        }


@dataclass(frozen=True)
class Headroom:
    request: Request
    hosts: tuple[HostHeadroom, ...]
    fleet_total: int
    fleet_capped: bool
    fill_order: tuple[str, ...]  # the first hosts chosen in the fill, in order (at most 50)

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "fleet": {
                "fits": self.fleet_total,
                "capped": self.fleet_capped,
                "fill_order": list(self.fill_order),
            },
            "hosts": [h.to_json() for h in self.hosts],
        }


def headroom(
    config: VmConfig,
    fleet: Fleet,
    request: Request,
    host_limit: int = DEFAULT_HOST_LIMIT,
    fleet_limit: int = DEFAULT_FLEET_LIMIT,
) -> Headroom:
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    fits = np.zeros(state.size, dtype=np.int64)
    alive = np.ones(state.size, dtype=np.bool_)
    copies = 0
    # Vectorised: the k-th copy is feasible on each host still alive; stop at the first refusal.
    while alive.any() and copies < host_limit:
        copies += 1
        feasible = engine.evaluate(request, copies) != np.inf
        alive &= feasible
        fits += alive
    filled, order, capped = _fill(FleetState(config, fleet), request, fleet_limit)
    hosts = []
    for i in range(state.size):
        n = int(fits[i])
        capped_host = n >= host_limit
        stop = None if capped_host else _stop_reason(state, i, request, n + 1)
        hosts.append(
            HostHeadroom(
                state.names[i], state.profiles[i].id, state.states[i], n, capped_host, stop, filled.get(i, 0)
            )
        )
    by_fleet_order = tuple(hosts[int(i)] for i in state.fleet_order)
    names = tuple(state.names[i] for i in order)
    return Headroom(request, by_fleet_order, sum(filled.values()), capped, names)


def _fill(state: FleetState, request: Request, limit: int) -> tuple[Counter[int], list[int], bool]:
    engine = CostEngine(state)
    taken: Counter[int] = Counter()
    order: list[int] = []
    for _ in range(limit):
        i, _cost = engine.decide(request)
        if i < 0:
            return taken, order, False
        state.add(i, request)
        taken[i] += 1
        if len(order) < 50:
            order.append(i)
    return taken, order, True


def _stop_reason(state: FleetState, i: int, request: Request, copies: int) -> str:
    """Why host i refuses the `copies`-th identical request."""
    refusal = state.refusal(i)
    if refusal is not None:
        return refusal
    for kind, count in request.devices:
        free = len(state.free_addrs[i].get(kind, ()))
        if free < count * copies:
            return f"{kind}: {free} free, {count} needed per VM"
    load = state.load(i)
    for _ in range(copies):
        load = load.plus(request.vcpus, request.memory, request.device_map)
    breakdown = state.cost_functions[i].explain(load)
    term = breakdown.first_infinite()
    return term_reason(term) if term is not None else f"total is {breakdown.total}"
