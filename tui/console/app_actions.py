"""The console's action routes: host state changes, VM and host actions, drain plans.

Each request is checked on the UI loop (store reachable, read-only, one action per VM or host), then
run by a thread worker on the one action path (tui/services/actions: lease, intent, outcome); only
messages cross back, and each result reaches the status line, a notice and the Activity pane.
"""

from __future__ import annotations

import contextlib

from textual.notifications import SeverityLevel

from tui.console.actionchecks import busy
from tui.console.bulk import job_refused
from tui.console.consolebase import ConsoleBase
from tui.console.jobs import Abandoned, detached, perform
from tui.console.messages import (
    ActionFinished,
    ActionJob,
    ActionProgressed,
    ActionRefused,
    ActionRequested,
    DrainPlanned,
    DrainPlanRequested,
    HostStateChanged,
    HostStateChangeRequested,
)
from tui.console.vmactions import DrainScreen, offer_force
from tui.core.hosts import HostError
from tui.services.actions import Deck, Result, plan_drain
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.path import READ_ONLY_MESSAGE, ActionPath
from tui.services.store import StoreError

SEVERITY: dict[Result, SeverityLevel] = {
    Result.OK: "information",
    Result.TIMED_OUT: "warning",  # the admin decides what next (force is offered)
    Result.REFUSED: "error",
    Result.FAILED: "error",
}


class ActionHandlers(ConsoleBase):
    """Requests from the panes and dialogs, run on the action path; their outcomes shown."""

    def on_host_state_change_requested(self, message: HostStateChangeRequested) -> None:
        if self.view.store_problem is not None:
            self.post_message(ActionRefused(f"set {message.host}", "store unreachable", message.host))
            return
        if self.session.read_only or self.store is None:
            self.post_message(ActionRefused(f"set {message.host}", READ_ONLY_MESSAGE, message.host))
            return
        label = f"set {message.host} {message.state.label}"
        if (why := busy(self, "host", message.host)) is not None:
            self.post_message(ActionRefused(label, why, message.host))
            return
        token = self.activity.started(label, host=message.host, what="host.state", reason=message.reason)
        self._show_status()
        self.run_worker(
            lambda: self._write_state(message, token),
            thread=True,
            group="host-state",
            name=f"state {message.host}",
        )

    def _write_state(self, message: HostStateChangeRequested, token: int) -> None:
        """Worker thread: the store checks, writes the host and its audit entry under its lock."""
        assert self.store is not None
        previous = self.view.records[message.host].state
        # The one action path for a state change (read-only check, the host's lease, audit).
        path = self.deck or ActionPath(self.store, read_only=self.session.read_only)
        try:
            outcome = set_host_state(path, message.host, message.state, message.reason)
            record = self.store.host(message.host) if outcome.ok else None
            why = outcome.message
        except (HostError, StoreError, OSError) as exc:
            record, why = None, str(exc)
        if record is None:
            self.post_message(
                ActionRefused(f"set {message.host} {message.state.label}", why, message.host, token)
            )
            return
        self.post_message(HostStateChanged(record, previous, message.reason, token))

    def on_host_state_changed(self, message: HostStateChanged) -> None:
        record = message.record
        self._set_record(record)
        self.activity.ended(
            message.token, f"ok: set {record.name} {message.previous.label} → {record.state.label}"
        )
        self._show_status()
        self.notify(
            f"{record.name}: {message.previous.label} → {record.state.label} (“{message.reason}”), audit written",
            title="Host state changed",
        )

    def on_action_refused(self, message: ActionRefused) -> None:
        self.activity.ended(message.token, f"REFUSED: {message.action}: {message.reason}")
        self._show_status()
        self.notify(f"{message.action}: {message.reason}", title="Refused", severity="error")
        if self.store is not None:
            self.run_worker(lambda: self._audit_refusal(message), thread=True, group="audit", name="audit")

    def _audit_refusal(self, message: ActionRefused) -> None:
        """Worker thread: a refused action is audited too — who tried what, and why it was refused."""
        assert self.store is not None
        after = {"result": "refused", "action": message.action, "message": message.reason}
        # An unwritable store (read-only media, permissions) must not turn a refusal into a crash.
        with contextlib.suppress(StoreError, OSError):
            self.store.record_action("console.refused", message.host, after, message.reason)

    def on_action_requested(self, message: ActionRequested) -> None:
        job = message.job
        if self.deck is None:
            self.post_message(ActionRefused(job.label, "no store: this console cannot act"))
            job_refused(job, "no store: this console cannot act")
            return
        why = busy(self, "vm", job.vm) if job.vm else busy(self, "host", job.host) if job.host else None
        if why is not None:  # started from another dialog since this one was opened
            self.post_message(ActionRefused(job.label, why, job.host))
            job_refused(job, why)
            return
        token = self.activity.started(job.label, vm=job.vm, host=job.host, what=job.what, reason=job.reason)
        self._show_status()
        self.run_worker(lambda: self._perform(job, token), thread=True, group="action", name=job.label)

    def _perform(self, job: ActionJob, token: int) -> None:
        """Worker thread: only post_message crosses back."""
        assert self.deck is not None

        def report(text: str, ok: bool = True) -> None:
            self.post_message(ActionProgressed(text, ok))

        try:
            outcome, record = perform(self.deck, job, report)
        except Abandoned:
            return  # the app is exiting: nobody is left to tell
        self.post_message(ActionFinished(job, outcome, token, record))

    def on_action_progressed(self, message: ActionProgressed) -> None:
        self.activity.progressed(message.text)
        self._show_status()
        self.notify(message.text, title="Progress", severity="information" if message.ok else "warning")

    def on_action_finished(self, message: ActionFinished) -> None:
        outcome = message.outcome
        self.activity.finished(message.token, outcome)
        self._show_status()
        word = "ok" if outcome.ok else outcome.result.value.upper()
        self.notify(outcome.message, title=f"{word} {outcome.action}", severity=SEVERITY[outcome.result])
        if message.record is not None and message.record != self.view.records.get(message.record.name):
            self._set_record(message.record)
        if message.job.done is not None:
            message.job.done(outcome)  # a bulk action's item: its summary says what timed out
        else:
            offer_force(self, message.job, outcome)

    def on_drain_plan_requested(self, message: DrainPlanRequested) -> None:
        if self.deck is None:
            self.post_message(
                ActionRefused(f"drain {message.host}", "no store: this console cannot act", message.host)
            )
            return
        deck, host = self.deck, message.host
        self.run_worker(
            lambda: self._plan_drain(deck, host), thread=True, group="action", name=f"plan {host}"
        )

    def _plan_drain(self, deck: Deck, host: str) -> None:
        """Worker thread: the scheduler's plan, or why there is none."""
        try:
            self.post_message(DrainPlanned(host, detached(lambda: plan_drain(deck, host))))
        except Exception as exc:  # Refused and store errors alike: say why in the console
            self.post_message(DrainPlanned(host, None, str(exc)))

    def on_drain_planned(self, message: DrainPlanned) -> None:
        screen = self.screen
        dialog = screen if isinstance(screen, DrainScreen) else None
        open_dialog = dialog is not None and dialog.host == message.host and not dialog.closed
        if message.plan is None:
            if dialog is not None and open_dialog:
                dialog.dismiss(None)
            self.post_message(
                ActionRefused(f"drain {message.host}", message.error or "no plan", message.host)
            )
        elif dialog is not None and open_dialog:
            dialog.planned(message.plan)
