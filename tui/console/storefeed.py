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

from tui.console.fleetview import FleetView
from tui.core.hosts import HostRecord
from tui.core.printable import printable
from tui.services.store import FleetStore
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
    """Hosts as the store has them now (read by a worker after a StoreChanged): the ones named in
    `names` (a name missing from `records` was removed), or all of them when `names` is None."""

    records: list[HostRecord]
    names: list[str] | None
    who: str
    error: str | None = None


class Reloads:
    """Changes heard while a re-read runs are re-read after it: one at a time, however many arrive
    (8 writers at once must not start 800 workers), and only the hosts they name when they do."""

    def __init__(self) -> None:
        self.running = False
        self._names: set[str] = set()
        self._all = False
        self._who: list[str] = []

    def heard(self, change: StoreChange) -> bool:
        """Note a change; True when a re-read should start now."""
        if change.key is None:
            self._all = True
        else:
            self._names.add(change.key)
        if change.who and change.who not in self._who:
            self._who.append(change.who)
        return not self.running

    def take(self) -> tuple[list[str] | None, str]:
        """What to re-read (None: everything) and who changed it; marks a re-read as running."""
        names = None if self._all else sorted(self._names)
        who = ", ".join(self._who)
        self._names, self._all, self._who, self.running = set(), False, [], True
        return names, who

    def finished(self) -> bool:
        """The re-read is applied; True when more changes arrived meanwhile."""
        self.running = False
        return self._all or bool(self._names)


def read_hosts(store: FleetStore, names: list[str] | None) -> list[HostRecord]:
    """Worker thread: the named hosts that still exist, or all of them."""
    if names is None:
        return store.hosts()
    found = (store.host(n) for n in names)
    return [r for r in found if r is not None]


def apply_reload(view: FleetView, message: StoreReloaded) -> tuple[list[str], list[str]]:
    """Bring the view to what the store has; returns (notification lines, names that changed)."""
    new = {r.name: r for r in message.records}
    scope = list(view.records) if message.names is None else message.names
    old = {n: view.records[n] for n in scope if n in view.records}
    lines = differences(old, new, message.who)
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    for name in changed:
        if name in new:
            view.set_record(new[name])
        else:
            view.remove_record(name)
    return lines, changed


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
