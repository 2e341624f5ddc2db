"""Drain a host (virtdc's "host removal"): No Scheduling with a reason, a plan, then bounded migrations.

1. The drain holds the host's lease throughout. The host is set to No Scheduling (set_host_state:
   the one path for state changes, with the admin's reason) so nothing new lands on it while it
   empties; a dry run only plans.
2. The scheduler plans a destination for every running VM — biggest first, each placement counted
   before the next (FleetState.add), so the plan never relies on the same room twice. Shut-off VMs
   move cold (coldmigrate.py: defined on the target, undefined here; marked `cold`), to the host the
   scheduler would start them on, without counting against its load (they hold nothing). VMs that
   cannot move (PCI devices, no feasible host) are listed with the reason before anything moves.
3. At most `parallel` live migrations run at once; each result is reported as it lands (a callback
   from a worker thread: the UI posts a message, the CLI prints a line); each holds its VM's lease
   and is audited as vm.migrate (intent, then outcome).
4. Afterwards the host is polled again: it is empty, or its leftovers are listed.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.core.fleet import HostState
from tui.core.live import DomainFacts, DomainState
from tui.core.scheduling import CostEngine, FleetState
from tui.core.scheduling.explain import rejection_reason
from tui.services.actions.coldmigrate import cold_migrate_domain, cold_refusal
from tui.services.actions.deck import Deck, Note
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.migrate import migrate_domain, movable, shape_of
from tui.services.actions.outcome import Failed, Outcome, Refused


@dataclass(frozen=True)
class DrainMove:
    vm: str
    uuid: str
    to: str
    cost: float
    vcpus: int
    memory: int
    cold: bool = False  # a shut-off VM: its definition moves, nothing runs

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Unmovable:
    vm: str
    uuid: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DrainPlan:
    host: str
    moves: tuple[DrainMove, ...]
    unmovable: tuple[Unmovable, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "moves": [m.to_json() for m in self.moves],
            "unmovable": [u.to_json() for u in self.unmovable],
        }


@dataclass(frozen=True)
class MoveResult:
    move: DrainMove
    ok: bool
    message: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.move.vm,
            "to": self.move.to,
            "ok": self.ok,
            "message": self.message,
            "seconds": self.seconds,
        }


def plan_drain(deck: Deck, host: str) -> DrainPlan:
    """Where each VM of `host` would go, with the host treated as No Scheduling."""
    record = deck.host(host)
    snap = deck.snapshots().get(host)
    if snap is None or not snap.live:
        raise Refused(f"host {host!r} is unreachable: cannot see its VMs to plan a drain")
    state = FleetState(deck.config, deck.fleet(record.realm, unschedulable=(host,)))
    engine = CostEngine(state)
    moves: list[DrainMove] = []
    stuck: list[Unmovable] = []
    order = sorted(snap.domains, key=lambda d: (-d.memory, -d.vcpus, d.name))
    for facts in order:
        if not facts.state.holds_resources:
            _plan_cold(state, engine, facts, moves, stuck)
            continue
        why = movable(facts)
        if why:
            stuck.append(Unmovable(facts.name, facts.uuid, why))
            continue
        shape = shape_of(facts)
        i, cost = engine.decide(shape)
        if i < 0:
            stuck.append(Unmovable(facts.name, facts.uuid, rejection_reason(state, engine, shape)))
            continue
        state.add(i, shape)  # the next VM sees this one already placed
        moves.append(DrainMove(facts.name, facts.uuid, state.names[i], cost, facts.vcpus, facts.memory))
    return DrainPlan(host, tuple(moves), tuple(stuck))


def _plan_cold(
    state: FleetState, engine: CostEngine, facts: DomainFacts, moves: list[DrainMove], stuck: list[Unmovable]
) -> None:
    why = cold_refusal(facts)
    shape = shape_of(facts)
    i, cost = (-1, 0.0) if why else engine.decide(shape)
    if why or i < 0:
        stuck.append(Unmovable(facts.name, facts.uuid, why or rejection_reason(state, engine, shape)))
        return
    moves.append(
        DrainMove(facts.name, facts.uuid, state.names[i], cost, facts.vcpus, facts.memory, cold=True)
    )


def drain_host(
    deck: Deck,
    host: str,
    reason: str,
    *,
    dry_run: bool = False,
    parallel: int = 4,
    on_plan: Callable[[DrainPlan], None] | None = None,
    on_result: Callable[[MoveResult], None] | None = None,
) -> Outcome:
    def body(note: Note) -> str:
        note.host = host
        if not reason or not reason.strip():
            raise Refused("draining a host needs a reason (--reason TEXT)")
        if parallel < 1:
            raise Refused(f"--parallel must be at least 1, got {parallel}")
        record, _ = deck.connect(host)
        if not dry_run and record.state is HostState.ENABLED:
            # The one path for a state change; this thread holds the host's lease, so it is reused.
            changed = set_host_state(deck, host, HostState.NO_SCHEDULING, reason)
            if not changed.ok:
                raise Refused(f"cannot set {host} to No Scheduling: {changed.message}")
            note.details["state"] = HostState.NO_SCHEDULING.value
        with deck.placement_lock:
            plan = plan_drain(deck, host)
            if not dry_run:
                for m in plan.moves:
                    if not m.cold:
                        deck.add_pending(m.uuid, m.to, m.vcpus, m.memory, ())
        note.details["plan"] = plan.to_json()
        if on_plan is not None:
            on_plan(plan)
        if dry_run:
            return (
                f"plan for {host}: {len(plan.moves)} VM(s) would move, {len(plan.unmovable)} cannot "
                "(dry run: nothing changed)"
            )
        began = time.perf_counter()
        results = _execute(deck, plan, parallel, reason, on_result)
        note.details["results"] = [r.to_json() for r in results]
        note.details["seconds"] = time.perf_counter() - began
        snaps = deck.wait_refreshed((host,))
        snap = snaps.get(host)
        left = sorted(d.name for d in snap.domains) if snap is not None and snap.live else None
        note.details["leftovers"] = left
        moved = sum(r.ok for r in results)
        failed = [r for r in results if not r.ok]
        summary = f"{host}: {moved} of {len(plan.moves)} VM(s) migrated in {note.details['seconds']:.1f} s"
        if left is None:
            raise Failed(f"{summary}; the host did not answer afterwards, leftovers unknown")
        if failed or left:
            parts = [f"{len(failed)} migration(s) failed"] if failed else []
            if left:
                parts.append(f"still on the host: {', '.join(left)}")
            raise Failed(f"{summary}; {'; '.join(parts)}")
        return f"{summary}; the host is empty"

    return deck.run("host.drain", host, body, reason=reason, mutates=not dry_run)


def _execute(
    deck: Deck,
    plan: DrainPlan,
    parallel: int,
    reason: str,
    on_result: Callable[[MoveResult], None] | None,
) -> list[MoveResult]:
    """Run the moves with at most `parallel` in flight. The workers are daemon threads and every
    libvirt call they make is bounded, so a hung host costs a bounded wait, never a hung process."""
    todo: queue.SimpleQueue[DrainMove | None] = queue.SimpleQueue()
    for m in plan.moves:
        todo.put(m)
    workers = min(parallel, len(plan.moves))
    for _ in range(workers):
        todo.put(None)
    results: list[MoveResult] = []
    lock = threading.Lock()

    def work() -> None:
        while (move := todo.get()) is not None:
            result = _one(deck, plan.host, move, reason)
            with lock:
                results.append(result)
            if on_result is not None:
                with contextlib.suppress(Exception):  # a broken reporter must not stop the drain
                    on_result(result)

    threads = [threading.Thread(target=work, name=f"drain-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order = {m.uuid: i for i, m in enumerate(plan.moves)}
    return sorted(results, key=lambda r: order[r.move.uuid])


def _one(deck: Deck, source: str, move: DrainMove, reason: str) -> MoveResult:
    """One move of a drain, on the action path: it holds the VM's lease, with its own intent/outcome."""
    began = time.perf_counter()
    state = DomainState.SHUTOFF if move.cold else DomainState.RUNNING
    facts = DomainFacts(move.vm, move.uuid, state, move.vcpus, move.memory, move.memory)

    def body(note: Note) -> str:
        note.host = source
        note.details.update({"from": source, "to": move.to, "cold": move.cold})
        target = deck.host(move.to)
        if target.state is not HostState.ENABLED:
            raise Refused(f"target {move.to!r} became {target.state.label} after planning")
        if move.cold:
            began_cold = time.perf_counter()
            cold_migrate_domain(deck, source, move.to, facts)
            note.details["seconds"] = time.perf_counter() - began_cold
        else:
            note.details["seconds"] = migrate_domain(deck, source, move.to, facts)
        return f"{move.vm} {source} -> {move.to}{' (cold)' if move.cold else ''}"

    action = "vm.cold-migrate" if move.cold else "vm.migrate"
    outcome = deck.run(action, move.vm, body, reason=f"drain: {reason}")
    if not outcome.ok:
        deck.drop_pending(move.uuid)
    return MoveResult(move, outcome.ok, outcome.message, time.perf_counter() - began)
