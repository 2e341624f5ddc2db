"""A confirmed bulk action running: its items one at a time, "n of m", cancel, the summary.

Each item goes on the console's one action path on its own: the very job the key builds for one
item (tui/console/actionjobs.py) goes to the app as `ActionRequested`; the app checks that nothing runs on
its VM or host, runs it on the Deck (read-only check, lease, intent and outcome in the audit log, per
item) and shows its outcome, then calls the job's `done`, which starts the next item. Before an item
starts, its own check runs again on the fleet as polled now: an item that fails it is refused (and
audited as refused), the rest go on.

ctrl+c cancels (`Bulk.cancel`): no new item starts; the running one finishes and is reported. The
status line shows "n of m" while it runs and a summary at the end: done, failed, refused, not
started. One bulk action runs at a time (`Bulk`, the app's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tui.console.activity import Activity
from tui.console.messages import ActionJob, ActionRefused, ActionRequested
from tui.console.panes.base import Pane
from tui.services.actions import Outcome, Result

CANCEL_KEY = "ctrl+c"


@dataclass(frozen=True)
class BulkItem:
    """One host or VM of a bulk action."""

    label: str  # the job's label: "stop web1"
    host: str
    vm: str | None
    check: Callable[[], str | None]  # why it cannot start now (UI loop, just before it starts)
    job: Callable[[str], ActionJob]  # reason -> the job the key runs on one item


class Console(Protocol):
    """What a bulk run needs of the app: post messages, notify, and the status line's Activity."""

    activity: Activity

    @property
    def screen(self) -> Screen[object]: ...

    def post_message(self, message: Message) -> bool: ...

    def call_later(self, callback: Callable[[], object]) -> bool: ...

    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: SeverityLevel = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...


TALLY = (
    (Result.OK, "done"),
    (Result.FAILED, "failed"),
    (Result.TIMED_OUT, "timed out"),
    (Result.REFUSED, "refused"),
)


class BulkRun:
    """The items of one confirmed bulk action, started one at a time on the UI loop."""

    def __init__(self, console: Console, title: str, items: Sequence[BulkItem], reason: str) -> None:
        self.console, self.title, self.items, self.reason = console, title, list(items), reason
        self.outcomes: list[tuple[BulkItem, Outcome]] = []
        self.next = 0  # the index of the next item to start
        self.running: BulkItem | None = None
        self.cancelled = False
        self.finished = False

    def start(self) -> None:
        self._advance()

    def cancel(self) -> bool:
        """Start no further item. False when there was nothing left to cancel."""
        if self.finished or self.cancelled:
            return False
        self.cancelled = True
        if self.running is None:
            self._finish()
        else:
            self._say(f"{self.progress()} · cancelled: {self.running.label} finishes, nothing new starts")
        return True

    def _advance(self) -> None:
        while self.next < len(self.items) and not self.cancelled:
            item = self.items[self.next]
            self.next += 1
            why = item.check()
            if why is not None:
                self._record(item, Outcome(item.label, item.vm or item.host, item.host, Result.REFUSED, why))
                self.console.post_message(ActionRefused(item.label, why, item.host))
                # On after the app has shown (and audited) the refusal: the summary comes last.
                self.console.call_later(self._advance)
                return
            self.running = item
            self.console.post_message(ActionRequested(replace(item.job(self.reason), done=self._done)))
            self._say(self.progress())
            return
        self._finish()

    def _done(self, outcome: Outcome) -> None:
        """The app showed the running item's outcome (or refused to start it)."""
        item, self.running = self.running, None
        if item is None:
            return
        self._record(item, outcome)
        self._advance()

    def _record(self, item: BulkItem, outcome: Outcome) -> None:
        self.outcomes.append((item, outcome))

    def progress(self) -> str:
        counts = self.counts()
        done = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
        cancel = "" if self.cancelled else f" · {CANCEL_KEY}: cancel the rest"
        return f"{self.title}: {self.next} of {len(self.items)}" + (f" ({done})" if done else "") + cancel

    def counts(self) -> dict[str, int]:
        tally = {word: 0 for _, word in TALLY}
        words = dict(TALLY)
        for _, outcome in self.outcomes:
            tally[words[outcome.result]] += 1
        return tally

    def not_started(self) -> int:
        return len(self.items) - self.next

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{n} {word}" for word, n in counts.items() if n or word == "done"]
        if self.not_started():
            parts.append(f"{self.not_started()} cancelled (not started)")
        line = f"{self.title} finished: " + ", ".join(parts)
        if counts["timed out"]:
            line += " · a stop that timed out can be forced: k on the VM"
        return line

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        clean = all(outcome.ok for _, outcome in self.outcomes) and not self.not_started()
        self._say(self.summary(), "information" if clean else "warning")

    def _say(self, text: str, severity: SeverityLevel = "information") -> None:
        # The status line (the app's Activity) and the newest notification, which a pane shows on
        # its status line too: after each item's own outcome, so the progress is what stays shown.
        self.console.activity.progressed(text)
        self.console.notify(text, title="Bulk", severity=severity)
        screen = self.console.screen
        if isinstance(screen, Pane):
            screen.update_status()  # also when notifications are off (the notice shows them)


class Bulk:
    """The app's one bulk action at a time."""

    def __init__(self) -> None:
        self.run: BulkRun | None = None

    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def start(self, run: BulkRun) -> None:
        self.run = run
        run.start()

    def cancel(self) -> bool:
        return self.run is not None and self.run.cancel()


def job_refused(job: ActionJob, why: str) -> None:
    """The app refused to start `job` (busy, no store): a bulk run hears it as the item's outcome."""
    if job.done is not None:
        job.done(Outcome(job.what or job.label, job.vm or job.host or "", job.host, Result.REFUSED, why))
