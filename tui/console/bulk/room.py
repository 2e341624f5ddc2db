"""Fitting a bulk confirmation's lists to the terminal (80x24 included).

A bulk action can name hundreds of hosts or VMs; its confirmation must still fit the screen with
its question in view. `Room` is the rows and columns the lists may take, `limited` cuts a list of
lines to it (the last line saying how many more), `names` cuts a list of names to a width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import App

# The confirmation's fixed parts — title, what it does, the reason field, the question — take about
# this many rows; the blast radius gets the rest of the dialog (90% of the screen,
# styles/vmdeck.tcss .action-dialog), one line per host, names cut to fit.
FIXED_ROWS = 12


@dataclass(frozen=True)
class Room:
    """How much of the dialog the lists may take: rows, and columns per line."""

    rows: int
    width: int

    @classmethod
    def of(cls, app: App[None], extra_rows: int = 0) -> Room:
        size = app.size
        inner = int(size.height * 0.9) - 2  # the dialog's border
        width = min(100, int(size.width * 0.9)) - 4  # border and padding
        return cls(max(3, inner - FIXED_ROWS - extra_rows), max(20, width))

    def split(self, second: int) -> tuple[Room, Room]:
        """Room for two lists (the second `second` lines long, and a margin between them)."""
        if not second:
            return self, Room(0, self.width)
        rows = min(second, max(2, self.rows // 3))
        return Room(max(2, self.rows - rows - 1), self.width), Room(rows, self.width)


def limited(lines: list[str], room: Room) -> str:
    """The lines that fit, the last one saying how many more there are."""
    if len(lines) > room.rows:
        rest = len(lines) - room.rows + 1
        lines = [*lines[: room.rows - 1], f"  … and {rest} more"]
    return "\n".join(line if len(line) <= room.width else line[: room.width - 1] + "…" for line in lines)


def names(shown_names: Sequence[str], width: int) -> str:
    """As many names as fit in `width` columns, then "… +N"."""
    shown: list[str] = []
    for i, name in enumerate(shown_names):
        more = f" … +{len(shown_names) - i - 1}" if i < len(shown_names) - 1 else ""
        if shown and len(", ".join([*shown, name]) + more) > width:
            return ", ".join(shown) + f" … +{len(shown_names) - i}"
        shown.append(name)
    return ", ".join(shown)
