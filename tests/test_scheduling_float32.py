"""The cost matrix keeps float32 rows only while every cost is exactly a float32: the decisions and
the costs printed are the plain loop's either way, including when exactness is lost mid-replay."""

from __future__ import annotations

import math

import numpy as np

from tests.scheduling_fixtures import GIB
from tests.test_scheduling_properties import hard_scenario, plain_replay
from tui.core.costs import CostFunction
from tui.core.curves import Constant, Linear, Piecewise
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.replay import replay
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState
from tui.core.scheduling.workload import StartEvent, StopEvent

INF = math.inf


def _scenario() -> tuple[VmConfig, Fleet]:
    """Whole-number costs until a host runs more than 4 vCPUs; past that the vCPU term is 0.1 (not a
    float32), so the costs stop being exact float32s only once hosts fill up."""
    cf = CostFunction(
        "cf",
        vms=Linear(slope=1, base=0),
        vcpus=Piecewise(cutoff=4, low=Linear(slope=1, base=0), high=Constant(value=0.1)),
        memory=Linear(slope=1 / GIB, base=0),
    )
    profile = HardwareProfile("p", 16, 64 * GIB, "cf")
    hosts = tuple(
        FleetHost(f"h{i:02d}", "p", HostState.NO_SCHEDULING if i == 3 else HostState.ENABLED, 0, 0, 0)
        for i in range(12)
    )
    return VmConfig({"cf": cf}, {"p": profile}, {}), Fleet(hosts)


def test_rows_turn_float64_when_a_cost_stops_being_exact() -> None:
    config, fleet = _scenario()
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    small = Request(1, GIB)
    i, cost = engine.decide(small)
    assert engine.matrix._costs.dtype == np.float32
    assert (i, cost) == (0, 3.0)  # 1 + 1 + 1 on every Enabled host: the first name wins the tie
    running = [state.add(i, small)]
    for _ in range(30):  # fill the hosts past 4 vCPUs: 0.1 appears
        i, cost = engine.decide(Request(2, 2 * GIB))
        assert cost == float(engine.evaluate(Request(2, 2 * GIB)).min())
        running.append(state.add(i, Request(2, 2 * GIB)))
    assert engine.matrix._costs.dtype == np.float64
    for request in (small, Request(2, 2 * GIB), Request(3, GIB)):
        assert list(engine.costs(request)) == list(engine.evaluate(request))
    for allocation in running[::2]:
        state.remove(allocation)
    assert list(engine.costs(small)) == list(engine.evaluate(small))


def test_replay_is_the_plain_loops_when_exactness_is_lost_midway() -> None:
    config, fleet = _scenario()
    events: list[StartEvent | StopEvent] = []
    for n in range(60):
        events.append(StartEvent(f"vm{n}", Request(1 + n % 3, (1 + n % 2) * GIB)))
        if n % 4 == 3:
            events.append(StopEvent(f"vm{n - 2}"))
    result = replay(config, fleet, events)
    got = [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements]
    assert got == plain_replay(config, fleet, events)
    assert any(p.cost is not None and float(np.float32(p.cost)) != p.cost for p in result.placements)


def test_exact_costs_keep_float32_rows_with_the_plain_loops_decisions() -> None:
    config, fleet, events = hard_scenario(60, 5)  # whole numbers and binary fractions only
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    running = {}
    for event in events[:400]:
        if isinstance(event, StartEvent):
            i, cost = engine.decide(event.request)
            fresh = engine.evaluate(event.request)
            assert engine.costs(event.request).dtype == np.float64
            assert list(engine.costs(event.request)) == list(fresh)
            if i >= 0:
                assert type(cost) is float
                assert cost == fresh[i] == fresh.min()
                running[event.id] = state.add(i, event.request)
        elif event.id in running:
            state.remove(running.pop(event.id))
    assert engine.matrix._costs.dtype == np.float32
    result = replay(config, fleet, events)
    expected = plain_replay(config, fleet, events)
    assert [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements] == expected
