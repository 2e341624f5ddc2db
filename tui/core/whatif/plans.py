"""Plans over individual VMs: drain preview, rebalancing and consolidation (virtdc's host removal,
load balancing and consolidation, done with the scheduler's cost policy).

Every destination is chosen by the scheduler's own cost vector (`CostEngine.costs`, the placement
rule) with the plan's extra exclusions (the source, hosts being emptied) masked to infinity, so the
tie-break stays the scheduler's: lowest cost, then the name that sorts first. Only VMs without PCI
devices move (passed-through devices cannot be live-migrated); the others are listed as unmovable.

A host's *cost* here is its cost function at its current load (no request added), and 0 while it
runs no VM: an empty host can be switched off, and its offset is exactly what steers the scheduler
away from it (the GPU node's 100000), so a plan that fills it must pay for that. The fleet's total
cost is the sum over hosts with a finite cost, plus the count of hosts whose cost is infinite
(overloaded), which matters first: a move that makes an overloaded host feasible always improves.

A rebalancing move must also be one the scheduler itself would make: the destination's placement
cost for the VM (`CostEngine.costs`, offset included) must be lower than what the VM's current host
costs with it. The fleet total alone is not enough: once a GPU node runs a VM its offset is already
in the total ("sunk"), and ordinary VMs would be moved onto it although the scheduler only uses it
when nothing else fits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.core.costs import Load
from tui.core.curves import INF
from tui.core.fleet import FleetError, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import rejection_reason
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import Allocation, FleetState
from tui.core.whatif.fleetmodel import FleetModel, VmSpec, with_state

DEFAULT_MAX_MOVES = 20
MIN_GAIN = 1e-9  # a rebalancing move must lower the total by more than this (float noise is not a gain)


@dataclass(frozen=True)
class Move:
    vm: str
    vcpus: int
    memory: int
    source: str
    target: str
    source_before: float
    source_after: float
    target_before: float
    target_after: float  # also the scheduler's placement cost for this VM on the target

    @property
    def delta(self) -> float:
        """Change of the fleet's finite total cost (an overloaded source made feasible: -inf)."""
        if not math.isfinite(self.source_before):
            return -INF if math.isfinite(self.source_after) else self.target_after - self.target_before
        return (self.source_after - self.source_before) + (self.target_after - self.target_before)

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.vm,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "from": self.source,
            "to": self.target,
            "source_cost": {"before": self.source_before, "after": self.source_after},
            "target_cost": {"before": self.target_before, "after": self.target_after},
            "delta": self.delta,
        }


@dataclass(frozen=True)
class Stuck:
    vm: str
    host: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"vm": self.vm, "host": self.host, "reason": self.reason}


@dataclass(frozen=True)
class HostLoad:
    host: str
    profile: str
    state: HostState
    vms: int
    vcpus: int
    cores: int
    memory: int
    capacity: int
    cost: float

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "vms": self.vms,
            "vcpus": self.vcpus,
            "cores": self.cores,
            "memory": self.memory,
            "capacity": self.capacity,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class FleetCost:
    total: float  # sum of finite host costs
    infinite: int  # hosts whose current cost is infinite
    in_use: int  # hosts running at least one VM

    def key(self) -> tuple[int, float]:
        return (self.infinite, self.total)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "infinite_hosts": self.infinite, "hosts_in_use": self.in_use}


@dataclass(frozen=True)
class Plan:
    kind: str  # "drain", "rebalance" or "consolidate"
    moves: tuple[Move, ...]
    unmovable: tuple[Stuck, ...]
    emptied: tuple[str, ...]  # hosts the plan leaves without VMs
    before: FleetCost
    after: FleetCost
    hosts_before: tuple[HostLoad, ...]  # in fleet order
    hosts_after: tuple[HostLoad, ...]
    notes: tuple[str, ...]  # why the plan stopped, hosts whose VMs are unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "moves": [m.to_json() for m in self.moves],
            "unmovable": [s.to_json() for s in self.unmovable],
            "emptied": list(self.emptied),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "hosts_before": [h.to_json() for h in self.hosts_before],
            "hosts_after": [h.to_json() for h in self.hosts_after],
            "notes": list(self.notes),
        }


