"""The status line under every pane: actions running now, and the latest result.

The app owns one `Activity` (touched on the UI loop only) and hands it down to the panes, which
render `line()` in their status bar. Text only — "ok", "REFUSED", "FAILED" are words, not colours.
`last` is always the latest event: a success after a failure replaces it. `running` also says which
VM or host each running action holds (the console's "one action per object" check reads it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tui.services.actions import Outcome


@dataclass(frozen=True)
class Running:
    """An action the console started and that has not finished."""

    label: str  # "stop web1"
    vm: str | None = None
    host: str | None = None
    what: str = ""  # the audit's name for it, e.g. "vm.stop"
    reason: str | None = None
    since: str = ""  # ISO 8601 UTC


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Activity:
    def __init__(self) -> None:
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
        self.running[self._ids] = Running(label, vm, host, what, reason, now_iso())
        return self._ids

    def finished(self, token: int, outcome: Outcome) -> None:
        self.ended(token, outcome_line(outcome))

    def ended(self, token: int, line: str) -> None:
        job = self.running.pop(token, None)
        if job is not None and (job.vm or job.host):
            self.ended_at[f"vm:{job.vm}" if job.vm else f"host:{job.host}"] = time.monotonic()
        self.last = line

    def progressed(self, text: str) -> None:
        self.last = text

    def line(self) -> str:
        parts = []
        if self.running:
            labels = [r.label for r in self.running.values()]
            parts.append(
                "running: " + ", ".join(labels[:3]) + (f" +{len(labels) - 3}" if len(labels) > 3 else "")
            )
        if self.last:
            parts.append(self.last)
        return " · ".join(parts) or "no action yet"


def outcome_line(outcome: Outcome) -> str:
    """One line for the status bar and the notification title: result word, action, target, message."""
    word = "ok" if outcome.ok else outcome.result.value.upper()
    return f"{word}: {outcome.action} {outcome.target}: {outcome.message}"
