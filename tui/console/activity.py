"""The status line under every pane: actions running now, and the latest result.

The app owns one `Activity` (touched on the UI loop only) and hands it down to the panes, which
render `line()` in their status bar. Text only — "ok", "REFUSED", "FAILED" are words, not colours.
`last` is always the latest event: a success after a failure replaces it. `running` also says which
VM or host each running action holds (the console's "one action per object" check reads it).

Every end (and progress report) is also kept whole in `log` (tui/console/activitylog.py): the status line
shows one line and points there — "… — 6 Activity" — for the full text, the duration and the rest.
An action that wrote an audit intent (`Outcome.intent`) is logged under that intent's key, so the
log joins it and the store's entries of the same change into one row.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tui.console.activitylog import ActivityLog, action_entry
from tui.services.actions import Outcome
from tui.services.store.audit import current_actor

# Ends the status line once an action ended: where its whole result is.
WHERE = " — 6 Activity"


@dataclass(frozen=True)
class Running:
    """An action the console started and that has not finished."""

    label: str  # "stop web1"
    vm: str | None = None
    host: str | None = None
    what: str = ""  # the audit's name for it, e.g. "vm.stop"
    reason: str | None = None
    since: str = ""  # ISO 8601 UTC
    began: float = 0.0  # time.time() at the start: the Activity pane's duration


def _now_utc_seconds() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Activity:
    def __init__(self, log: ActivityLog | None = None) -> None:
        self.log = log if log is not None else ActivityLog()
        self.who = str(current_actor())
        self.running: dict[int, Running] = {}
        self.last = ""
        self._ids = 0
        # "vm:NAME" / "host:NAME" -> time.monotonic() when this console's last action on it ended
        self.ended_at: dict[str, float] = {}

    def started(
        self,
        label: str,
        *,
        vm: str | None = None,
        host: str | None = None,
        what: str = "",
        reason: str | None = None,
    ) -> int:
        self._ids += 1
        self.running[self._ids] = Running(label, vm, host, what, reason, _now_utc_seconds(), time.time())
        return self._ids

    def finished(self, token: int, outcome: Outcome) -> None:
        word = "ok" if outcome.ok else outcome.result.value.upper()
        self._end(token, outcome_line(outcome), word, outcome.message, outcome, outcome.details.items())

    def ended(self, token: int, line: str) -> None:
        """An end told as one line "RESULT: action: message" (refusals, host state changes)."""
        word, _, rest = line.partition(": ")
        self._end(token, line, word, rest)

    def _end(
        self,
        token: int,
        line: str,
        word: str,
        message: str,
        outcome: Outcome | None = None,
        details: Iterable[tuple[str, Any]] = (),
    ) -> None:
        job = self.running.pop(token, None)
        if job is not None and (job.vm or job.host):
            self.ended_at[f"vm:{job.vm}" if job.vm else f"host:{job.host}"] = time.monotonic()
        self.last = line
        label = job.label if job else line.partition(": ")[2].partition(": ")[0]
        target = outcome.target if outcome else (job.vm or job.host or "") if job else ""
        self.log.add(
            [
                action_entry(
                    self.log.next_number(),
                    label=label,
                    what=outcome.action if outcome else job.what if job else "",
                    target=target,
                    who=self.who,
                    result=word,
                    message=message,
                    began=job.began if job else 0.0,
                    ended=time.time(),
                    reason=job.reason if job else None,
                    details=list(details),
                    intent=outcome.intent if outcome else None,
                )
            ]
        )

    def progressed(self, text: str) -> None:
        self.last = text
        self.log.add(
            [
                action_entry(
                    self.log.next_number(),
                    label=text,
                    what="progress",
                    target="",
                    who=self.who,
                    result="…",
                    message=text,
                    began=0.0,
                    ended=time.time(),
                )
            ]
        )

    def line(self, width: int | None = None) -> str:
        """Running actions and the latest result, then where to read it whole; at most `width`."""
        parts = []
        if self.running:
            labels = [r.label for r in self.running.values()]
            parts.append(
                "running: " + ", ".join(labels[:3]) + (f" +{len(labels) - 3}" if len(labels) > 3 else "")
            )
        if self.last:
            parts.append(self.last)
        text = " · ".join(parts)
        if not self.last:
            return text or "no action yet"
        text = text.replace("\n", " ")
        room = (width or 0) - len(WHERE)
        if width is not None and len(text) > room:  # cut the result, never the pointer to the whole
            text = text[: max(1, room - 1)] + "…"
        return text + WHERE


def outcome_line(outcome: Outcome) -> str:
    """One line for the status bar and the notification title: result word, action, target, message."""
    word = "ok" if outcome.ok else outcome.result.value.upper()
    return f"{word}: {outcome.action} {outcome.target}: {outcome.message}"
