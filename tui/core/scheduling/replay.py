"""Replay a stream of start/stop events over a fleet under one policy: the what-if engine.

Each start is placed (host, cost, devices) or rejected (reason); each stop frees its VM's resources.
A stop whose id is unknown, already stopped or was rejected is ignored and counted. The result
carries the final load per host and the fleet's utilisation against the profiles' cores, memory and
devices.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from tui.core.fleet import Fleet
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import rejection_reason
from tui.core.scheduling.policies import make_policy
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import Allocation, FleetState
from tui.core.scheduling.workload import Event, StartEvent


class PlacementRecord(NamedTuple):
    """One start's outcome. A named tuple: a replay makes one per start, and creating a frozen
    dataclass costs several times more."""

    id: str
    host: str | None
    cost: float | None
    devices: tuple[str, ...]
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "cost": self.cost,
            "devices": list(self.devices),
            "reason": self.reason,
        }


# `PlacementRecord(...)` without the named tuple's Python-level __new__.
_record = partial(tuple.__new__, PlacementRecord)


@dataclass(frozen=True)
class ReplayResult:
    policy: str
    events: int
    placed: int
    rejected: int
    ignored_stops: int
    placements: tuple[PlacementRecord, ...]
    hosts: tuple[dict[str, Any], ...]
    utilisation: dict[str, Any]
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        """The replay in one line of figures: what `simulate --policy all`, `compare` and the lab's
        replays print for each policy (one rule, so the three never disagree)."""
        return {
            "policy": self.policy,
            "events": self.events,
            "placed": self.placed,
            "rejected": self.rejected,
            "ignored_stops": self.ignored_stops,
            "utilisation": self.utilisation,
            "elapsed_s": self.elapsed_s,
        }

    def to_json(self) -> dict[str, Any]:
        """The whole result (the key order is simulate --json's documented order)."""
        head = self.summary()
        return {
            **{k: head[k] for k in ("policy", "events", "placed", "rejected", "ignored_stops")},
            "placements": [p.to_json() for p in self.placements],
            "hosts": list(self.hosts),
            "utilisation": head["utilisation"],
            "elapsed_s": head["elapsed_s"],
        }


def replay(config: VmConfig, fleet: Fleet, events: Iterable[Event], policy: str = "cost") -> ReplayResult:
    """Replay `events` in order (any iterable: a file can be streamed through it)."""
    # Overflow and inf - inf in the cost arithmetic become inf by rule (see loadcosts): no warnings,
    # and one errstate for the replay rather than one per cost-table row.
    with collector_paused(), np.errstate(invalid="ignore", over="ignore"):
        return _replay(config, fleet, events, policy)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile: a replay makes no reference cycles, and each
    collection walks every event and record made so far (a fifth of a hard 100,000-event replay's
    time; as much again while `simulate` turns the records into JSON). Nests.

    On the way out, what was made meanwhile is moved to the oldest generation unexamined (a freeze
    and an unfreeze: two list splices). Left young, the first allocation after `gc.enable` would walk
    all of it in one young collection (47 ms after a hard 100,000-event replay, 5 % of it) only to
    promote it; the next full collection examines it as it would have anyway. Skipped while anything
    is frozen (the console's heap watch freezes the survivors of full collections): an unfreeze would
    thaw those too."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _replay(config: VmConfig, fleet: Fleet, events: Iterable[Event], policy: str) -> ReplayResult:
    started = time.perf_counter()
    state = FleetState(config, fleet)
    engine = CostEngine(state)
    engine.matrix.loads.errors_ignored = True  # inside the replay's errstate
    # The cost policy asks the cost matrix directly (one call less per decision); a shape the matrix
    # has no room for (None) goes to the engine, which evaluates it whole.
    direct = engine.matrix.best if policy == "cost" and state.size else _no_decision
    choose = engine.decide if policy == "cost" else make_policy(policy, state, engine).choose
    add, remove, names = state.add, state.remove, state.names
    # For `state.add` and `state.remove` of a VM without devices (most VMs), written out below: no
    # device changes, so its host's load key keeps its profile and devices items (`_changed`'s work
    # with two calls and the sort less: a tenth of a replay's time).
    vms_l, vcpus_l, memory_l, enabled_l = state.vms_l, state.vcpus_l, state.memory_l, state.enabled_l
    load_keys, key_ids, interned, new_key = state.load_keys, state.key_ids, state.interned, state.new_key
    log = state.log
    changed = log.items.append
    # Running VMs: an `Allocation` when the VM took devices (`state.remove` undoes it), else a plain
    # (host, request, ()) tuple: a named tuple costs several times as much to make, once per start.
    running: dict[str, Allocation | tuple[int, Request, tuple[()]]] = {}
    records: list[PlacementRecord] = []
    record = records.append
    # Why a shape with no devices is rejected depends only on counts a replay never changes (the
    # hosts' states): worked out once. A shape with devices also depends on the free devices.
    plain_reason: str | None = None
    count = ignored = placed = 0
    # Running totals for the peak: with every VM stopped by the end, the final load says little.
    vcpus_now = peak_vcpus = sum(state.vcpus_l)
    memory_now = peak_memory = sum(state.memory_l)
    for event in events:
        count += 1
        if isinstance(event, StartEvent):
            request = event.request
            vm = event.id
            if vm in running:
                raise ValueError(f"start of {vm!r} while it is still running")
            decision = direct(request)
            i, cost = decision if decision is not None else choose(request)
            if i < 0:
                if request.devices:
                    reason = rejection_reason(state, engine, request)
                elif plain_reason is None:
                    reason = plain_reason = rejection_reason(state, engine, request)
                else:
                    reason = plain_reason
                record(_record((vm, None, None, (), reason)))
                continue
            vcpus, memory = request.vcpus, request.memory
            if request.devices:
                allocation = running[vm] = add(i, request)
                taken = allocation.devices
            else:
                # `state.add(i, request)` without devices, written out (see above).
                running[vm] = (i, request, ())
                taken = ()
                vms = vms_l[i] = vms_l[i] + 1
                on = vcpus_l[i] = vcpus_l[i] + vcpus
                held = memory_l[i] = memory_l[i] + memory
                old = load_keys[i]
                load = load_keys[i] = (old[0], vms, on, held, old[4])
                kid = interned.get(load if enabled_l[i] else (False, load))
                key_ids[i] = kid if kid is not None else new_key(i)
                changed(i)
                log.end += 1
            placed += 1
            vcpus_now += vcpus
            memory_now += memory
            if vcpus_now > peak_vcpus:
                peak_vcpus = vcpus_now
            if memory_now > peak_memory:
                peak_memory = memory_now
            record(_record((vm, names[i], cost, taken, None)))
        else:
            stopped = running.pop(event.id, None)
            if stopped is None:
                ignored += 1
                continue
            i, request, taken = stopped
            vcpus, memory = request.vcpus, request.memory
            if taken:
                assert isinstance(stopped, Allocation)  # only `state.add` gives devices
                remove(stopped)
            else:
                # `state.remove(stopped)` without devices, written out (see above).
                vms = vms_l[i] = vms_l[i] - 1
                on = vcpus_l[i] = vcpus_l[i] - vcpus
                held = memory_l[i] = memory_l[i] - memory
                old = load_keys[i]
                load = load_keys[i] = (old[0], vms, on, held, old[4])
                kid = interned.get(load if enabled_l[i] else (False, load))
                key_ids[i] = kid if kid is not None else new_key(i)
                changed(i)
                log.end += 1
            vcpus_now -= vcpus
            memory_now -= memory
    elapsed = time.perf_counter() - started
    return ReplayResult(
        policy=policy,
        events=count,
        placed=placed,
        rejected=len(records) - placed,
        ignored_stops=ignored,
        placements=tuple(records),
        hosts=tuple(state.hosts_json(state.fleet_order.tolist())),
        utilisation={**utilisation(state), "peak": {"vcpus": int(peak_vcpus), "memory": int(peak_memory)}},
        elapsed_s=elapsed,
    )


def _no_decision(request: Request) -> None:
    """No direct decision: the policy's `choose` decides."""
    return None


def utilisation(state: FleetState) -> dict[str, Any]:
    """vCPUs, memory and devices in use against what the profiles provide (all hosts)."""
    vcpus, cores = float(state.vcpus.sum()), float(state.cores.sum())
    memory, capacity = float(state.memory.sum()), float(state.capacity.sum())
    devices = {}
    for kind in state.device_types:
        total = float((state.in_use[kind] + state.free[kind]).sum())
        if total:
            used = float(state.in_use[kind].sum())
            devices[kind] = {"used": int(used), "total": int(total), "share": used / total}
    return {
        "vcpus": {"used": int(vcpus), "capacity": int(cores), "share": vcpus / cores if cores else 0.0},
        "memory": {
            "used": int(memory),
            "capacity": int(capacity),
            "share": memory / capacity if capacity else 0.0,
        },
        "devices": devices,
    }
