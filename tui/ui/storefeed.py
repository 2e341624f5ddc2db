"""The console's side of the store's change feed: what others changed, shown within a second.

The feed (tui/services/store/feed.py) calls back on its own thread; the app turns each callback into
a message (`StoreChanged`, `StoreStatus`), re-reads the hosts in a worker (`StoreReloaded`) and
applies the difference: rows updated, removed hosts gone, added hosts polled, and a notification
saying who did what ("node1 disabled by alice"). Our own changes are already in the view when their
notification arrives, so they produce no difference and no second notification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.message import Message

from tui.core.hosts import HostRecord
from tui.core.printable import printable
from tui.services.store.feed import StoreChange


@dataclass
class StoreChanged(Message):
    """Some vmdeck changed the store (posted from the feed's thread)."""

    change: StoreChange


@dataclass
class StoreStatus(Message):
    """The feed lost its store (ok False, with why) or has it back."""

    ok: bool
    why: str


@dataclass
class StoreReloaded(Message):
    """The hosts as the store has them now (read by a worker after a StoreChanged)."""

    records: list[HostRecord]
    who: str
    error: str | None = None


def differences(old: Mapping[str, HostRecord], new: Mapping[str, HostRecord], who: str) -> list[str]:
    """One line per host that differs, for notifications: "node1 disabled by alice"."""
    by = f" by {printable(who)}" if who and who != "?" else ""
    lines = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        shown = printable(name)
        if before == after:
            continue
        if before is None:
            lines.append(f"{shown} added{by}")
        elif after is None:
            lines.append(f"{shown} removed{by}")
        elif before.state is not after.state:
            lines.append(f"{shown} {after.state.label.lower()}{by}")
        else:
            lines.append(f"{shown} edited{by}")
    return lines