class _Work:
    """The fleet being planned: the scheduler's FleetState and engine plus who runs which VM."""

    def __init__(self, config: VmConfig, model: FleetModel) -> None:
        self.model = model
        self.state = FleetState(config, model.fleet)
        self.engine = CostEngine(self.state)
        names = self.state.names
        self.known = [model.known(n) for n in names]
        self.vms: list[list[VmSpec]] = [list(model.vms.get(n, ())) for n in names]
        self.current = np.array([self._cost(i) for i in range(self.state.size)], dtype=np.float64)
        self.blocked = np.zeros(self.state.size, dtype=np.bool_)  # may not receive VMs in this plan
        self.before = self.fleet_cost()
        self.hosts_before = self.loads()

    def _cost(self, i: int) -> float:
        return self.cost_at(i, self.state.load(i))

    def cost_at(self, i: int, load: Load) -> float:
        """Host i's cost at this load in the fleet total (0 without VMs, see the module docstring)."""
        if load.vms <= 0:
            return 0.0
        total = self.state.cost_functions[i].explain(load).total
        return total if math.isfinite(total) else INF

    def fleet_cost(self) -> FleetCost:
        finite = np.isfinite(self.current)
        # Summed left to right in name order: the same figure however often it is recomputed.
        total = math.fsum(float(c) for c in self.current[finite])
        return FleetCost(total, int((~finite).sum()), int((self.state.vms > 0).sum()))

    def loads(self) -> tuple[HostLoad, ...]:
        s = self.state
        return tuple(
            HostLoad(
                s.names[i],
                s.profiles[i].id,
                s.states[i],
                int(s.vms[i]),
                int(s.vcpus[i]),
                s.profiles[i].cores,
                int(s.memory[i]),
                s.profiles[i].memory,
                float(self.current[i]),
            )
            for i in (int(j) for j in s.fleet_order)
        )

    def target(self, request: Request, source: int) -> tuple[int, float]:
        """The scheduler's choice for this VM among hosts the plan allows (never its own host)."""
        costs = self.engine.costs(request)
        mask = self.blocked.copy()
        mask[source] = True
        masked = np.where(mask, INF, costs)
        i = int(masked.argmin()) if masked.size else -1
        return (i, float(masked[i])) if i >= 0 and masked[i] != INF else (-1, INF)

    def move(self, vm: VmSpec, source: int, target: int) -> Move:
        request = vm.request
        src_before, dst_before = float(self.current[source]), float(self.current[target])
        self.state.remove(Allocation(source, request, ()))
        self.state.add(target, request)
        self.vms[source].remove(vm)
        self.vms[target].append(vm)
        self.current[source] = self._cost(source)
        self.current[target] = self._cost(target)
        names = self.state.names
        return Move(
            vm.id,
            vm.vcpus,
            vm.memory,
            names[source],
            names[target],
            src_before,
            float(self.current[source]),
            dst_before,
            float(self.current[target]),
        )

    def undo(self, move: Move) -> None:
        index = self.state.index
        vm = next(v for v in self.vms[index[move.target]] if v.id == move.vm)
        self.move(vm, index[move.target], index[move.source])

    def source_ok(self, i: int) -> bool:
        # A Disabled host is not connected: nothing can be migrated off it.
        return self.known[i] and self.state.states[i] is not HostState.DISABLED

    def unmovable(self, hosts: Iterable[int]) -> list[Stuck]:
        return [
            Stuck(vm.id, self.state.names[i], vm.unmovable)
            for i in hosts
            for vm in self.vms[i]
            if vm.unmovable is not None
        ]

    def unknown_note(self) -> list[str]:
        unknown = [
            self.state.names[i] for i in range(self.state.size) if not self.known[i] and self.state.vms[i] > 0
        ]
        if not unknown:
            return []
        shown = ", ".join(unknown[:10]) + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else "")
        return [f"VMs not known on {len(unknown)} host(s), their load stays put: {shown}"]

    def plan(
        self, kind: str, moves: list[Move], stuck: list[Stuck], emptied: list[str], notes: list[str]
    ) -> Plan:
        return Plan(
            kind,
            tuple(moves),
            tuple(stuck),
            tuple(emptied),
            self.before,
            self.fleet_cost(),
            self.hosts_before,
            self.loads(),
            tuple(notes + self.unknown_note()),
        )


