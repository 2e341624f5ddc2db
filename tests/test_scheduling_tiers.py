"""Cost-function groups side by side in the cost rows, searched by their bounds (`scheduling.tiers`):
decisions stay the plain loop's, ties across groups included, whichever group holds the cheapest host.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scheduling_fixtures import GIB
from tests.test_scheduling_properties import plain_replay
from tui.core.costs import CostFunction
from tui.core.curves import HardSoft, Linear
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.replay import replay
from tui.core.scheduling.state import FleetState
from tui.core.scheduling.workload import Shape, StartEvent, StopEvent, WorkloadSpec, generate

INF = math.inf
SHAPES = tuple(Shape(v, m * GIB, 1.0) for v in (1, 2, 4) for m in (2, 8, 16))


def tiered(offsets: tuple[float, ...], hosts: int) -> tuple[VmConfig, Fleet]:
    """One cost function per offset (equal curves, distinct objects: distinct groups), the hosts
    dealt round-robin, so every group's columns interleave in name order."""
    cfs = {
        f"cf{g}": CostFunction(
            f"cf{g}",
            vms=Linear(slope=1, base=0),
            vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
            memory=HardSoft(soft=32 * GIB, hard=64 * GIB, scale=2),
            offset=offset,
        )
        for g, offset in enumerate(offsets)
    }
    profiles = {f"p{g}": HardwareProfile(f"p{g}", 16, 64 * GIB, f"cf{g}") for g in range(len(offsets))}
    fleet = tuple(
        FleetHost(
            f"h{i:03d}",
            f"p{i % len(offsets)}",
            HostState.NO_SCHEDULING if i % 13 == 5 else HostState.ENABLED,
            i % 3,
            (i % 3) * 2,
            (i % 3) * 4 * GIB,
        )
        for i in range(hosts)
    )
    return VmConfig(cfs, profiles, {}), Fleet(fleet)


def events(hosts: int, seed: int) -> list[StartEvent | StopEvent]:
    return generate(WorkloadSpec(hosts * 8, 1.0, hosts * 3.0, SHAPES, seed=seed))[: hosts * 10]


def decisions(config: VmConfig, fleet: Fleet, stream: list[StartEvent | StopEvent]) -> list[object]:
    return [
        (p.host, p.cost if p.host else INF, list(p.devices)) for p in replay(config, fleet, stream).placements
    ]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([0.0, 0.0, 3.0, 1000.0, 5.0]), min_size=2, max_size=4).map(tuple),
    st.integers(0, 1000),
)
def test_tiers_decide_as_the_plain_loop(offsets: tuple[float, ...], seed: int) -> None:
    """Equal offsets tie every cost across groups (the lower index must win, though its group's
    columns come later); overlapping offsets make a decision search several groups; the fleet fills up
    until shapes are rejected."""
    config, fleet = tiered(offsets, 40)
    stream = events(40, seed)
    assert decisions(config, fleet, stream) == plain_replay(config, fleet, stream)


@pytest.mark.parametrize("offsets", [(1000.0, 0.0), (0.0, 1000.0, 0.0), (5.0, 3.0, 0.0)])
def test_cheapest_group_last_in_column_order_still_wins_and_rows_read_back_in_host_order(
    offsets: tuple[float, ...],
) -> None:
    config, fleet = tiered(offsets, 30)
    stream = events(30, 5)
    assert decisions(config, fleet, stream) == plain_replay(config, fleet, stream)
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    assert engine.matrix._tiers is not None
    assert engine.matrix._tiers.groups == len(offsets)
    for event in stream[:200]:
        if isinstance(event, StartEvent):
            # The rows are kept in column order; the vector a caller gets is in host order.
            assert list(engine.costs(event.request)) == list(engine.evaluate(event.request))
            i, _ = engine.decide(event.request)
            if i >= 0:
                state.add(i, event.request)
