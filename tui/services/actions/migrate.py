"""Live migration to a chosen host or the scheduler's best other host (virtdc: balancing,
consolidation, host removal).

Pre-checks before anything moves: the VM is running and has no PCI host devices (a passed-through
device cannot follow a live migration); the target is another host, Enabled, reachable, and its cost
function gives a finite cost with the VM added. The migration itself is libvirt's managed direct
migration (LIVE | PERSIST_DEST | UNDEFINE_SOURCE): the definition moves with the VM.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import libvirt

from tui.core.fleet import HostState
from tui.core.live import DomainFacts, ManagedVm
from tui.core.scheduling import CostEngine, FleetState, Request, explain_request
from tui.core.scheduling.explain import verdict
from tui.core.whatif.fleetmodel import VmSpec
from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome, Refused

_FLAGS = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE


@dataclass(frozen=True)
class Target:
    host: str
    cost: float


def shape_of(facts: DomainFacts) -> Request:
    """What the VM adds to a host's load (devices are refused before: they cannot migrate)."""
    return Request.of(facts.vcpus, facts.memory)


def movable(facts: DomainFacts) -> str | None:
    """Why this VM cannot be live-migrated, or None (the core's rule, which the lab's plans use too)."""
    return VmSpec.of_domain(facts).unmovable


def check_target(deck: Deck, source: str, facts: DomainFacts, target: str | None) -> Target:
    """The target (named, or the scheduler's best other host in the source's realm), with its cost."""
    src_record = deck.host(source)
    fleet = deck.fleet(src_record.realm, unschedulable=(source,))
    state = FleetState(deck.config, fleet)
    shape = shape_of(facts)
    if target is None:
        placement = explain_request(state, CostEngine(state), shape)
        if placement.host is None or placement.cost is None:
            reasons = "; ".join(f"{v.host}: {v.reason}" for v in placement.candidates if v.host != source)
            raise Refused(f"no other host can take {facts.name}: {reasons or 'the realm has no other host'}")
        return Target(placement.host, placement.cost)
    if target == source:
        raise Refused(f"{facts.name} is already on {target!r}")
    record = deck.host(target)
    if record.realm != src_record.realm:
        raise Refused(f"host {target!r} is in realm {record.realm!r}, not {src_record.realm!r}")
    if record.state is not HostState.ENABLED:
        raise Refused(f"host {target!r} is {record.state.label}: it accepts no VMs")
    i = state.index.get(target)
    if i is None:
        raise Refused(f"host {target!r} has an unknown hardware profile {record.profile!r}")
    v = verdict(state, i, shape)
    if not v.feasible or v.cost is None:
        raise Refused(f"host {target!r} refuses {facts.name}: {v.reason}")
    return Target(target, v.cost)


def migrate_vm(
    deck: Deck, name: str, *, to: str | None = None, host: str | None = None, reason: str | None = None
) -> Outcome:
    def body(note: Note) -> str:
        source, facts = deck.locate(name, host)
        note.host = source
        note.details["from"] = source
        if not facts.state.holds_resources and not facts.hostdevs:
            raise Refused(
                f"{name} is {facts.state.value}: move it cold with `vmdeck vms cold-migrate {name}`"
            )
        why = movable(facts)
        if why:
            raise Refused(f"{name} {why}")
        with deck.placement_lock:
            target = check_target(deck, source, facts, to)
            deck.add_pending(facts.uuid, target.host, facts.vcpus, facts.memory, ())
        note.details.update(to=target.host, cost=target.cost)
        try:
            took = migrate_domain(deck, source, target.host, facts)
        except BaseException:
            deck.drop_pending(facts.uuid)
            raise
        note.details["seconds"] = took
        return (
            f"{name} live-migrated {source} -> {target.host} in {took:.2f} s (cost there {target.cost:.6g})"
        )

    return deck.run("vm.migrate", name, body, reason=reason)


def migrate_domain(deck: Deck, source: str, target: str, facts: DomainFacts) -> float:
    """Move one running domain; returns the seconds the migration call took."""
    _, src = deck.connect(source)
    _, dst = deck.connect(target)
    dom = deck.domain(src, facts)
    params: dict[str, object] = {}
    uri = deck.settings.migrate_uri(target)
    if uri:
        params[libvirt.VIR_MIGRATE_PARAM_URI] = uri
    flags = _FLAGS | (libvirt.VIR_MIGRATE_UNSAFE if deck.settings.assume_shared_storage else 0)
    began = time.perf_counter()
    try:
        deck.call(
            dom.migrate3,
            dst,
            params,
            flags,
            what=f"migrate {facts.name} to {target}",
            timeout=deck.settings.migrate_timeout,
        )
    except libvirt.libvirtError as exc:
        text = exc.get_error_message() or str(exc)
        hint = ""
        if "shared storage" in text:
            hint = " (if the drives are on storage both hosts see, allow it with --assume-shared-storage)"
        raise Failed(f"migration of {facts.name} {source} -> {target} failed: {text}{hint}") from None
    took = time.perf_counter() - began
    managed = {vm.uuid.lower() for vm in deck.store.managed_vms()}
    if facts.uuid.lower() in managed:
        deck.store.record_vm(ManagedVm(facts.uuid, facts.name, target), reason=f"migrated from {source}")
    deck.refresh(source, target)
    return took