def _biggest_first(vms: Iterable[VmSpec]) -> list[VmSpec]:
    # The drain action's order (tui/services/actions/drain.py): the hardest to place goes first.
    return sorted(vms, key=lambda v: (-v.memory, -v.vcpus, v.id))


# --- drain preview -----------------------------------------------------------------------------------
def drain_preview(config: VmConfig, model: FleetModel, host: str) -> Plan:
    """Where each VM of `host` would go with the host set to No Scheduling, and the fleet afterwards."""
    if host not in model.fleet.by_name():
        raise FleetError(f"no host named {host!r} in the fleet")
    if not model.known(host):
        raise FleetError(f"the VMs of {host!r} are not known (no vm_list, or the host is unreachable)")
    work = _Work(config, with_state(model, host, HostState.NO_SCHEDULING))
    source = work.state.index[host]
    moves: list[Move] = []
    stuck = work.unmovable([source])
    for vm in _biggest_first(v for v in list(work.vms[source]) if v.unmovable is None):
        target, _cost = work.target(vm.request, source)
        if target < 0:
            reason = rejection_reason(work.state, work.engine, vm.request)
            stuck.append(Stuck(vm.id, host, f"no host takes it: {reason}"))
            continue
        moves.append(work.move(vm, source, target))
    emptied = [host] if not work.vms[source] else []
    return work.plan("drain", moves, stuck, emptied, [])


# --- rebalance ---------------------------------------------------------------------------------------
def _gain(src_before: float, src_after: float, dst_before: float, dst_after: float) -> tuple[int, float]:
    """(change in infinite hosts, change in the finite total) of one move; lower is better."""
    dinf = int(not math.isfinite(src_after)) - int(not math.isfinite(src_before))
    fin = (src_after if math.isfinite(src_after) else 0.0) - (
        src_before if math.isfinite(src_before) else 0.0
    )
    return dinf, fin + (dst_after - dst_before)


def rebalance_plan(config: VmConfig, model: FleetModel, max_moves: int = DEFAULT_MAX_MOVES) -> Plan:
    """Greedy: repeatedly take the single live migration that lowers the fleet's total cost most
    (ties: VM id, then target name), until no move helps or `max_moves` is reached. Every move is
    improving on its own, so the total never rises along the plan, and each is one the scheduler
    would make (the target's placement cost is below the source's current cost)."""
    if max_moves < 0:
        raise ValueError("max moves cannot be negative")
    work = _Work(config, model)
    state = work.state
    sources = [i for i in range(state.size) if work.source_ok(i)]
    stuck = work.unmovable(sources)
    moves: list[Move] = []
    removal: dict[tuple[object, Request], float] = {}  # (source load key, shape) -> source cost after
    notes: list[str] = []
    while len(moves) < max_moves:
        best: tuple[tuple[int, float], str, str] | None = None
        chosen: tuple[VmSpec, int, int] | None = None
        targets: dict[Request, np.ndarray[Any, np.dtype[np.float64]]] = {}
        placements: dict[Request, np.ndarray[Any, np.dtype[np.float64]]] = {}
        for i in sources:
            for vm in work.vms[i]:
                if vm.unmovable is not None:
                    continue
                request = vm.request
                if request not in targets:
                    # What each host would cost with this VM, minus what it costs now; hosts that
                    # may not take it (or are overloaded already) are never targets.
                    # engine.costs is the placement cost; an empty host's current cost is 0 here,
                    # so filling it pays its whole cost, offset included.
                    after = placements[request] = work.engine.costs(request)
                    with np.errstate(invalid="ignore"):  # inf - inf on overloaded hosts, masked
                        delta = np.where(np.isfinite(work.current) & ~work.blocked, after - work.current, INF)
                    targets[request] = delta
                delta = targets[request].copy()
                delta[i] = INF
                # The scheduler's own rule: only where placing it costs less than staying costs.
                delta[placements[request] >= work.current[i]] = INF
                j = int(delta.argmin())
                if delta[j] == INF:
                    continue
                key = (state.load_keys[i], request)
                src_after = removal.get(key)
                if src_after is None:
                    load = state.load(i)
                    fewer = Load(load.vms - 1, load.vcpus - vm.vcpus, load.memory - vm.memory, load.devices)
                    src_after = removal[key] = work.cost_at(i, fewer)
                dst_before = float(work.current[j])
                gain = _gain(float(work.current[i]), src_after, dst_before, dst_before + float(delta[j]))
                candidate = (gain, vm.id, state.names[j])
                if best is None or candidate < best:
                    best, chosen = candidate, (vm, i, j)
        if (
            best is None
            or chosen is None
            or not (best[0][0] < 0 or (best[0][0] == 0 and best[0][1] < -MIN_GAIN))
        ):
            notes.append("no further move lowers the fleet's total cost")
            break
        vm, i, j = chosen
        moves.append(work.move(vm, i, j))
    else:
        notes.append(f"stopped at the limit of {max_moves} moves")
    return work.plan("rebalance", moves, stuck, [], notes)


