"""Property tests: the vectorised engine, the explanation and a plain loop agree exactly.

Random cost functions (every curve type, nested piecewise, max, scale, offsets), fleets (states,
devices in use) and requests; parameters come from small sets so exact ties happen often.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scheduling_fixtures import GIB
from tui.core.costs import CostFunction
from tui.core.curves import Constant, Curve, HardSoft, Invalid, Linear, Piecewise, Unavailable
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import Device, HardwareProfile, VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import explain_request, verdict
from tui.core.scheduling.reference import PlainFleet
from tui.core.scheduling.replay import replay
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState
from tui.core.scheduling.workload import Shape, StartEvent, StopEvent, WorkloadSpec, generate

INF = math.inf
DEVICE_TYPES = ("fpga", "gpu")
ADDRESSES = ("0000:01:00.0", "0000:02:00.0", "0000:03:00.0")
SCALES = st.sampled_from([1.0, 1.0, 0.5, 10.0, 0.1, 3.0])
MAXES = st.sampled_from([None, None, 2.0, 4.0, 16.0])


def curves(unit: float, depth: int = 2) -> st.SearchStrategy[Curve]:
    # Values such as 0.1 and 0.3 make the order of additions matter (0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1).
    amounts = st.sampled_from([0.0, 0.1, 0.3, 1.0, 2.0, 0.5])
    leaves = st.one_of(
        st.builds(Constant, value=amounts, scale=SCALES, max=MAXES),
        st.builds(Invalid),
        st.builds(Unavailable, max=MAXES),
        st.builds(Linear, slope=amounts.map(lambda a: a / unit), base=amounts, scale=SCALES, max=MAXES),
        st.builds(
            lambda soft, gap, sa, ha, scale: HardSoft(
                soft=soft * unit, hard=(soft + gap) * unit, soft_amt=sa, hard_amt=ha, scale=scale
            ),
            st.sampled_from([1, 2, 4, 8]),
            st.sampled_from([1, 2, 8]),
            st.sampled_from([1.0, 4.0, 0.3]),
            st.sampled_from([10.0, 32.0, 0.7]),
            SCALES,
        ),
    )
    if depth == 0:
        return leaves
    return st.one_of(
        leaves,
        st.builds(
            lambda cutoff, low, high: Piecewise(cutoff=cutoff * unit, low=low, high=high),
            st.sampled_from([1, 2, 3, 6]),
            curves(unit, depth - 1),
            curves(unit, depth - 1),
        ),
    )


@st.composite
def cost_function(draw: st.DrawFn, cf_id: str) -> CostFunction:
    devices = {k: draw(curves(1.0, 1)) for k in draw(st.sets(st.sampled_from(DEVICE_TYPES)))}
    return CostFunction(
        cf_id,
        vms=draw(st.none() | curves(1.0)),
        vcpus=draw(st.none() | curves(1.0)),
        memory=draw(st.none() | curves(float(GIB))),
        devices=devices,
        scale=draw(st.sampled_from([1.0, 2.0, 0.1, 0.0])),
        offset=draw(st.sampled_from([0.0, 0.0, 1000.0, 0.2])),
    )


@st.composite
def scenario(draw: st.DrawFn) -> tuple[VmConfig, Fleet]:
    cf_ids = [f"cf{i}" for i in range(draw(st.integers(1, 3)))]
    cfs = {i: draw(cost_function(i)) for i in cf_ids}
    profiles = {}
    for p in range(draw(st.integers(1, 3))):
        addrs = draw(st.lists(st.sampled_from(ADDRESSES), unique=True, max_size=3))
        devices = tuple(Device(draw(st.sampled_from(DEVICE_TYPES)), a) for a in addrs)
        profiles[f"prof{p}"] = HardwareProfile(
            f"prof{p}",
            draw(st.sampled_from([4, 8, 16])),
            draw(st.sampled_from([8, 32])) * GIB,
            draw(st.sampled_from(cf_ids)),
            devices=devices,
        )
    names = draw(st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=8, unique=True))
    hosts = []
    for name in names:
        profile = profiles[draw(st.sampled_from(sorted(profiles)))]
        in_use = draw(st.lists(st.sampled_from([d.addr for d in profile.devices] or ["-"]), unique=True))
        hosts.append(
            FleetHost(
                name,
                profile.id,
                draw(
                    st.sampled_from(
                        [HostState.ENABLED, HostState.ENABLED, HostState.NO_SCHEDULING, HostState.DISABLED]
                    )
                ),
                draw(st.integers(0, 4)),
                draw(st.integers(0, 16)),
                draw(st.integers(0, 32)) * GIB,
                tuple(sorted(a for a in in_use if a != "-")),
            )
        )
    return VmConfig(cfs, profiles, {}), Fleet(tuple(hosts))


requests = st.builds(
    lambda vcpus, mem, devs: Request(vcpus, mem * GIB, tuple(devs.items())),
    st.integers(0, 8),
    st.integers(0, 16),
    st.dictionaries(st.sampled_from(DEVICE_TYPES), st.integers(0, 2), max_size=2),
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenario(), st.lists(requests, min_size=1, max_size=4))
def test_fast_path_equals_explanation_equals_plain_loop(
    case: tuple[VmConfig, Fleet], reqs: list[Request]
) -> None:
    config, fleet = case
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    plain = PlainFleet(config, fleet)
    by_name = {h.name: h for h in plain.hosts}
    for request in reqs:
        fast = engine.evaluate(request)
        for i, name in enumerate(state.names):
            explained = verdict(state, i, request)
            expected = explained.cost if explained.feasible else INF
            assert fast[i] == expected, (name, request, explained)
            assert PlainFleet.cost(by_name[name], request) == expected
            assert engine.host_cost(i, request) == expected
        chosen, cost = engine.decide(request)
        plain_i, plain_cost = plain.place(request)
        placement = explain_request(state, engine, request)
        feasible = [c for c in placement.candidates if c.feasible]
        if plain_i < 0:
            assert chosen < 0
            assert not feasible
            assert not placement.placed
        else:
            assert state.names[chosen] == plain.hosts[plain_i].name == feasible[0].host == placement.host
            assert cost == plain_cost == feasible[0].cost == placement.cost
            # The documented tie-break: no feasible host with the same cost has a lower name.
            assert all(c.host >= placement.host for c in feasible if c.cost == cost)


@st.composite
def workloads(draw: st.DrawFn) -> list[StartEvent | StopEvent]:
    shapes = draw(st.lists(requests, min_size=1, max_size=4))
    events: list[StartEvent | StopEvent] = []
    started: list[str] = []
    running: set[str] = set()
    for n in range(draw(st.integers(1, 40))):
        if running and draw(st.booleans()):
            vm = draw(st.sampled_from(sorted(running)))
            running.discard(vm)
            events.append(StopEvent(vm))
        elif started and draw(st.integers(0, 9)) == 0:
            events.append(StopEvent(draw(st.sampled_from(started + ["ghost"]))))  # unknown/duplicate stop
        else:
            vm = f"vm{n}"
            started.append(vm)
            running.add(vm)
            events.append(StartEvent(vm, draw(st.sampled_from(shapes))))
    return events


def plain_replay(
    config: VmConfig, fleet: Fleet, events: list[StartEvent | StopEvent]
) -> list[tuple[str | None, float, list[str]]]:
    plain = PlainFleet(config, fleet)
    running: dict[str, tuple[int, Request, list[str]]] = {}
    out: list[tuple[str | None, float, list[str]]] = []
    for event in events:
        if isinstance(event, StartEvent):
            i, cost = plain.place(event.request)
            if i < 0:
                out.append((None, INF, []))
                continue
            taken = plain.add(i, event.request)
            running[event.id] = (i, event.request, taken)
            out.append((plain.hosts[i].name, cost, taken))
        elif event.id in running:
            i, request, taken = running.pop(event.id)
            plain.remove(i, request, taken)
    return out


@SETTINGS
@given(scenario(), workloads())
def test_replay_matches_plain_loop_and_cache_matches_fresh_vectors(
    case: tuple[VmConfig, Fleet], events: list[StartEvent | StopEvent]
) -> None:
    config, fleet = case
    result = replay(config, fleet, events)
    expected = plain_replay(config, fleet, events)
    got = [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements]
    assert got == expected
    stops = sum(1 for e in events if isinstance(e, StopEvent))
    assert result.placed + result.rejected == len(events) - stops

    # The per-shape caches, updated host by host, always equal a fresh vectorised evaluation.
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    running = {}
    for event in events:
        if isinstance(event, StartEvent):
            assert list(engine.costs(event.request)) == list(engine.evaluate(event.request))
            i, _ = engine.decide(event.request)
            if i >= 0:
                running[event.id] = state.add(i, event.request)
        elif event.id in running:
            state.remove(running.pop(event.id))
    for request in {e.request for e in events if isinstance(e, StartEvent)}:
        assert list(engine.costs(request)) == list(engine.evaluate(request))


# --- the hard workload: 40 request shapes near capacity, many rejections ------------------------------
HARD_SHAPES = tuple(Shape(v, m * GIB, 1.0) for v in (1, 2, 4, 8, 16) for m in (2, 4, 8, 16, 24, 32, 48, 64))


def hard_scenario(hosts: int, seed: int) -> tuple[VmConfig, Fleet, list[StartEvent | StopEvent]]:
    """The benchmark's hard case in small: hosts start near their limits, VMs live long, 8 % ask for
    two GPUs (only every 10th host has any), some hosts are No Scheduling or unreachable."""
    cf = {
        name: CostFunction(
            name,
            vms=Linear(slope=1, base=0),
            vcpus=HardSoft(soft=32, hard=64, soft_amt=4, hard_amt=32),
            memory=HardSoft(soft=128 * GIB, hard=256 * GIB, scale=10),
            devices={"gpu": Linear(slope=1, base=0, max=4), "fpga": Linear(slope=2, base=0, max=2)},
            offset=offset,
        )
        for name, offset in (("p1", 0.0), ("p2", 1000.0), ("g", 100000.0))
    }
    devices = tuple(Device("gpu", a) for a in ADDRESSES) + (Device("fpga", "0000:10:00.0"),)
    profiles = {
        "p1": HardwareProfile("p1", 32, 256 * GIB, "p1"),
        "p2": HardwareProfile("p2", 32, 256 * GIB, "p2"),
        "g": HardwareProfile("g", 32, 256 * GIB, "g", devices=devices),
    }
    fleet = []
    for i in range(hosts):
        vms = 6 + (i * 7 + seed) % 5
        state = HostState.NO_SCHEDULING if i % 50 == 7 else HostState.ENABLED
        unavailable = "unreachable (test)" if i % 50 == 19 else None
        if unavailable:
            state = HostState.NO_SCHEDULING
        profile = "g" if i % 10 == 0 else ("p1" if i % 2 else "p2")
        fleet.append(
            FleetHost(f"h{i:04d}", profile, state, vms, vms * 6, vms * 22 * GIB, unavailable=unavailable)
        )
    events = generate(
        WorkloadSpec(hosts * 12, 1.0, hosts * 8.0, HARD_SHAPES, gpu_share=0.08, gpus=2, seed=seed)
    )
    return VmConfig(cf, profiles, {}), Fleet(tuple(fleet)), events[: hosts * 16]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_hard_workload_replay_matches_plain_loop_and_counts_match_a_recount(seed: int) -> None:
    config, fleet, events = hard_scenario(120, seed)
    result = replay(config, fleet, events)
    expected = plain_replay(config, fleet, events)
    got = [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements]
    assert got == expected
    starts = result.placed + result.rejected
    assert result.rejected >= 0.10 * starts  # the workload really is hard
    assert len({e.request for e in events if isinstance(e, StartEvent)}) >= 40

    # The kept counts behind each rejection reason equal a count over the hosts at that moment.
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    running = {}
    for event in events:
        if isinstance(event, StopEvent):
            if event.id in running:
                state.remove(running.pop(event.id))
            continue
        i, _ = engine.decide(event.request)
        if i >= 0:
            running[event.id] = state.add(i, event.request)
            continue
        recount = int((state.enabled & ~engine.candidates(event.request)).sum())
        assert state.lacking_devices(event.request) == recount
        assert state.refused_state == sum(1 for s in state.states if s is not HostState.ENABLED)
        assert list(engine.costs(event.request)) == list(engine.evaluate(event.request))


def test_replay_is_unchanged_when_the_interned_loads_start_afresh(monkeypatch) -> None:
    """A long replay re-interns its loads when there are too many: the decisions do not change."""
    from tui.core.scheduling import state as state_module

    config, fleet, events = hard_scenario(60, 7)
    expected = plain_replay(config, fleet, events)
    monkeypatch.setattr(state_module, "INTERN_LIMIT", 80)  # many restarts in this replay
    result = replay(config, fleet, events)
    assert [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements] == expected


def test_replay_is_unchanged_when_the_cost_matrix_is_full_or_its_table_starts_afresh(monkeypatch) -> None:
    """Shapes past the matrix's limit are evaluated whole per decision, and a table over its limit
    interns the loads afresh: neither changes a decision."""
    from tui.core.scheduling import loadcosts, matrix

    config, fleet, events = hard_scenario(60, 3)
    expected = plain_replay(config, fleet, events)
    monkeypatch.setattr(matrix, "MATRIX_LIMIT", 60 * 3)  # 3 of the 40+ shapes get a row
    monkeypatch.setattr(loadcosts, "TABLE_LIMIT", 3 * 100)  # 3 columns: afresh past 100 loads
    result = replay(config, fleet, events)
    assert [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements] == expected


@SETTINGS
@given(scenario(), workloads())
def test_two_engines_on_one_state_both_follow_every_change(
    case: tuple[VmConfig, Fleet], events: list[StartEvent | StopEvent]
) -> None:
    """Engines share the state's change log; each one's rows stay equal to a fresh evaluation."""
    config, fleet = case
    state = FleetState(config, fleet)
    first, second = CostEngine(state), CostEngine(state)
    running = {}
    for n, event in enumerate(events):
        engine = first if n % 3 else second
        if isinstance(event, StartEvent):
            i, cost = engine.decide(event.request)
            fresh = engine.evaluate(event.request)
            assert list(first.costs(event.request)) == list(fresh) == list(second.costs(event.request))
            if i >= 0:
                assert cost == fresh[i] == fresh.min()
                running[event.id] = state.add(i, event.request)
            else:
                assert fresh.min() == INF
        elif event.id in running:
            state.remove(running.pop(event.id))


def test_block_minima_give_the_same_decisions(monkeypatch) -> None:
    """Large fleets keep per-block minima (here forced on 60 hosts in blocks of 7, the last one
    padded): decisions, ties and rejections are the plain loop's, and every row is exact."""
    from tui.core.scheduling import matrix

    monkeypatch.setattr(matrix, "BLOCKED_FROM", 1)
    monkeypatch.setattr(matrix, "BLOCK", 7)
    config, fleet, events = hard_scenario(60, 11)
    expected = plain_replay(config, fleet, events)
    result = replay(config, fleet, events)
    assert [(p.host, p.cost if p.host else INF, list(p.devices)) for p in result.placements] == expected
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    assert engine._matrix.block == 7
    running = {}
    for event in events[:300]:
        if isinstance(event, StartEvent):
            assert list(engine.costs(event.request)) == list(engine.evaluate(event.request))
            i, _ = engine.decide(event.request)
            if i >= 0:
                running[event.id] = state.add(i, event.request)
        elif event.id in running:
            state.remove(running.pop(event.id))
