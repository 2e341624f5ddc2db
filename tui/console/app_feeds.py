"""The console's live feeds: poller batches, the store's change feed and leases, the Activity feed.

Everything here arrives from another thread as a message (or a callback that only posts one) and is
applied on the UI loop: snapshots in batches at most every BATCH_WINDOW_S, changed hosts re-read one
read at a time, the store's leases copied every LEASE_READ_S for the "already running" check.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tui.console.activityfeed import AuditChanged, AuditPageRead, LifecycleHeard
from tui.console.consolebase import ConsoleBase
from tui.console.leases import LeasesRead
from tui.console.messages import FleetPolled
from tui.console.storefeed import StoreChanged, StoreReloaded, StoreStatus, apply_reload, read_hosts
from tui.core.hosts import HostError
from tui.core.live import HostStatus
from tui.services.store import StoreError
from tui.services.store.feed import StoreChange

# More transitions to unreachable than this in one batch get one summary notification, not a flood.
NOTIFY_LIMIT = 3
# Changed snapshots are applied at most this often: every table update repaints the visible rows, so
# the first poll of 1,000 hosts (hundreds of small batches) would otherwise keep the UI busy painting.
BATCH_WINDOW_S = 0.25


class FeedHandlers(ConsoleBase):
    """Poller batches, the store's changes and status, the leases copy, the Activity pane's feed."""

    def _read_leases(self) -> None:
        if self._reading_leases or self.store is None:
            return  # one read at a time: a store that stopped answering never piles up workers
        self._reading_leases = True
        store, began = self.store, time.monotonic()

        def read() -> None:
            try:
                leases = store.leases()
            except (StoreError, OSError):
                leases = None  # unreachable: the feed's status says so; keep the last copy
            self.post_message(LeasesRead(leases if leases is not None else [], began, leases is not None))

        self.run_worker(read, thread=True, group="leases", name="leases")

    def on_leases_read(self, message: LeasesRead) -> None:
        self._reading_leases = False
        if message.ok:
            self.leases.replace(message.leases, message.read_at)

    def _store_changed(self, change: StoreChange) -> None:
        self.post_message(AuditChanged())  # every change has an audit entry: the Activity pane reads it
        if change.kind == "host":
            self.post_message(StoreChanged(change))

    def _store_status(self, ok: bool, why: str) -> None:
        self.post_message(StoreStatus(ok, why))

    def on_fleet_polled(self, _message: FleetPolled) -> None:
        if self._apply_timer is not None:
            return  # a batch is already scheduled: it will take these snapshots too
        wait = self._last_apply + BATCH_WINDOW_S - time.monotonic()
        if wait > 0:
            self._apply_timer = self.set_timer(wait, self._apply_batch)
        else:
            self._apply_batch()

    def _apply_batch(self) -> None:
        self._apply_timer, self._last_apply = None, time.monotonic()
        batch = self.batcher.drain()
        if not batch:
            return  # an earlier batch already took these
        before = {s.host: self.view.status(s.host) for s in batch if s.host in self.view.records}
        changed = self.view.apply(batch)
        self._notify_unreachable([n for n in changed if self._went_down(before.get(n), n)])
        self._panes_changed(changed)
        if len(self.view.snapshots) >= len(self.view.records):
            self.heap.first_poll_done(
                len(self.view.records)
            )  # the fleet's long-lived rows out of full collections

    def _went_down(self, before: HostStatus | None, name: str) -> bool:
        return self.view.status(name) is HostStatus.UNREACHABLE and before is not HostStatus.UNREACHABLE

    def _notify_unreachable(self, names: list[str]) -> None:
        if len(names) > NOTIFY_LIMIT:
            self.notify(f"{len(names)} hosts unreachable: {', '.join(names[:5])} …", severity="warning")
            return
        for name in names:
            error = self.view.snapshots[name].error or "no answer"
            self.notify(f"{name}: {error}", title="Host unreachable", severity="warning")

    def _run_audit_read(self, read: Callable[[], None]) -> None:
        self.run_worker(read, thread=True, group="activity-audit", name="audit read")

    def on_lifecycle_heard(self, _message: LifecycleHeard) -> None:
        self.activity_feed.take_events()
        self._activity_changed()

    def on_audit_changed(self, _message: AuditChanged) -> None:
        self.activity_feed.audit_changed()

    def on_audit_page_read(self, message: AuditPageRead) -> None:
        self.activity_feed.apply(message)
        self._activity_changed()

    def on_store_changed(self, message: StoreChanged) -> None:
        if self.reloads.heard(message.change):
            self._start_reload()

    def _start_reload(self) -> None:
        names, who = self.reloads.take()
        self.run_worker(
            lambda: self._reload_hosts(names, who), thread=True, group="store-read", name="reload"
        )

    def _reload_hosts(self, names: list[str] | None, who: str) -> None:
        """Worker thread: the changed hosts as the store has them now."""
        assert self.store is not None
        try:
            self.post_message(StoreReloaded(read_hosts(self.store, names), names, who))
        except (StoreError, HostError, OSError) as exc:
            self.post_message(StoreReloaded([], names, who, str(exc)))

    def on_store_reloaded(self, message: StoreReloaded) -> None:
        if self.reloads.finished():
            self._start_reload()
        if message.error is not None:
            self.post_message(StoreStatus(False, message.error))
            return
        lines, changed = apply_reload(self.view, message)
        if self.poller is not None and changed:
            self.poller.set_hosts(self.view.records.values())  # added hosts polled, removed ones closed
        self._panes_changed(changed)
        for line in lines[:NOTIFY_LIMIT]:
            self.notify(line, title="Store changed")
        if len(lines) > NOTIFY_LIMIT:
            self.notify(f"{len(lines)} hosts changed by {message.who or 'someone'}", title="Store changed")

    def on_store_status(self, message: StoreStatus) -> None:
        if (self.view.store_problem is None) == message.ok:
            return  # no news
        self.view.store_problem = None if message.ok else message.why
        if message.ok:
            self.notify("store reachable again", title="Store")
            self.post_message(StoreChanged(StoreChange("host", None, "", "store.reconnected")))
        else:
            self.notify(f"store unreachable: {message.why}; changes refused", title="Store", severity="error")
        self._panes_changed([])
