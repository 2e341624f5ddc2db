"""The seeds' scheduling scenarios and the documented rules, table-driven."""

from __future__ import annotations

import pytest

from tests.scheduling_fixtures import GIB, seed_config, seed_fleet
from tui.core.costs import CostFunction
from tui.core.curves import Linear
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling import CostEngine, FleetState, Request, explain_request, headroom, replay
from tui.core.scheduling.workload import StartEvent, StopEvent, WorkloadSpec, generate

SMALL = Request(2, 4 * GIB)


def _place_many(request: Request, count: int) -> list[str | None]:
    events = [StartEvent(f"vm{i}", request) for i in range(count)]
    return [p.host for p in replay(seed_config(), seed_fleet(), events).placements]


def test_pool2_only_when_pool1_is_full_and_gpu_node_only_when_nothing_else_fits() -> None:
    hosts = _place_many(SMALL, 40)
    # Each host takes 8 VMs of 2 vCPUs before vcpus (hard 16) refuses: pool1 16, pool2 16, gpu 8.
    assert all(h is not None and h.startswith("p1-") for h in hosts[:16])
    assert all(h is not None and h.startswith("p2-") for h in hosts[16:32])
    assert hosts[32:40] == ["gpu-a"] * 8
    assert None not in hosts


def test_disabled_and_no_scheduling_hosts_are_never_chosen() -> None:
    hosts = _place_many(SMALL, 45)
    assert "p1-off" not in hosts
    assert "p1-drain" not in hosts
    assert hosts[40:] == [None] * 5


def test_ties_go_to_the_lowest_name_and_gpus_to_lowest_free_addresses() -> None:
    state = FleetState(seed_config(), seed_fleet())
    placement = explain_request(state, CostEngine(state), SMALL)
    assert placement.host == "p1-a"
    assert placement.cost == 4.5  # vms 1 + vcpus 4*2/8 = 1 + memory 10*4/16 = 2.5
    gpu = Request(2, 4 * GIB, (("nvidia-gpu", 1),))
    result = replay(
        seed_config(), seed_fleet(), [StartEvent("a", gpu), StartEvent("b", gpu), StartEvent("c", gpu)]
    )
    assert [(p.host, p.devices) for p in result.placements[:2]] == [
        ("gpu-a", ("0000:01:02.0",)),
        ("gpu-a", ("0000:02:03.0",)),
    ]
    assert result.placements[2].host is None
    assert result.placements[2].reason is not None
    assert "lack free nvidia-gpu" in result.placements[2].reason


def test_explanations_say_why() -> None:
    fleet = seed_fleet(FleetHost("p1-full", "pool1", vms=7, vcpus=15, memory=8 * GIB))
    state = FleetState(seed_config(), fleet)
    placement = explain_request(state, CostEngine(state), Request(2, 4 * GIB, (("nvidia-gpu", 1),)))
    reasons = {c.host: c.reason for c in placement.candidates}
    assert reasons["p1-off"] == "host is Disabled: no new VMs are placed on it"
    assert reasons["p1-drain"] == "host is No Scheduling: no new VMs are placed on it"
    assert reasons["p1-a"] == "profile 'pool1' has no nvidia-gpu devices"
    assert placement.host == "gpu-a"
    assert reasons["gpu-a"] is None
    placement = explain_request(state, CostEngine(state), Request(2, 4 * GIB))
    full = next(c for c in placement.candidates if c.host == "p1-full")
    assert full.reason == "vcpus is infinite at 17 (hard-soft limit 16)"
    assert full.cost == float("inf")
    assert not full.feasible
    # Feasible hosts by cost then name, then infinite ones, then hosts refused before costing.
    assert [c.host for c in placement.candidates][-3:] == ["p1-full", "p1-drain", "p1-off"]
    assert [c.host for c in placement.candidates][:2] == ["p1-a", "p1-b"]


