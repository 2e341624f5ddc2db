"""Load response, plans (drain, rebalance, consolidation), replays and A/B, on the seed config and
random fleets with VM lists."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scheduling_fixtures import GIB, seed_config
from tui.core.costs import Load
from tui.core.fleet import Fleet, FleetError, FleetHost, HostState
from tui.core.model import VmConfig
from tui.core.scheduling import CostEngine, FleetState, Request, replay
from tui.core.scheduling.workload import WorkloadSpec, generate
from tui.core.whatif import (
    FleetModel,
    Plan,
    ab_replay,
    add_hosts,
    consolidation_plan,
    drain_preview,
    load_response,
    rebalance_plan,
    remove_hosts,
    replay_policies,
)

GPU = "0000:01:02.0"


def _vm(vm_id: str, vcpus: int, gib: int, devices: tuple[str, ...] = ()) -> dict[str, object]:
    return {"id": vm_id, "vcpus": vcpus, "memory": gib * GIB, "devices": list(devices)}


def small_model() -> FleetModel:
    return FleetModel.from_json(
        {
            "hosts": [
                {
                    "name": "p1-a",
                    "profile": "pool1",
                    "vm_list": [_vm("a1", 6, 12), _vm("a2", 4, 8), _vm("a3", 2, 4)],
                },
                {"name": "p1-b", "profile": "pool1", "vm_list": [_vm("b1", 1, 2)]},
                {"name": "p1-c", "profile": "pool1", "vm_list": []},
                {"name": "p2-a", "profile": "pool2", "vm_list": [_vm("c1", 1, 2)]},
                {"name": "gpu-a", "profile": "nvidia-gpu-node", "vm_list": [_vm("g1", 2, 4, (GPU,))]},
                {"name": "p2-x", "profile": "pool2", "vms": 2, "vcpus": 4, "memory": "8 GiB"},
            ]
        },
        seed_config(),
    )


def host_total(config: VmConfig, fleet: Fleet) -> tuple[int, float]:
    """Independent reference: (# infinite hosts, sum of finite costs of hosts running VMs)."""
    infinite, total = 0, 0.0
    for h in fleet.hosts:
        if h.vms == 0:
            continue
        profile = config.hardware_profiles[h.profile]
        cost = config.cost_function_of(h.profile).explain(h.load(profile)).total
        if math.isfinite(cost):
            total += cost
        else:
            infinite += 1
    return infinite, total


def apply(model: FleetModel, plan: Plan) -> dict[str, list[str]]:
    where = {h: [v.id for v in vms] for h, vms in model.vms.items()}
    for move in plan.moves:
        where[move.source].remove(move.vm)
        where[move.target].append(move.vm)
    return where


# --- fleet model ----------------------------------------------------------------------------------------
def test_vm_lists_give_the_host_totals() -> None:
    model = small_model()
    a = model.fleet.by_name()["p1-a"]
    assert (a.vms, a.vcpus, a.memory) == (3, 12, 24 * GIB)
    assert model.fleet.by_name()["gpu-a"].devices_in_use == (GPU,)
    assert not model.known("p2-x")
    assert FleetModel.from_json(model.to_json(), seed_config()) == model


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"name": "h", "profile": "pool1", "vms": 2, "vm_list": [_vm("x", 1, 1)]}, "adds up to 1"),
        ({"name": "h", "profile": "pool1", "vm_list": [_vm("x", 1, 1), _vm("x", 1, 1)]}, "duplicate VM id"),
        ({"name": "h", "profile": "pool1", "vm_list": [{"id": "x", "vcpus": -1}]}, "'vcpus' must be"),
        ({"name": "h", "profile": "pool1", "vm_list": [_vm("x", 1, 1, (GPU,))]}, "not devices of profile"),
    ],
)
def test_bad_vm_lists_are_refused(host: dict[str, object], message: str) -> None:
    with pytest.raises(FleetError, match=message):
        FleetModel.from_json({"hosts": [host]}, seed_config())


def test_hypothetical_fleets() -> None:
    config = seed_config()
    model = add_hosts(small_model(), "pool1", 2, config)
    names = [h.name for h in model.fleet.hosts]
    assert names[-2:] == ["pool1-new-01", "pool1-new-02"]
    fewer, gone = remove_hosts(model, "pool2", 1)
    assert [h.name for h in gone] == ["p2-a"]  # the least loaded pool2 host
    assert "p2-a" not in fewer.fleet.by_name()
    with pytest.raises(FleetError):
        remove_hosts(model, "pool2", 5)