# --- consolidation -----------------------------------------------------------------------------------
def consolidation_plan(
    config: VmConfig, model: FleetModel, max_hosts: int | None = None, max_moves: int = 50
) -> Plan:
    """Empty the fewest-loaded hosts (fewest VMs, then memory, vCPUs, name) one whole host at a time.

    A host is emptied only if every VM on it can move (no PCI devices, a target for each): otherwise
    its moves are undone and it is reported. VMs go where the scheduler would put them, except onto
    hosts that are empty, being emptied, or were emptied (that would only move the problem); a host
    that received VMs in this plan is not emptied later (no VM moves twice)."""
    if max_moves < 0 or (max_hosts is not None and max_hosts < 0):
        raise ValueError("limits cannot be negative")
    work = _Work(config, model)
    state = work.state
    work.blocked |= state.vms == 0  # already empty hosts stay empty
    receivers: set[int] = set()
    tried: set[int] = set()
    moves: list[Move] = []
    emptied: list[str] = []
    notes: list[str] = []
    stuck = work.unmovable(i for i in range(state.size) if work.source_ok(i))
    pinned = {s.host for s in stuck}
    while max_hosts is None or len(emptied) < max_hosts:
        pool = [
            i
            for i in range(state.size)
            if work.source_ok(i)
            and state.vms[i] > 0
            and i not in tried
            and i not in receivers
            and state.names[i] not in pinned
        ]
        if not pool:
            break
        host = min(pool, key=lambda i: (state.vms[i], state.memory[i], state.vcpus[i], state.names[i]))
        tried.add(host)
        vms = _biggest_first(work.vms[host])
        if len(moves) + len(vms) > max_moves:
            notes.append(
                f"stopped at the limit of {max_moves} moves ({state.names[host]} needs {len(vms)} more)"
            )
            break
        work.blocked[host] = True
        done: list[Move] = []
        failed: str | None = None
        for vm in vms:
            target, _cost = work.target(vm.request, host)
            if target < 0:
                failed = f"cannot empty {state.names[host]}: no other host takes {vm.id} ({vm.vcpus} vCPUs, {vm.memory} B)"
                break
            done.append(work.move(vm, host, target))
        if failed is not None:
            for move in reversed(done):
                work.undo(move)
            work.blocked[host] = False
            notes.append(failed)
            continue
        moves.extend(done)
        receivers.update(state.index[m.target] for m in done)
        emptied.append(state.names[host])
    pinned_note = sorted(pinned)
    if pinned_note:
        notes.append(f"not emptied, VMs that cannot move: {', '.join(pinned_note)}")
    return work.plan("consolidate", moves, stuck, emptied, notes)
