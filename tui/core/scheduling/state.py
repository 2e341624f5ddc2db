"""The mutable load of a fleet during placement and replay, laid out as numpy arrays.

Hosts are indexed in name order, so "lowest index" is "name sorts first": an argmin over any per-host
vector implements the documented tie-break for free. Every change is appended to a change log that
the per-shape cost caches read to recompute only the hosts that changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.core.costs import CostFunction, Load
from tui.core.fleet import Fleet, FleetError, FleetHost, HostState
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling.request import Request

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Allocation:
    """Where a request went and which device addresses it took (to undo it on stop)."""

    host: int
    request: Request
    devices: tuple[str, ...]


class FleetState:
    """Per-host load arrays plus free device addresses; mutated only through `add` and `remove`."""

    def __init__(self, config: VmConfig, fleet: Fleet) -> None:
        self.config = config
        hosts = sorted(fleet.hosts, key=lambda h: h.name)
        self.hosts: tuple[FleetHost, ...] = tuple(hosts)
        self.names: list[str] = [h.name for h in hosts]
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.names)}
        # Fleet order (as the FLEET file lists the hosts) is what first-fit walks.
        self.fleet_order: IntArray = np.array([self.index[h.name] for h in fleet.hosts], dtype=np.int64)
        self.profiles: list[HardwareProfile] = []
        self.cost_functions: list[CostFunction] = []
        for host in hosts:
            profile = config.hardware_profiles.get(host.profile)
            if profile is None:
                known = ", ".join(sorted(config.hardware_profiles)) or "none"
                raise FleetError(f"host {host.name!r}: unknown profile {host.profile!r} (profiles: {known})")
            cost_function = config.cost_functions.get(profile.cost_function)
            if cost_function is None:
                raise FleetError(
                    f"host {host.name!r}: profile {profile.id!r} uses unknown cost function "
                    f"{profile.cost_function!r}"
                )
            self.profiles.append(profile)
            self.cost_functions.append(cost_function)
        n = len(hosts)
        self.size = n
        self.enabled: BoolArray = np.array([h.state is HostState.ENABLED for h in hosts], dtype=np.bool_)
        self.states: list[HostState] = [h.state for h in hosts]
        # Why a host is not Enabled for the scheduler although its admin state is (unreachable).
        self.unavailable: list[str | None] = [h.unavailable for h in hosts]
        self.vms: FloatArray = np.array([h.vms for h in hosts], dtype=np.float64)
        self.vcpus: FloatArray = np.array([h.vcpus for h in hosts], dtype=np.float64)
        self.memory: FloatArray = np.array([h.memory for h in hosts], dtype=np.float64)
        self.cores: FloatArray = np.array([p.cores for p in self.profiles], dtype=np.float64)
        self.capacity: FloatArray = np.array([p.memory for p in self.profiles], dtype=np.float64)
        # Every device type any profile has or any cost function lists: the columns of the device arrays.
        kinds = {d.type for p in self.profiles for d in p.devices}
        kinds.update(k for cf in self.cost_functions for k in cf.devices)
        self.device_types: list[str] = sorted(kinds)
        self.in_use: dict[str, FloatArray] = {k: np.zeros(n, dtype=np.float64) for k in self.device_types}
        self.free: dict[str, FloatArray] = {k: np.zeros(n, dtype=np.float64) for k in self.device_types}
        # Free addresses per host and type, lowest first: allocation pops from the front.
        self.free_addrs: list[dict[str, list[str]]] = []
        self.used_addrs: list[set[str]] = []
        for i, (host, profile) in enumerate(zip(hosts, self.profiles, strict=True)):
            own = {d.addr for d in profile.devices}
            stray = [a for a in host.devices_in_use if a not in own]
            if stray:
                raise FleetError(
                    f"host {host.name!r}: devices_in_use {', '.join(stray)} are not devices of "
                    f"profile {profile.id!r}"
                )
            used = set(host.devices_in_use)
            free: dict[str, list[str]] = {}
            for kind in profile.device_counts():
                addrs = profile.addresses(kind)
                free[kind] = [a for a in addrs if a not in used]
                self.in_use[kind][i] = len(addrs) - len(free[kind])
                self.free[kind][i] = len(free[kind])
            self.free_addrs.append(free)
            self.used_addrs.append(used)
        self.load_keys: list[tuple[object, ...]] = [self._load_key(i) for i in range(n)]
        self.changes: list[int] = []

    # --- reading ------------------------------------------------------------------------------------
    def load(self, i: int) -> Load:
        devices = {k: int(self.in_use[k][i]) for k in self.device_types if self.in_use[k][i] > 0}
        return Load(int(self.vms[i]), int(self.vcpus[i]), int(self.memory[i]), devices)

    def _load_key(self, i: int) -> tuple[object, ...]:
        # Everything a request's cost depends on: the profile (its cost function and how many devices
        # of each type it has) and the load. Equal keys have equal costs and equal free devices.
        devices = tuple((k, int(self.in_use[k][i])) for k in self.device_types if self.in_use[k][i] > 0)
        return (
            id(self.profiles[i]),
            int(self.vms[i]),
            int(self.vcpus[i]),
            int(self.memory[i]),
            devices,
        )

    def refusal(self, i: int) -> str | None:
        """Why host i takes no new VM whatever the request (its state, or that it is unreachable)."""
        if self.states[i] is HostState.ENABLED:
            return None
        why = self.unavailable[i]
        return f"host is {why}" if why is not None else f"host is {self.states[i].label}"

    def has_devices(self, i: int, request: Request) -> bool:
        free = self.free_addrs[i]
        return all(len(free.get(kind, ())) >= count for kind, count in request.devices)

    def devices_in_use(self, i: int) -> list[str]:
        return sorted(self.used_addrs[i])

    # --- changing -----------------------------------------------------------------------------------
    def add(self, i: int, request: Request) -> Allocation:
        """Put one VM of this shape on host i, taking the lowest free addresses of each device type."""
        taken: list[str] = []
        free = self.free_addrs[i]
        for kind, count in request.devices:
            addrs = free.get(kind, [])
            if len(addrs) < count:
                raise ValueError(f"host {self.names[i]!r} has {len(addrs)} free {kind}, {count} requested")
            taken.extend(addrs[:count])
            del addrs[:count]
            self.in_use[kind][i] += count
            self.free[kind][i] -= count
        self.used_addrs[i].update(taken)
        self.vms[i] += 1
        self.vcpus[i] += request.vcpus
        self.memory[i] += request.memory
        self._changed(i)
        return Allocation(i, request, tuple(taken))

    def remove(self, allocation: Allocation) -> None:
        """Undo `add`: the VM stops and its devices become free again."""
        i, request = allocation.host, allocation.request
        kinds = {d.addr: d.type for d in self.profiles[i].devices}
        for addr in allocation.devices:
            self.used_addrs[i].discard(addr)
            addrs = self.free_addrs[i][kinds[addr]]
            addrs.append(addr)
            addrs.sort()
        for kind, count in Counter(kinds[a] for a in allocation.devices).items():
            self.in_use[kind][i] -= count
            self.free[kind][i] += count
        self.vms[i] -= 1
        self.vcpus[i] -= request.vcpus
        self.memory[i] -= request.memory
        self._changed(i)

    def _changed(self, i: int) -> None:
        self.load_keys[i] = self._load_key(i)
        self.changes.append(i)

    def host_json(self, i: int) -> dict[str, object]:
        return {
            "name": self.names[i],
            "profile": self.profiles[i].id,
            "state": self.states[i].value,
            "vms": int(self.vms[i]),
            "vcpus": int(self.vcpus[i]),
            "memory": int(self.memory[i]),
            "devices_in_use": self.devices_in_use(i),
        }
