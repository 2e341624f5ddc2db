"""Stopping VMs: graceful shutdown with a timeout (then force, if asked), and destroy (undefine: power.py).

A graceful shutdown is an ACPI request the guest may ignore (the test bed's halt-ROM guests always
do: no OS runs there). After the timeout the outcome is TIMED_OUT and offers the next steps — force
(destroy now), or leave it — rather than destroying silently; `force=True` takes the first.
"""

from __future__ import annotations

import time

import libvirt

from tui.core.live import DomainState
from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome, Refused, Result

_STATE_POLL_S = 0.1


def _state(deck: Deck, dom: libvirt.virDomain, name: str) -> DomainState:
    return DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))


def stop_vm(
    deck: Deck,
    name: str,
    *,
    host: str | None = None,
    timeout: float | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Outcome:
    def body(note: Note) -> str:
        where, facts = deck.locate(name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        if not _state(deck, dom, name).holds_resources:
            raise Refused(f"{name} is not running (already shut off)")
        limit = deck.settings.shutdown_timeout if timeout is None else timeout
        began = time.monotonic()
        deck.call(dom.shutdown, what=f"shut down {name}")
        while time.monotonic() - began < limit:
            if not _state(deck, dom, name).holds_resources:
                deck.refresh(where)
                note.details["graceful"] = True
                return f"{name} shut down on {where} after {time.monotonic() - began:.1f} s"
            time.sleep(_STATE_POLL_S)
        if not force:
            note.details["offer"] = ["force", "leave running"]
            raise Failed(
                f"{name} on {where} ignored the shutdown request for {limit:g} s (the guest did not act "
                f"on ACPI): force it off with `vmdeck vms stop {name} --force` or `vmdeck vms destroy {name}`",
                Result.TIMED_OUT,
            )
        deck.call(dom.destroy, what=f"force off {name}")
        deck.refresh(where)
        note.details["graceful"] = False
        return f"{name} did not shut down within {limit:g} s: forced off (destroyed) on {where}"

    return deck.run("vm.stop", name, body, reason=reason)


def destroy_vm(deck: Deck, name: str, *, host: str | None = None, reason: str | None = None) -> Outcome:
    """Power off at once (the definition and the drive stay)."""

    def body(note: Note) -> str:
        where, facts = deck.locate(name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        if not _state(deck, dom, name).holds_resources:
            raise Refused(f"{name} is not running (already shut off)")
        deck.call(dom.destroy, what=f"destroy {name}")
        deck.refresh(where)
        return f"{name} powered off (destroyed) on {where}"

    return deck.run("vm.destroy", name, body, reason=reason)
