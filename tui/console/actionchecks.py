"""What refuses a change before the console asks anything: read-only mode, the host, a running action.

Every way the console asks for a change — a VM or host action's dialog (vmactions.py,
vmlife_actions.py), a bulk action's items (tui/console/bulk/), the host administration forms
(tui/console/hostadmin/) — first checks what it already knows, with the rules the actions themselves
apply, so a refusal comes at once, not after typing a reason. The action service checks everything
again when the job runs: the fleet may have changed in between. Both checks run on the UI loop and
read only what is in memory (no store I/O).
"""

from __future__ import annotations

from textual.app import App

from tui.console.activity import Activity
from tui.console.fleetview import FleetView
from tui.console.leases import LeaseCopy
from tui.console.session import Session
from tui.core.live import not_actionable
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.services.store.base import Busy


def refusal(view: FleetView, session: Session, host: str) -> str | None:
    """Why no change can be made on `host` now, or None."""
    if session.read_only:
        return READ_ONLY_MESSAGE
    record = view.records.get(host)
    if record is None:
        return f"no host named {host!r}"
    realm = view.config.realms.get(record.realm)
    return not_actionable(record, view.snapshots.get(host), realm is not None and realm.disabled)


def busy(app: App[None], kind: str, name: str) -> str | None:
    """What already runs on this VM (`kind` "vm") or host ("host"), or None: one action per object.

    The store's leases (the app's copy, read off the UI loop: tui/console/leases.py) show every console's
    and CLI's actions on this fleet; the console's own jobs cover an action asked for here whose
    worker has not taken its lease yet. No store I/O here: this runs on the UI loop.
    """
    activity: Activity | None = getattr(app, "activity", None)
    copy: LeaseCopy | None = getattr(app, "leases", None)
    key = f"{kind}:{name}"
    ended = activity.ended_at.get(key) if activity is not None else None
    lease = copy.holding(key, ended) if copy is not None else None
    if lease is not None:
        return str(Busy(lease.key, lease.action, lease.holder, lease.since))
    for job in activity.running.values() if activity is not None else ():
        if (kind == "vm" and job.vm == name) or (kind == "host" and job.host == name and job.vm is None):
            return f"{job.label} already running, started by this console at {job.since}"
    return None
