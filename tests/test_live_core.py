"""Allocation vs capacity, cost, FLEET export and reconcile from snapshots (pure core code)."""

from __future__ import annotations

import math

import pytest

from tui.core.fleet import Fleet, HostState
from tui.core.hosts import HostRecord
from tui.core.live import (
    DomainFacts,
    DomainState,
    HostSnapshot,
    HostStatus,
    ManagedVm,
    allocation,
    live_fleet,
)
from tui.core.live.reconcile import ReconcileKind, reconcile

from .livefixtures import GIB, make_config

CONFIG = make_config()


def dom(name, state=DomainState.RUNNING, vcpus=1, memory=GIB, hostdevs=(), uuid=None):
    return DomainFacts(name, uuid or f"uuid-{name}", state, vcpus, memory, memory, tuple(hostdevs))


def snap(host, *domains, status=HostStatus.CONNECTED):
    return HostSnapshot(host, f"test:///{host}", status, domains=tuple(domains), polled_at=1.0)


def test_allocation_counts_only_domains_holding_resources():
    host = HostRecord("h", "test:///h", "pool1", "libvirt1")
    s = snap(
        "h",
        dom("a", vcpus=4, memory=8 * GIB),
        dom("b", DomainState.PAUSED, 2, 2 * GIB),
        dom("c", DomainState.SHUTOFF, 8, 16 * GIB),
        dom("d", DomainState.CRASHED, 8, 16 * GIB),
    )
    alloc = allocation(host, s, CONFIG)
    assert (alloc.vms, alloc.vcpus, alloc.memory) == (2, 6, 10 * GIB)
    assert (alloc.cores, alloc.memory_capacity) == (8, 32 * GIB)
    # the seed's pool cost: vms 2 + vcpus 6×0.5=3 + memory hard-soft(16 GiB→10)·10/16 GiB → 6.25
    assert alloc.cost.total == pytest.approx(2 + 3 + 6.25)
    assert alloc.over() == []


def test_over_capacity_and_infinite_cost_are_explained():
    host = HostRecord("h", "test:///h", "pool1", "libvirt1")
    s = snap("h", dom("big", vcpus=20, memory=40 * GIB))
    alloc = allocation(host, s, CONFIG)
    assert math.isinf(alloc.cost.total)
    assert alloc.cost.first_infinite().name == "vcpus"
    assert "vCPUs 20 > 8 cores" in alloc.over()
    assert any(r.startswith("memory") for r in alloc.over())


def test_devices_in_use_and_foreign_devices():
    host = HostRecord("g", "test:///g", "gpu", "libvirt1")
    s = snap(
        "g",
        dom("t1", hostdevs=["0000:01:02.0"]),
        dom("t2", hostdevs=["0000:02:03.0", "0000:09:00.0"]),
        dom("t3", DomainState.SHUTOFF, hostdevs=["0000:01:02.0"]),
    )
    alloc = allocation(host, s, CONFIG)
    assert alloc.devices_in_use == {"nvidia-gpu": 2}
    assert alloc.devices_capacity == {"nvidia-gpu": 2}
    assert alloc.foreign_devices == ("0000:09:00.0",)
    assert alloc.cost.term("devices.nvidia-gpu").value == 2.0


def test_live_fleet_round_trips_through_the_scheduler_format():
    hosts = [
        HostRecord("b", "test:///b", "gpu", "libvirt1"),
        HostRecord("a", "test:///a", "pool1", "libvirt1", HostState.NO_SCHEDULING),
        HostRecord("down", "qemu+tcp://x/system", "pool1", "libvirt1"),
        HostRecord("off", "qemu+tcp://y/system", "pool1", "libvirt1", HostState.DISABLED),
    ]
    snaps = {
        "a": snap("a", dom("x", vcpus=2)),
        "b": snap("b", dom("y", hostdevs=["0000:02:03.0"])),
        "down": snap("down", dom("z"), status=HostStatus.UNREACHABLE),
    }
    fleet = live_fleet(hosts, snaps, CONFIG)
    assert [h.name for h in fleet.hosts] == ["a", "b", "down", "off"]
    assert Fleet.from_json(fleet.to_json(), CONFIG) == fleet
    by = fleet.by_name()
    assert by["a"].state is HostState.NO_SCHEDULING
    assert by["b"].devices_in_use == ("0000:02:03.0",)
    assert by["down"].state is HostState.NO_SCHEDULING  # unreachable: nothing can be placed there
    assert by["off"].state is HostState.DISABLED


def test_reconcile_kinds():
    managed = [
        ManagedVm("uuid-kept", "kept", "h1"),
        ManagedVm("UUID-MOVED", "moved", "h1"),
        ManagedVm("uuid-gone", "gone", "h1"),
        ManagedVm("uuid-dark", "dark", "h3"),
    ]
    snaps = {
        "h1": snap("h1", dom("kept"), dom("stranger")),
        "h2": snap("h2", dom("moved")),
        "h3": snap("h3", dom("dark"), status=HostStatus.UNREACHABLE),
    }
    findings = reconcile(managed, snaps)
    kinds = {(f.kind, f.name, f.host) for f in findings}
    assert kinds == {
        (ReconcileKind.UNMANAGED, "stranger", "h1"),
        (ReconcileKind.MISSING, "gone", "h1"),
        (ReconcileKind.MOVED, "moved", "h2"),
        (ReconcileKind.UNKNOWN, "dark", "h3"),
    }
    assert next(f for f in findings if f.kind is ReconcileKind.MOVED).recorded_host == "h1"
    assert all(f.action for f in findings)
    assert reconcile([], {}) == []
