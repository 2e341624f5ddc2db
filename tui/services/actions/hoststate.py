"""A host's state change (Enabled / No Scheduling / Disabled) on the one action path.

The console, `vmdeck hosts state` and a drain all call `set_host_state`: read-only mode refuses it,
the host's lease is held (a drain already holding it reuses it), and the store writes the change
with its audit entry first. No host is connected for it: a state change is a fact about the
inventory, so an `ActionPath` with only a store is enough (the CLI opens no poller for it).
"""

from __future__ import annotations

from tui.core.fleet import HostState
from tui.core.hosts import HostError
from tui.services.actions.outcome import Outcome, Refused
from tui.services.actions.path import ActionPath, Note

ACTION = "host.state"


def set_host_state(path: ActionPath, name: str, state: HostState, reason: str) -> Outcome:
    """Set `name`'s state; the Outcome's details hold "record" (the new HostRecord) and "previous"."""

    def body(note: Note) -> str:
        note.host = name
        if not reason or not reason.strip():
            raise Refused(f"changing the state of {name!r} needs a reason (--reason TEXT)")
        before = path.store.host(name)
        if before is None:
            known = ", ".join(h.name for h in path.store.hosts()) or "none"
            raise Refused(f"no host named {name!r} (hosts: {known})")
        note.details["previous"] = before.state.value
        if before.state is state:
            note.details["state"] = state.value
            return f"host {name} is already {state.label}: nothing changed"
        try:
            after = path.store.set_state(name, state, reason.strip())
        except HostError as exc:
            raise Refused(str(exc)) from None
        note.details["state"] = after.state.value
        return f"host {name}: {before.state.label} -> {after.state.label}"

    return path.run(ACTION, name, body, reason=reason, audit_intent=False)
