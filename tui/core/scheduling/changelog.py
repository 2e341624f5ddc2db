"""The hosts a `FleetState` changed, in order: what the cost matrix reads to copy only their costs."""

from __future__ import annotations


class ChangeLog:
    """The hosts changed, in order, addressed by absolute position (`start` <= position <= `end`).

    Readers remember the position they have read up to; `forget(before)` drops the prefix every
    reader is past, so the log stays as small as the slowest reader needs. A plain list: a replay
    appends one host per event and reads back one or two, where numpy's per-call cost dominates.
    `items` and `end` are written directly by `FleetState` (one call less per event)."""

    __slots__ = ("end", "items", "start")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.start = 0  # the absolute position of the oldest change kept
        self.end = 0  # the absolute position after the last change

    @property
    def pending(self) -> int:
        """How many changes are kept."""
        return len(self.items)

    def append(self, i: int) -> None:
        self.items.append(i)
        self.end += 1

    def since(self, position: int) -> list[int]:
        """Hosts changed from `position` on."""
        return self.items[position - self.start :]

    def forget(self, before: int) -> None:
        drop = min(max(0, before - self.start), len(self.items))
        if drop:
            del self.items[:drop]
            self.start += drop
