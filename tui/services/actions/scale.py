"""Live scaling of a running VM's vCPUs and memory within the domain's maximum (virtdc's scaling).

Refused before libvirt is asked: counts outside 1..max vCPUs or above the maximum memory, and growth
that makes the host's cost function infinite (the same cost function the scheduler uses, evaluated at
the host's load with the change applied). What the guest does with it is up to the guest: vCPU
hot-unplug needs guest ACPI cooperation and memory changes go through the virtio balloon, so the
result reports what libvirt reports afterwards.
"""

from __future__ import annotations

from dataclasses import replace

import libvirt

from tui.core.costs import Load
from tui.core.live import DomainState
from tui.core.scheduling.explain import term_reason
from tui.core.units import format_size
from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome, Refused

_LIVE_AND_CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG


def scale_vm(
    deck: Deck,
    name: str,
    *,
    vcpus: int | None = None,
    memory: int | None = None,
    host: str | None = None,
    reason: str | None = None,
) -> Outcome:
    def body(note: Note) -> str:
        if vcpus is None and memory is None:
            raise Refused("nothing to scale: give --vcpus and/or --memory")
        where, facts = deck.locate(name, host)
        note.host = where
        record, conn = deck.connect(where)
        if facts.state not in (DomainState.RUNNING, DomainState.PAUSED, DomainState.BLOCKED):
            raise Refused(f"{name} is {facts.state.value}: live scaling needs a running VM")
        dom = deck.domain(conn, facts)
        max_vcpus = int(
            deck.call(dom.vcpusFlags, libvirt.VIR_DOMAIN_VCPU_MAXIMUM, what=f"max vCPUs of {name}")
        )
        # The live numbers, not the last poll's: an earlier change may not have been polled yet.
        _, max_kib, kib, cur_vcpus, _ = deck.call(dom.info, what=f"read {name}")
        facts = replace(facts, vcpus=int(cur_vcpus), memory=int(kib) * 1024, max_memory=int(max_kib) * 1024)
        max_memory = facts.max_memory
        new_vcpus = facts.vcpus if vcpus is None else vcpus
        new_memory = facts.memory if memory is None else memory
        if not 1 <= new_vcpus <= max_vcpus:
            raise Refused(
                f"{name} can have 1..{max_vcpus} vCPUs (its maximum, set when it was defined), not {new_vcpus}"
            )
        if not 0 < new_memory <= max_memory:
            raise Refused(
                f"{name} can have up to {format_size(max_memory)} of memory (its maximum), "
                f"not {format_size(new_memory)}"
            )
        _check_cost(deck, where, record.profile, new_vcpus - facts.vcpus, new_memory - facts.memory)
        note.details["before"] = {"vcpus": facts.vcpus, "memory": facts.memory}
        done = []
        if new_vcpus != facts.vcpus:
            try:
                deck.call(dom.setVcpusFlags, new_vcpus, _LIVE_AND_CONFIG, what=f"set vCPUs of {name}")
            except libvirt.libvirtError as exc:
                raise Failed(
                    f"libvirt refused {facts.vcpus} -> {new_vcpus} vCPUs: {exc.get_error_message()}"
                ) from None
            done.append(f"vCPUs {facts.vcpus} -> {new_vcpus}")
        if new_memory != facts.memory:
            kib = -(-new_memory // 1024)
            deck.call(dom.setMemoryFlags, kib, _LIVE_AND_CONFIG, what=f"set memory of {name}")
            done.append(f"memory {format_size(facts.memory)} -> {format_size(new_memory)} requested")
        info = deck.call(dom.info, what=f"read {name}")
        note.details["after"] = {"vcpus": int(info[3]), "memory": int(info[2]) * 1024}
        note.details["requested"] = {"vcpus": new_vcpus, "memory": new_memory}
        deck.refresh(where)
        if not done:
            return f"{name} already has {new_vcpus} vCPUs and {format_size(new_memory)}"
        now = f"libvirt now reports {int(info[3])} vCPUs, {format_size(int(info[2]) * 1024)}"
        return f"{name} on {where}: {', '.join(done)}; {now}"

    return deck.run("vm.scale", name, body, reason=reason)


def _check_cost(deck: Deck, host: str, profile_id: str, d_vcpus: int, d_memory: int) -> None:
    """Growth must keep the host's cost finite; shrinking is always allowed."""
    if d_vcpus <= 0 and d_memory <= 0:
        return
    fleet = {h.name: h for h in deck.fleet().hosts}
    fh = fleet.get(host)
    if fh is None:
        raise Refused(f"host {host!r} has no hardware profile or realm in the config")
    profile = deck.config.hardware_profiles[profile_id]
    load = fh.load(profile)
    after = Load(load.vms, load.vcpus + max(0, d_vcpus), load.memory + max(0, d_memory), load.devices)
    breakdown = deck.config.cost_function_of(profile_id).explain(after)
    if not breakdown.feasible:
        first = breakdown.first_infinite()
        why = term_reason(first) if first is not None else f"total {breakdown.total}"
        raise Refused(f"host {host!r}'s cost function refuses this growth: {why}")