# --- load response --------------------------------------------------------------------------------------
def test_load_response_matches_the_cost_function_step_by_step() -> None:
    config, model = seed_config(), small_model()
    request = Request.of(2, 4 * GIB)
    response = load_response(config, model.fleet, request, steps=10, next_count=4)
    for host in response.hosts:
        fh = model.fleet.by_name()[host.host]
        profile = config.hardware_profiles[fh.profile]
        load = fh.load(profile)
        for cost in host.costs:
            load = load.plus(2, 4 * GIB)
            expected = config.cost_function_of(fh.profile).explain(load).total
            if fh.state is not HostState.ENABLED or not math.isfinite(expected):
                assert math.isinf(cost)
            else:
                assert cost == expected
        if host.infinite_at is not None:
            assert host.fits == host.infinite_at - 1  # headroom stops at the first refused step
    assert response.next[0].host == "p1-c"  # empty pool1 host is cheapest
    assert response.fleet_fits == sum(h.fits for h in response.hosts)


# --- drain ----------------------------------------------------------------------------------------------
def test_drain_preview_moves_everything_but_pci_vms() -> None:
    config, model = seed_config(), small_model()
    plan = drain_preview(config, model, "p1-a")
    assert [m.vm for m in plan.moves] == ["a1", "a2", "a3"]  # biggest first, as the drain action
    assert all(m.target != "p1-a" for m in plan.moves)
    assert plan.emptied == ("p1-a",)
    after = {h.host: h for h in plan.hosts_after}
    assert after["p1-a"].vms == 0
    assert after["p1-a"].state is HostState.NO_SCHEDULING
    gpu = drain_preview(config, model, "gpu-a")
    assert gpu.moves == ()
    assert [s.vm for s in gpu.unmovable] == ["g1"]
    with pytest.raises(FleetError, match="not known"):
        drain_preview(config, model, "p2-x")


# --- property tests over random fleets -----------------------------------------------------------------
shapes = st.sampled_from([(1, 2), (2, 4), (4, 8), (6, 12), (8, 16)])


@st.composite
def models(draw: st.DrawFn) -> FleetModel:
    hosts = []
    count = 0
    for index in range(draw(st.integers(2, 7))):
        profile = draw(st.sampled_from(["pool1", "pool2", "nvidia-gpu-node"]))
        state = draw(st.sampled_from(["enabled", "enabled", "enabled", "no-scheduling", "disabled"]))
        vms = []
        for _ in range(draw(st.integers(0, 5))):
            count += 1
            c, m = draw(shapes)
            devices = (
                (GPU,)
                if profile == "nvidia-gpu-node" and not any(v["devices"] for v in vms) and draw(st.booleans())
                else ()
            )
            vms.append(_vm(f"vm{count}", c, m, devices))
        hosts.append({"name": f"h{index}", "profile": profile, "state": state, "vm_list": vms})
    return FleetModel.from_json({"hosts": hosts}, seed_config())


@settings(max_examples=60, deadline=None)
@given(models(), st.integers(0, 8))
def test_rebalance_never_raises_the_total_and_never_moves_pci_vms(model: FleetModel, limit: int) -> None:
    config = seed_config()
    plan = rebalance_plan(config, model, limit)
    assert len(plan.moves) <= limit
    pci = {v.id for vms in model.vms.values() for v in vms if v.devices}
    assert not pci & {m.vm for m in plan.moves}
    before = host_total(config, model.fleet)
    assert plan.before.key() == (before[0], pytest.approx(before[1]))
    previous = plan.before.key()
    for move in plan.moves:
        assert (move.delta < 0) or math.isinf(move.source_before)
        assert move.target_after < move.source_before  # the scheduler would make this move too
    after = Fleet(
        tuple(
            FleetHost(
                h.host,
                h.profile,
                h.state,
                h.vms,
                h.vcpus,
                h.memory,
                model.fleet.by_name()[h.host].devices_in_use,
            )
            for h in plan.hosts_after
        )
    )
    infinite, total = host_total(config, after)
    assert (infinite, total) <= (previous[0], previous[1] + 1e-6)
    assert plan.after.key() == (infinite, pytest.approx(total))
    disabled = {h.name for h in model.fleet.hosts if h.state is HostState.DISABLED}
    enabled = {h.name for h in model.fleet.hosts if h.state is HostState.ENABLED}
    assert all(m.source not in disabled and m.target in enabled for m in plan.moves)


