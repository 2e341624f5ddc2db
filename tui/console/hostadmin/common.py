"""What every host administration dialog shares: refusing before a question, and a job whose
refusals that need no lease (nothing written) are still audited."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from tui.console.messages import ActionJob, ActionRefused, Report
from tui.core.hosts import HostError
from tui.services.actions import Deck, Outcome, Result


def refuse(app: App[None], action: str, why: str, host: str | None = None) -> None:
    app.post_message(ActionRefused(action, why, host))


def admin_job(
    label: str, what: str, host: str | None, reason: str | None, act: Callable[[Deck], Outcome]
) -> ActionJob:
    """A job whose refusals that need no lease (HostError: nothing written) are still audited."""

    def run(deck: Deck, _report: Report) -> Outcome:
        try:
            return act(deck)
        except HostError as exc:
            outcome = Outcome(what, host or "", host, Result.REFUSED, str(exc))
            deck.audit(outcome, reason)
            return outcome

    return ActionJob(label, run, None, host, reason, what)
