"""Removing a host: refused while vmdeck's VMs run there (naming them), else reason and confirm."""

from __future__ import annotations

from textual.app import App

from tui.console.actionchecks import busy
from tui.console.dialogs import ActionScreen, reason_ask
from tui.console.fleetview import FleetView
from tui.console.hostadmin.common import admin_job, refuse
from tui.console.messages import ActionRequested
from tui.console.session import Session
from tui.core.live import ManagedVm
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.services.hostadmin import (
    removal_blockers,
    removal_refusal,
    remove_host,
)


def ask_remove_host(
    app: App[None], view: FleetView, session: Session, host: str, recorded: list[ManagedVm]
) -> None:
    """`recorded`: vmdeck's VMs on the host, read from the store by the pane's worker."""
    label = f"remove host {host}"
    why = (
        READ_ONLY_MESSAGE
        if session.read_only
        else (None if host in view.records else f"no host named {host!r}")
    )
    if why is None:
        why = busy(app, "host", host)
    if why is None and (blockers := removal_blockers(recorded, view.snapshots.get(host))):
        why = removal_refusal(host, blockers)
    if why is not None:
        refuse(app, label, why, host)
        return
    domains = view.domains(host)
    vms = (
        f"vmdeck's VMs recorded here: {len(recorded)}, none running; their records stay "
        "(reconcile, R, forgets them once they are gone)"
        if recorded
        else "vmdeck's VMs recorded here: none"
    )
    others = f"Other domains the host reports: {len(domains)} (they are not touched)" if domains else ""
    what = (
        f"vmdeck forgets {host}: it is no longer polled, shown or scheduled on. Nothing on the host "
        "itself changes."
    )

    def done(values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            app.post_message(
                ActionRequested(
                    admin_job(
                        label,
                        "host.remove",
                        host,
                        reason,
                        lambda d: remove_host(d, host, reason, d.snapshots().get(host)),
                    )
                )
            )

    app.push_screen(
        ActionScreen(
            f"Remove host {host}",
            [("what", what), ("vms", "\n".join(t for t in (vms, others) if t))],
            [reason_ask()],
            lambda v: f"remove {host} from the store because “{v['reason']}”",
        ),
        done,
    )
