"""The realm's pools on a host from the console: check (reads only) and create what is missing."""

from __future__ import annotations

from textual.app import App

from tui.console.actionchecks import busy, refusal
from tui.console.dialogs import ActionScreen, Ask, reason_ask
from tui.console.fleetview import FleetView
from tui.console.hostadmin.common import refuse
from tui.console.messages import ActionJob, ActionRequested
from tui.console.session import Session
from tui.services.actions import check_pools, create_pools
from tui.services.actions.pools import DEFAULT_POOL_BASE


def ask_pools_check(app: App[None], view: FleetView, host: str) -> None:
    """Reads only (allowed in read-only mode): the outcome names each pool that is not ready."""
    if host not in view.records:
        refuse(app, f"check pools of {host}", f"no host named {host!r}", host)
        return
    run = lambda deck, _report: check_pools(deck, host)  # noqa: E731
    app.post_message(
        ActionRequested(ActionJob(f"check pools of {host}", run, None, host, None, "pool.check"))
    )


def ask_pools_create(app: App[None], view: FleetView, session: Session, host: str) -> None:
    label = f"create pools on {host}"
    why = refusal(view, session, host) or busy(app, "host", host)
    if why is not None:
        refuse(app, label, why, host)
        return
    record = view.records[host]
    realm = view.config.realms.get(record.realm)
    names = ", ".join(realm.pools().values()) if realm else "(unknown realm)"
    what = (
        f"Realm {record.realm}'s pools on {host}: {names}. What is missing is defined as a directory "
        "pool under the base directory, built, started and set to autostart; ready pools are left alone."
    )

    def base_ok(values: dict[str, str]) -> None:
        if not values["base"].startswith("/"):
            raise ValueError("the base directory must be an absolute path on the host")

    def done(values: dict[str, str] | None) -> None:
        if values:
            base, reason = values["base"], values["reason"]
            run = lambda deck, _report: create_pools(deck, host, base, reason)  # noqa: E731
            app.post_message(ActionRequested(ActionJob(label, run, None, host, reason, "pool.create")))

    asks = [
        Ask("base", "base directory on the host", DEFAULT_POOL_BASE, label="base directory", check=base_ok),
        reason_ask(),
    ]
    app.push_screen(
        ActionScreen(
            f"Create realm {record.realm}'s pools on {host}",
            [("what", what)],
            asks,
            lambda v: (
                f"create what is missing of {names} under {v['base']} on {host} because “{v['reason']}”"
            ),
        ),
        done,
    )
