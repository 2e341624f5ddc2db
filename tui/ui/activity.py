"""The status line under every pane: actions running now, and the last result.

The app owns one `Activity` (touched on the UI loop only) and hands it down to the panes, which
render `line()` in their status bar. Text only — "ok", "REFUSED", "FAILED" are words, not colours.
"""

from __future__ import annotations

from tui.services.actions import Outcome


class Activity:
    def __init__(self) -> None:
        self.running: dict[int, str] = {}
        self.last = ""
        self._ids = 0

    def started(self, label: str) -> int:
        self._ids += 1
        self.running[self._ids] = label
        return self._ids

    def finished(self, token: int, outcome: Outcome) -> None:
        self.running.pop(token, None)
        self.last = outcome_line(outcome)

    def progressed(self, text: str) -> None:
        self.last = text

    def line(self) -> str:
        parts = []
        if self.running:
            labels = list(self.running.values())
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
