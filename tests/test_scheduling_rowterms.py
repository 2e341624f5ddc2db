"""A cost table row is summed on the short path only while its cost function is "plain" (every term
>= 0 or inf, positive scale, finite offset; see tui/core/scheduling/loadterms.py). Cost functions
with negative terms, a zero scale or a NaN-producing term take the checked path: the replay is the
plain loop's either way, for every cost function of a mixed fleet."""

from __future__ import annotations

import math

import pytest

from tests.scheduling_fixtures import GIB
from tests.test_scheduling_properties import plain_replay
from tui.core.costs import CostFunction
from tui.core.curves import Constant, HardSoft, Linear
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import Device, HardwareProfile, VmConfig
from tui.core.scheduling.replay import replay
from tui.core.scheduling.request import Request
from tui.core.scheduling.workload import StartEvent, StopEvent

INF = math.inf
GPUS = tuple(Device("gpu", f"0000:{b:02x}:00.0") for b in range(1, 4))


def _config(odd: CostFunction) -> VmConfig:
    plain = CostFunction(
        "plain",
        vms=Linear(slope=1, base=0),
        vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        memory=Linear(slope=0.1 / GIB, base=0),
        devices={"gpu": Linear(slope=1, base=0, max=3)},
        offset=1000.0,
    )
    profiles = {
        "plain": HardwareProfile("plain", 16, 64 * GIB, "plain", devices=GPUS),
        "odd": HardwareProfile("odd", 16, 64 * GIB, "odd", devices=GPUS[:1]),
    }
    return VmConfig({"plain": plain, "odd": odd}, profiles, {})


ODD = [
    # A negative term: a host gets cheaper as it fills (until its hard limit).
    CostFunction(
        "odd",
        vms=Linear(slope=-2, base=3),
        vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        devices={"gpu": Linear(slope=1, base=0, max=1)},
    ),
    # A zero scale: inf × 0 is NaN, which must cost inf.
    CostFunction("odd", vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32), scale=0.0, offset=3.0),
    # A negative scale and offset: costs below zero, refusals still inf.
    CostFunction(
        "odd",
        memory=Linear(slope=0.3 / GIB, base=0.1, max=48 * GIB),
        devices={"gpu": Constant(value=0.5, max=1)},
        scale=-1.0,
        offset=-0.2,
    ),
]


@pytest.mark.parametrize("odd", ODD, ids=["negative-term", "zero-scale", "negative-scale"])
def test_replay_is_the_plain_loops_with_plain_and_checked_cost_functions(odd: CostFunction) -> None:
    config = _config(odd)
    hosts = tuple(
        FleetHost(f"h{i:02d}", "odd" if i % 3 else "plain", HostState.ENABLED, i % 3, i % 5, (i % 4) * GIB)
        for i in range(18)
    )
    fleet = Fleet(hosts)
    events: list[StartEvent | StopEvent] = []
    for n in range(240):
        devices = (("gpu", 1),) if n % 7 == 0 else ()
        events.append(StartEvent(f"vm{n}", Request(1 + n % 4, (1 + n % 3) * 2 * GIB, devices)))
        if n % 3 == 2:
            events.append(StopEvent(f"vm{n - 2}"))
    result = replay(config, fleet, events)
    got = [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements]
    assert got == plain_replay(config, fleet, events)
    assert result.placed  # both outcomes are exercised
    assert result.rejected
