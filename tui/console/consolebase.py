"""What every part of the console app shares: its state, the status line, records, notifications.

The app (tui/console/app.py `VmdeckApp`) is put together from a few mixins, one per concern, all on this
base: the live feeds (tui/console/app_feeds.py: poller batches, the store's change feed, leases, the
Activity pane's feed), the action routes (tui/console/app_actions.py: host state changes, VM and host
actions, drains) and the keys (tui/console/app_keys.py: panes, filter, help, quitting). The attributes are
declared here and set by `VmdeckApp.__init__`, so each mixin is typed against one definition.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from textual.app import App, ScreenStackError
from textual.css.query import NoMatches
from textual.notifications import Notifications, SeverityLevel
from textual.timer import Timer
from textual.widgets._toast import ToastRack

from tui.console.activity import Activity
from tui.console.activityfeed import ActivityFeed
from tui.console.bulk import Bulk
from tui.console.fleetview import FleetView
from tui.console.heap import Heap
from tui.console.leases import LeaseCopy
from tui.console.panes.activity import ActivityPane
from tui.console.panes.base import Pane
from tui.console.session import Session
from tui.console.storefeed import Reloads
from tui.core.hosts import HostRecord
from tui.core.printable import printable
from tui.services.actions import Deck
from tui.services.poller import LivePoller, SnapshotBatcher
from tui.services.store import FleetStore


class ConsoleBase(App[None]):
    """The console's shared state (set by VmdeckApp.__init__) and the helpers every part uses."""

    view: FleetView
    session: Session
    store: FleetStore | None
    poller: LivePoller | None
    deck: Deck | None
    activity: Activity
    activity_feed: ActivityFeed
    panes: dict[str, Pane]
    batcher: SnapshotBatcher
    reloads: Reloads
    leases: LeaseCopy
    bulk: Bulk
    heap: Heap
    pane_history: list[str]
    _apply_timer: Timer | None
    _last_apply: float
    _reading_leases: bool
    _notice_timer: Timer | None
    _unsubscribe: Callable[[], None] | None
    _unwatch: Callable[[], None] | None
    _unsubscribe_events: Callable[[], None] | None

    def _activity_changed(self) -> None:
        pane = self.panes["activity"]
        if isinstance(pane, ActivityPane):
            pane.log_changed()

    def _set_record(self, record: HostRecord) -> None:
        """A host's record changed in the store: show it and tell the poller (Disabled: disconnect)."""
        self.view.set_record(record)
        if self.poller is not None:
            self.poller.set_hosts(self.view.records.values())
        self._panes_changed([record.name])

    def _panes_changed(self, names: list[str]) -> None:
        """Tell every pane which hosts changed. Not once shutting down: Textual removes the screens'
        widgets while the loop still delivers messages from the poller's and the store's threads."""
        if not self.is_running:
            return
        for pane in self.panes.values():
            pane.fleet_changed(names)

    def _show_status(self) -> None:
        if isinstance(self.screen, Pane):
            self.screen.update_status()
        self._activity_changed()  # the action's whole result is in the Activity pane

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        # Names, reasons and libvirt messages reach notifications: no markup, no terminal controls.
        super().notify(
            printable(message, keep_newlines=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _refresh_notifications(self) -> None:
        # Overrides Textual's (private in Textual 8, pinned < 9): on a pane the newest notification
        # is shown on the status line (Pane.show_notice) instead of a toast over the table, so it
        # never hides the selected row; other screens (dialogs, details) keep Textual's toasts.
        # Every notification stays in `_notifications` until it expires.
        try:
            screen = self.screen
        except ScreenStackError:
            return
        if not isinstance(screen, Pane) or self._disable_notifications:
            super()._refresh_notifications()
            return
        with contextlib.suppress(NoMatches):
            rack = screen.get_child_by_type(ToastRack)
            self.call_later(rack.show, Notifications())  # toasts raised over another screen
        for pane in self.panes.values():
            if pane is not screen:
                pane.show_notice(None)  # shown again with the pane if it still lasts then
        live = [n for n in self._notifications if not n.has_expired]
        if self._notice_timer is not None:
            self._notice_timer.stop()
            self._notice_timer = None
        if not live:
            screen.show_notice(None)
            return
        newest = live[-1]
        screen.show_notice(toast_line(newest.title, newest.message), newest.severity)
        self._notice_timer = self.set_timer(newest.time_left + 0.05, self._refresh_notifications)


def toast_line(title: str, message: str) -> str:
    """A notification as one printable line: "title: first line · second line"."""
    lines = [printable(line).strip() for line in message.splitlines()]
    text = " · ".join(line for line in lines if line)
    head = printable(title).strip()
    return f"{head}: {text}" if head else text