@settings(max_examples=60, deadline=None)
@given(models())
def test_consolidation_empties_whole_hosts_and_keeps_pci_vms(model: FleetModel) -> None:
    config = seed_config()
    plan = consolidation_plan(config, model, max_moves=30)
    pci = {v.id for vms in model.vms.values() for v in vms if v.devices}
    assert not pci & {m.vm for m in plan.moves}
    where = apply(model, plan)
    for host in plan.emptied:
        assert where[host] == []
    moved_from = {m.source for m in plan.moves}
    assert moved_from <= set(plan.emptied)  # a host is emptied entirely or not touched
    assert not {m.target for m in plan.moves} & set(plan.emptied)  # no VM moves twice
    assert plan.after.in_use <= plan.before.in_use
    loads = {h.host: h for h in plan.hosts_after}
    for host, vms in where.items():
        assert loads[host].vms == len(vms)


# --- replays --------------------------------------------------------------------------------------------
def test_replay_policies_side_by_side_agree_with_the_scheduler() -> None:
    config, model = seed_config(), small_model()
    events = generate(WorkloadSpec(starts=300, rate=2.0, mean_lifetime=10, seed=3))
    table = replay_policies(config, model.fleet, events)
    assert [r.policy for r in table.runs] == ["cost", "first-fit", "best-fit", "spread"]
    for run in table.runs:
        plain = replay(config, model.fleet, events, run.policy)
        assert (run.result.placed, run.result.rejected) == (plain.placed, plain.rejected)
        assert [p.host for p in run.result.placements] == [p.host for p in plain.placements]
        assert run.hosts_touched <= len(model.fleet.hosts)
        assert run.hosts_in_use <= run.peak_hosts_in_use
        assert sum(h.vms for h in run.hosts) == int(sum(h["vms"] for h in run.result.hosts))


def test_ab_lists_the_engine_differences_with_both_costs() -> None:
    from tui.core.whatif import apply_edits, parse_edits

    config, model = seed_config(), small_model()
    edited = apply_edits(config, parse_edits(["pool2.offset=0"])).config
    events = generate(WorkloadSpec(starts=200, rate=1.0, mean_lifetime=5, seed=1))
    result = ab_replay(config, edited, model.fleet, events)
    a, b = replay(config, model.fleet, events), replay(edited, model.fleet, events)
    expected = [
        (x.id, x.host, y.host) for x, y in zip(a.placements, b.placements, strict=True) if x.host != y.host
    ]
    assert [(d.id, d.a.host, d.b.host) for d in result.comparison.differences] == expected
    assert expected  # pool 2 without its offset takes some VMs
    data = result.to_json()
    assert len(data["hosts"]) == len(model.fleet.hosts)


def test_empty_hosts_cost_nothing_in_plans() -> None:
    config, model = seed_config(), small_model()
    plan = rebalance_plan(config, model, 0)
    empty = {h.host: h.cost for h in plan.hosts_before if h.vms == 0}
    assert empty == {"p1-c": 0.0}
    load = Load(1, 1, 2 * GIB)
    assert plan.before.total > config.cost_functions["pool2"].total(load)  # offsets of busy hosts count


def test_rebalance_never_moves_ordinary_vms_onto_a_busy_gpu_node() -> None:
    """Once the GPU node runs a VM its offset is already in the fleet total: moving an ordinary VM
    there lowers the total, but the scheduler (offset included) would never put it there."""
    config = seed_config()
    busy = [_vm(f"{h}{k}", 2, 4) for h in ("a", "b") for k in range(7)]
    model = FleetModel.from_json(
        {
            "hosts": [
                {"name": "p1-a", "profile": "pool1", "vm_list": busy[:7]},
                {"name": "p1-b", "profile": "pool1", "vm_list": busy[7:]},
                {"name": "gpu-a", "profile": "nvidia-gpu-node", "vm_list": [_vm("g1", 2, 4, (GPU,))]},
            ]
        },
        config,
    )
    plan = rebalance_plan(config, model, 10)
    assert all(m.target != "gpu-a" for m in plan.moves)
    state = FleetState(config, model.fleet)
    engine = CostEngine(state)
    for move in plan.moves:  # each move is one placement would make: cheaper there than staying
        assert move.target_after < move.source_before
    # The rule, not an empty plan, is what keeps the GPU node out: its placement cost is the offset.
    costs = engine.costs(Request.of(2, 4 * GIB))
    assert costs[state.index["gpu-a"]] > 100000 > costs[state.index["p1-a"]]
