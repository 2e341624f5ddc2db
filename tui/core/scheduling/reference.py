"""The placement rule written as the plainest possible Python loop over hosts.

It shares nothing with the engine or `CostFunction.explain` beyond the curves themselves: tests hold
the fast path and the explanation to it, and the benchmark uses it as the baseline the vectorised
engine is measured against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tui.core.costs import CostFunction
from tui.core.curves import INF, UNAVAILABLE
from tui.core.fleet import Fleet, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.request import Request


@dataclass
class PlainHost:
    name: str
    enabled: bool
    cost_function: CostFunction
    vms: int
    vcpus: int
    memory: int
    used: dict[str, int] = field(default_factory=dict)
    free: dict[str, list[str]] = field(default_factory=dict)


class PlainFleet:
    """Host loads as plain objects; `place` walks every host and keeps the best (cost, name)."""

    def __init__(self, config: VmConfig, fleet: Fleet) -> None:
        self.hosts: list[PlainHost] = []
        for host in fleet.hosts:
            profile = config.hardware_profiles[host.profile]
            plain = PlainHost(
                host.name,
                host.state is HostState.ENABLED,
                config.cost_functions[profile.cost_function],
                host.vms,
                host.vcpus,
                host.memory,
            )
            for device in sorted(profile.devices, key=lambda d: d.addr):
                if device.addr in host.devices_in_use:
                    plain.used[device.type] = plain.used.get(device.type, 0) + 1
                else:
                    plain.free.setdefault(device.type, []).append(device.addr)
            self.hosts.append(plain)

    @staticmethod
    def cost(host: PlainHost, request: Request) -> float:
        """The host's total after adding the request, or inf when it may not take it."""
        if not host.enabled:
            return INF
        for kind, count in request.devices:
            if len(host.free.get(kind, [])) < count:
                return INF
        cf = host.cost_function
        used = dict(host.used)
        for kind, count in request.devices:
            used[kind] = used.get(kind, 0) + count
        values = [
            0.0 if cf.vms is None else cf.vms(float(host.vms + 1)),
            0.0 if cf.vcpus is None else cf.vcpus(float(host.vcpus + request.vcpus)),
            0.0 if cf.memory is None else cf.memory(float(host.memory + request.memory)),
        ]
        for kind in sorted(set(cf.devices) | {k for k, n in used.items() if n > 0}):
            values.append(cf.devices.get(kind, UNAVAILABLE)(float(used.get(kind, 0))))
        total = 0.0
        for value in values:
            if value == INF:
                return INF
            total = total + value
        result = cf.scale * total + cf.offset
        return result if math.isfinite(result) else INF

    def place(self, request: Request) -> tuple[int, float]:
        """(index into `hosts`, cost) of the cheapest host, ties to the lowest name; (-1, inf) if none."""
        best, best_cost = -1, INF
        for i, host in enumerate(self.hosts):
            cost = self.cost(host, request)
            if cost == INF:
                continue
            if best < 0 or cost < best_cost or (cost == best_cost and host.name < self.hosts[best].name):
                best, best_cost = i, cost
        return best, best_cost

    def add(self, i: int, request: Request) -> list[str]:
        host = self.hosts[i]
        host.vms += 1
        host.vcpus += request.vcpus
        host.memory += request.memory
        taken: list[str] = []
        for kind, count in request.devices:
            taken += host.free[kind][:count]
            host.free[kind] = host.free[kind][count:]
            host.used[kind] = host.used.get(kind, 0) + count
        return taken

    def remove(self, i: int, request: Request, devices: list[str]) -> None:
        host = self.hosts[i]
        host.vms -= 1
        host.vcpus -= request.vcpus
        host.memory -= request.memory
        rest = list(devices)
        for kind, count in request.devices:
            mine, rest = rest[:count], rest[count:]
            host.free[kind] = sorted(host.free[kind] + mine)
            host.used[kind] -= count
