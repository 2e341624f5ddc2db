"""A host's state change (Enabled / No Scheduling / Disabled) on the one action path.

The console, `vmdeck hosts state` and a drain all call `set_host_state`: read-only mode refuses it,
the host's lease is held (a drain already holding it reuses it), and the store writes the change
with its audit entry first. No host is connected for it: a state change is a fact about the
inventory, so an `ActionPath` with only a store is enough (the CLI opens no poller for it).
"""

from __future__ import annotations

from tui.core.fleet import HostState
from tui.core.hosts import HostError, missing_state_reason
from tui.services.actions.outcome import Outcome, Refused, Result
from tui.services.actions.path import READ_ONLY_MESSAGE, ActionPath, Note

ACTION = "host.state"


def set_host_state(path: ActionPath, name: str, state: HostState, reason: str) -> Outcome:
    """Set `name`'s state; the Outcome's details hold "record" (the new HostRecord) and "previous"."""

    # Checks that need neither a lease nor an answer come first, and refuse without writing.
    refusal = None
    if path.read_only:
        refusal = READ_ONLY_MESSAGE
    elif why := missing_state_reason(name, reason):
        refusal = why
    elif path.store.host(name) is None:
        known = ", ".join(h.name for h in path.store.hosts()) or "none"
        refusal = f"no host named {name!r} (hosts: {known})"
    if refusal is not None:
        return Outcome(ACTION, name, name, Result.REFUSED, refusal)

    def body(note: Note) -> str:
        note.host = name
        before = path.store.host(name)
        if before is None:
            raise Refused(f"no host named {name!r} (removed meanwhile)")
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