def test_unlisted_device_type_counts_as_unavailable() -> None:
    config = seed_config()
    profiles = dict(config.hardware_profiles)
    profiles["odd"] = HardwareProfile(
        "odd", 8, 32 * GIB, "pool1", devices=config.hardware_profiles["nvidia-gpu-node"].devices
    )
    config = VmConfig(config.cost_functions, profiles, {})
    fleet = Fleet((FleetHost("odd-1", "odd"),))
    state = FleetState(config, fleet)
    placement = explain_request(state, CostEngine(state), Request(1, GIB, (("nvidia-gpu", 1),)))
    assert not placement.placed
    assert "lists no curve for nvidia-gpu" in (placement.candidates[0].reason or "")


def test_headroom_per_host_and_fleet() -> None:
    result = headroom(seed_config(), seed_fleet(), SMALL)
    fits = {h.host: h.fits for h in result.hosts}
    assert fits == {"p1-a": 8, "p1-b": 8, "p2-a": 8, "p2-b": 8, "gpu-a": 8, "p1-off": 0, "p1-drain": 0}
    assert result.fleet_total == 40 == sum(h.fleet for h in result.hosts)
    assert {h.host: h.stop for h in result.hosts}["p1-a"] == "vcpus is infinite at 18 (hard-soft limit 16)"
    gpu = headroom(seed_config(), seed_fleet(), Request(1, GIB, (("nvidia-gpu", 1),)))
    assert {h.host: h.fits for h in gpu.hosts}["gpu-a"] == 2
    assert gpu.fleet_total == 2


def test_headroom_caps_hosts_no_curve_refuses() -> None:
    config = VmConfig(
        {"free": CostFunction("free", vms=Linear(slope=1, base=0))},
        {"p": HardwareProfile("p", 1, GIB, "free")},
        {},
    )
    result = headroom(config, Fleet((FleetHost("h", "p"),)), SMALL, host_limit=50, fleet_limit=70)
    assert result.hosts[0].fits == 50
    assert result.hosts[0].capped
    assert result.fleet_total == 70
    assert result.fleet_capped


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("first-fit", ["z-big", "z-big", "a-small"]),  # fleet order: z-big is listed first
        ("best-fit", ["a-small", "z-big", "z-big"]),  # least memory left
        ("spread", ["z-big", "z-big", "a-small"]),  # most memory left
    ],
)
def test_reference_policies(policy: str, expected: list[str]) -> None:
    cf = CostFunction("c", vms=Linear(slope=1, base=0))
    profiles = {
        "big": HardwareProfile("big", 8, 16 * GIB, "c"),
        "small": HardwareProfile("small", 8, 8 * GIB, "c"),
    }
    fleet = Fleet(
        (
            FleetHost("z-big", "big"),
            FleetHost("a-small", "small"),
            FleetHost("b-off", "big", HostState.DISABLED),
        )
    )
    events = [StartEvent(f"v{i}", Request(2, 6 * GIB)) for i in range(4)]
    result = replay(VmConfig({"c": cf}, profiles, {}), fleet, events, policy)
    assert [p.host for p in result.placements] == [*expected, None]


def test_stops_free_resources_and_unknown_stops_are_counted() -> None:
    big = Request(16, 4 * GIB)
    events = [
        StartEvent("a", big),
        StopEvent("nobody"),
        StartEvent("b", Request(16, 40 * GIB)),  # rejected everywhere (memory hard 32 GiB)
        StopEvent("b"),
        StopEvent("a"),
        StopEvent("a"),
    ]
    result = replay(seed_config(), seed_fleet(), events)
    assert result.placed == 1
    assert result.rejected == 1
    assert result.ignored_stops == 3
    assert all(h["vms"] == 0 for h in result.hosts)


def test_generator_is_seeded_and_balanced() -> None:
    spec = WorkloadSpec(starts=500, rate=2.0, mean_lifetime=10.0, gpu_share=0.2, seed=3)
    events = generate(spec)
    assert events == generate(spec)
    assert events != generate(WorkloadSpec(starts=500, rate=2.0, mean_lifetime=10.0, gpu_share=0.2, seed=4))
    starts = [e for e in events if isinstance(e, StartEvent)]
    assert len(starts) == 500
    assert len(events) == 1000
    assert 50 < sum(1 for e in starts if e.request.devices) < 150
    times = [e.time for e in events]
    assert times == sorted(times)
