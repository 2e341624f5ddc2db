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
from typing import Any

import numpy as np

from tui.core.costs import Load
from tui.core.curves import INF
from tui.core.fleet import FleetError, HostState
from tui.core.model import VmConfig
from tui.core.scheduling.explain import rejection_reason
from tui.core.scheduling.request import Request
from tui.core.whatif.fleetmodel import FleetModel, VmSpec, with_state
from tui.core.whatif.plan_data import Move, Plan, Stuck
from tui.core.whatif.planning import PlanWork, biggest_first

DEFAULT_MAX_MOVES = 20
MIN_GAIN = 1e-9  # a rebalancing move must lower the total by more than this (float noise is not a gain)


# --- drain preview -----------------------------------------------------------------------------------
def drain_preview(config: VmConfig, model: FleetModel, host: str) -> Plan:
    """Where each VM of `host` would go with the host set to No Scheduling, and the fleet afterwards."""
    if host not in model.fleet.by_name():
        raise FleetError(f"no host named {host!r} in the fleet")
    if not model.known(host):
        raise FleetError(f"the VMs of {host!r} are not known (no vm_list, or the host is unreachable)")
    work = PlanWork(config, with_state(model, host, HostState.NO_SCHEDULING))
    source = work.state.index[host]
    moves: list[Move] = []
    stuck = work.unmovable([source])
    for vm in biggest_first(v for v in list(work.vms[source]) if v.unmovable is None):
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
    work = PlanWork(config, model)
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
    work = PlanWork(config, model)
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
        vms = biggest_first(work.vms[host])
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
