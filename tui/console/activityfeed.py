"""What feeds the Activity pane's log besides this console's own actions: lifecycle events and the audit.

- Lifecycle events: `Poller.subscribe_events` calls back on libvirt's event thread; the events wait
  in an inbox and one `LifecycleHeard` message wakes the app for however many arrived (a burst of
  400 events is one message, not 400).
- The audit: when the console opens, a worker reads the newest AUDIT_WINDOW entries (`audit_tail`);
  each change the store's feed reports (any vmdeck, any admin) then reads only what was appended since
  (`audit_after` from the log's cursor), one read at a time, again at once while a page was full or
  more changes arrived meanwhile. A store that cannot be read leaves the log as it was and says why
  (`ActivityLog.audit_error`); the next change tries again.

The feed holds no app: it gets `post` (post_message) and `run` (start a thread worker).
Rows are built in the worker (the slow part at 100,000 entries), the log is changed on the UI loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message

from tui.console.activitylog import AUDIT_PAGE, AUDIT_WINDOW, ActivityLog, LogEntry, event_entry
from tui.core.lifecycle import LifecycleEvent
from tui.services.store import FleetStore, StoreError
from tui.services.store.audit import AuditPage

# Events held for the UI loop at most: a host flapping thousands of domains must not grow memory.
INBOX_LIMIT = 10_000


@dataclass
class LifecycleHeard(Message):
    """Lifecycle events wait in the feed's inbox (posted from libvirt's event thread)."""


@dataclass
class AuditChanged(Message):
    """The store's change feed reported a change (posted from the feed's thread)."""


@dataclass
class AuditPageRead(Message):
    """A worker read the audit: rows for the log, or why it could not."""

    page: AuditPage | None
    rows: list[LogEntry]
    first: bool
    error: str | None = None


class ActivityFeed:
    def __init__(
        self,
        log: ActivityLog,
        store: FleetStore | None,
        post: Callable[[Message], object],
        run: Callable[[Callable[[], None]], object],
        history_read: Callable[[int], object] = lambda _entries: None,
    ) -> None:
        """`history_read(entries)` is told how long the log is after the audit's first read (the
        console keeps a long one out of full garbage collections: tui/console/heap.py)."""
        self.log, self.store, self._post, self._run = log, store, post, run
        self._history_read = history_read
        self._lock = threading.Lock()
        self._inbox: list[LifecycleEvent] = []
        self._dropped = 0
        self._woken = False
        self._reading = False
        self._again = False

    # --- lifecycle events (libvirt's thread, then the UI loop) ------------------------------------
    def heard(self, event: LifecycleEvent) -> None:
        """Called on libvirt's event thread: only queue and wake."""
        with self._lock:
            if len(self._inbox) >= INBOX_LIMIT:
                self._dropped += 1
                return
            self._inbox.append(event)
            wake, self._woken = not self._woken, True
        if wake:
            self._post(LifecycleHeard())

    def take_events(self) -> None:
        """UI loop: move the waiting events into the log."""
        with self._lock:
            events, self._inbox, self._woken = self._inbox, [], False
            dropped, self._dropped = self._dropped, 0
        self.log.events_dropped += dropped
        self.log.add(event_entry(self.log.next_number(), e) for e in events)

    # --- the audit (a worker reads, the UI loop applies) -------------------------------------------
    def start(self) -> None:
        if self.store is not None:
            self.audit_changed()

    def audit_changed(self) -> None:
        """UI loop: something changed in the store; read what is new (one read at a time)."""
        if self.store is None:
            return
        if self._reading:
            self._again = True
            return
        self._reading, self._again = True, False
        store, cursor = self.store, self.log.audit_cursor
        self._run(lambda: self._read(store, cursor))

    def _read(self, store: FleetStore, cursor: str | None) -> None:
        """Worker thread: read a page and build its rows; only post_message crosses back."""
        try:
            page = store.audit_tail(AUDIT_WINDOW) if cursor is None else store.audit_after(cursor, AUDIT_PAGE)
            rows = self.log.audit_rows(page.entries)
        except (StoreError, OSError) as exc:
            self._post(AuditPageRead(None, [], cursor is None, str(exc)))
            return
        self._post(AuditPageRead(page, rows, cursor is None))

    def apply(self, message: AuditPageRead) -> None:
        """UI loop: the read's rows into the log; read again if there is more."""
        self._reading = False
        page = message.page
        if page is None:
            self.log.audit_error = message.error
            self.log.version += 1
            return
        self.log.audit_error = None
        if page.reset:
            self.log.clear_audit()
        if message.first or page.reset:
            self.log.add_history(message.rows)
            self._history_read(len(self.log))
        else:
            self.log.add(message.rows)
        self.log.audit_cursor = page.cursor
        if page.more or self._again:
            self.audit_changed()
