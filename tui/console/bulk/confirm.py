"""Asking for a bulk action: what refuses before any question, and the one confirmation.

Shared by the host and the VM bulk actions (hosts.py, vms.py): read-only mode and a bulk action
already running refuse at once, before a reason is typed; otherwise one dialog (the blast radius,
the action's own fields, one reason for all) and, when confirmed, the app's `Bulk` starts the run.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from tui.console.bulk.run import CANCEL_KEY, BulkItem, BulkRun, Console
from tui.console.dialogs import ActionScreen, Ask, reason_ask
from tui.console.messages import ActionRefused
from tui.console.session import Session
from tui.services.actions.deck import READ_ONLY_MESSAGE


def refused_before_asking(app: App[None], session: Session, label: str) -> bool:
    """Read-only mode and a bulk action already running refuse before any question."""
    why = None
    if session.read_only:
        why = READ_ONLY_MESSAGE
    elif (bulk := getattr(app, "bulk", None)) is not None and bulk.running():
        why = f"a bulk action is running ({bulk.run.title}): wait for it, or {CANCEL_KEY} cancels it"
    if why is not None:
        app.post_message(ActionRefused(label, why))
    return why is not None


def confirm_and_run(
    app: App[None],
    title: str,
    sections: list[tuple[str, str]],
    asks: list[Ask],
    question: Callable[[dict[str, str]], str],
    items: Callable[[dict[str, str]], list[BulkItem]],
    started: Callable[[], object],
) -> None:
    def done(values: dict[str, str] | None) -> None:
        bulk = getattr(app, "bulk", None)
        if not values or bulk is None:
            return
        console: Console = app  # type: ignore[assignment]  # VmdeckApp has `activity`
        started()
        bulk.start(BulkRun(console, title, items(values), values["reason"]))

    app.push_screen(ActionScreen(title, sections, [*asks, reason_ask()], question, prefix="bulk"), done)
