"""Shared builders for the scheduling tests: the seeds' cost functions and profiles as core objects."""

from __future__ import annotations

from tui.core.costs import CostFunction
from tui.core.curves import HardSoft, Linear
from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.model import Device, HardwareProfile, VmConfig

GIB = 1024**3


def seed_config() -> VmConfig:
    """pool1, pool2 (offset 1000) and the GPU node (offset 100000), exactly as seed 002 writes them."""
    common = {
        "vms": Linear(slope=1, base=0),
        "vcpus": HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        "memory": HardSoft(soft=16 * GIB, hard=32 * GIB, scale=10),
    }
    cost_functions = {
        "pool1": CostFunction("pool1", **common),
        "pool2": CostFunction("pool2", offset=1000, **common),
        "nvidia-gpu": CostFunction(
            "nvidia-gpu", devices={"nvidia-gpu": Linear(slope=1, base=0, max=2)}, offset=100000, **common
        ),
    }
    gpus = (Device("nvidia-gpu", "0000:01:02.0"), Device("nvidia-gpu", "0000:02:03.0"))
    profiles = {
        "pool1": HardwareProfile("pool1", 8, 32 * GIB, "pool1"),
        "pool2": HardwareProfile("pool2", 8, 32 * GIB, "pool2"),
        "nvidia-gpu-node": HardwareProfile("nvidia-gpu-node", 8, 32 * GIB, "nvidia-gpu", devices=gpus),
    }
    return VmConfig(cost_functions, profiles, {})


def seed_fleet(*extra: FleetHost) -> Fleet:
    hosts = (
        FleetHost("p1-a", "pool1"),
        FleetHost("p1-b", "pool1"),
        FleetHost("p2-a", "pool2"),
        FleetHost("p2-b", "pool2"),
        FleetHost("gpu-a", "nvidia-gpu-node"),
        FleetHost("p1-off", "pool1", HostState.DISABLED),
        FleetHost("p1-drain", "pool1", HostState.NO_SCHEDULING),
    )
    return Fleet(hosts + extra)
