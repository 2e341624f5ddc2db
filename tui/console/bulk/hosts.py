"""Bulk host actions: a state change (e / n / d) or a drain (r) on every marked host.

One reason for all, one confirmation listing each host and the VMs running on it, then one item per
host on the app's `Bulk` run. A bulk drain fences first: every marked host is set to No Scheduling
before the first drain starts, so no drain places a VM on a host about to be drained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from textual.app import App

from tui.console import actionjobs
from tui.console.actionchecks import busy, refusal
from tui.console.bulk.confirm import confirm_and_run, refused_before_asking
from tui.console.bulk.radius import host_radius
from tui.console.bulk.room import Room, names
from tui.console.bulk.run import BulkItem
from tui.console.dialogs import EFFECTS
from tui.console.fleetview import FleetView
from tui.console.session import Session
from tui.console.text import plural
from tui.core.fleet import HostState
from tui.services.actions.deck import READ_ONLY_MESSAGE


def _host_check(app: App[None], view: FleetView, session: Session, host: str) -> str | None:
    return refusal(view, session, host) or busy(app, "host", host)


def ask_bulk_state(
    app: App[None],
    view: FleetView,
    session: Session,
    hosts: Sequence[str],
    state: HostState,
    started: Callable[[], object] = lambda: None,
) -> None:
    """e / n / d with hosts marked: set each to `state`, one reason for all."""
    title = f"Set {plural(len(hosts), 'host')} to {state.label}"
    if refused_before_asking(app, session, title.lower()):
        return
    known = [h for h in hosts if h in view.records]
    same = [h for h in known if view.records[h].state is state]
    change = [h for h in known if h not in same]
    if not change:
        app.notify(f"every marked host is already {state.label}", title="No change")
        return
    room = Room.of(app, 2 if same else 0)
    radius = host_radius(view, change, lambda h: _arrow(view, h, state), room)
    sections = [("what", EFFECTS[state]), ("radius", radius)]
    if same:
        sections.append(("same", f"Already {state.label}, left as they are: {names(same, room.width - 40)}"))

    def check(host: str) -> Callable[[], str | None]:
        def why() -> str | None:
            if view.store_problem is not None:
                return "store unreachable"
            if session.read_only:
                return READ_ONLY_MESSAGE
            if host not in view.records:
                return f"no host named {host!r} (removed meanwhile)"
            return busy(app, "host", host)

        return why

    def items(_values: dict[str, str]) -> list[BulkItem]:
        return [
            BulkItem(
                f"set {h} {state.label}", h, None, check(h), partial(actionjobs.host_state_job, h, state)
            )
            for h in change
        ]

    confirm_and_run(
        app, title, sections, [],
        lambda v: f"set {plural(len(change), 'host')} to {state.label} because “{v['reason']}”",
        items, started,
    )  # fmt: skip


def _arrow(view: FleetView, host: str, state: HostState) -> str:
    return f"{view.records[host].state.label} → {state.label}"


def ask_bulk_drain(
    app: App[None],
    view: FleetView,
    session: Session,
    hosts: Sequence[str],
    started: Callable[[], object] = lambda: None,
) -> None:
    """r with hosts marked: every marked host is set to No Scheduling first (so no drain places a VM
    on a host about to be drained), then each is drained in turn, planned when its drain starts."""
    title = f"Drain {plural(len(hosts), 'host')}"
    if refused_before_asking(app, session, title.lower()):
        return
    known = [h for h in hosts if h in view.records]
    enabled = [h for h in known if view.records[h].state is HostState.ENABLED]
    what = (
        "Each marked host is set to No Scheduling first, then drained one after another: its VMs "
        "migrate where the scheduler places them when that drain starts (never onto a marked host); "
        "each migration is reported."
    )
    radius = host_radius(view, known, lambda h: "drain", Room.of(app, 1))

    def items(_values: dict[str, str]) -> list[BulkItem]:
        fenced = HostState.NO_SCHEDULING
        fence = [
            BulkItem(
                f"set {h} {fenced.label}", h, None, partial(_host_check, app, view, session, h),
                partial(actionjobs.host_state_job, h, fenced),
            )
            for h in enabled
        ]  # fmt: skip
        drains = [
            BulkItem(
                f"drain {h}", h, None, partial(_host_check, app, view, session, h),
                partial(actionjobs.drain_job, h),
            )
            for h in known
        ]  # fmt: skip
        return fence + drains

    confirm_and_run(
        app, title, [("what", what), ("radius", radius)], [],
        lambda v: f"drain {plural(len(known), 'host')} because “{v['reason']}”", items, started,
    )  # fmt: skip
