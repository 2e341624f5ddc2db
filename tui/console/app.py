"""The console app: a thin shell that owns the fleet view, switches panes and routes messages.

Panes are app modes (one screen each). The live poller (tui/services/poller/) runs in its own
threads; a `SnapshotBatcher` subscribed for changes only wakes the app with one `FleetPolled` per
batch. Host state changes and VM and host actions go through the one action path (the app's `Deck`,
built on the same poller, so actions use its connections), each in a thread worker.

The app is put together from one mixin per concern on a shared base (tui/console/consolebase.py): the
live feeds (app_feeds.py), the action routes (app_actions.py) and the keys (app_keys.py); this module
builds the state, mounts the panes, routes keys to screens that own them and handles crashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, cast

from textual import events
from textual.app import App
from textual.binding import BindingType
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input

from tui.console.activity import Activity
from tui.console.activityfeed import ActivityFeed
from tui.console.app_actions import SEVERITY, ActionHandlers
from tui.console.app_feeds import BATCH_WINDOW_S, NOTIFY_LIMIT, FeedHandlers
from tui.console.app_keys import COMMAND_ALIASES, KeyHandlers
from tui.console.bulk import Bulk
from tui.console.consolebase import toast_line
from tui.console.crashlog import crash_line, write_crash_log
from tui.console.fleetview import FleetView
from tui.console.heap import Heap
from tui.console.keymap import APP_BINDINGS, BULK_BINDINGS
from tui.console.keyorder import OrderedKeys
from tui.console.leases import LEASE_READ_S, LeaseCopy
from tui.console.messages import FleetPolled
from tui.console.modeswitch import QuickSwitch
from tui.console.modewarm import warm_modes
from tui.console.palette import SafePalette, VmdeckCommands, palette_actions
from tui.console.panes.activity import ActivityPane
from tui.console.panes.base import Pane
from tui.console.panes.curves import CurvesPane
from tui.console.panes.hosts import HostsPane
from tui.console.panes.profiles import ProfilesPane
from tui.console.panes.sim import SimPane
from tui.console.panes.vms import VmsPane
from tui.console.session import Session
from tui.console.storefeed import Reloads
from tui.console.styles import stylesheet
from tui.core.hosts import HostRecord
from tui.core.model import VmConfig
from tui.services.actions import ActionSettings, Deck
from tui.services.poller import LivePoller, Poller, PollerSettings, SnapshotBatcher
from tui.services.pollworker import WorkerPoller
from tui.services.store import FleetStore
from tui.services.store.feed import watch

# Re-exported: tests and benches read them here, where the console is built.
__all__ = [
    "BATCH_WINDOW_S",
    "COMMAND_ALIASES",
    "NOTIFY_LIMIT",
    "SEVERITY",
    "VmdeckApp",
    "make_app",
    "styles_path",
    "toast_line",
]

PANE_CLASSES: dict[str, type[Pane]] = {
    "hosts": HostsPane,
    "profiles": ProfilesPane,
    "curves": CurvesPane,
    "vms": VmsPane,
    "sim": SimPane,
    "activity": ActivityPane,
}
# App actions that open a screen or leave the current one: none of them runs while a dialog (or the
# command palette) is open — a modal owns every key, and dialogs never stack.
BLOCKED_UNDER_MODAL = {"command_line", "filter", "help", "pane", "quit", "command_palette", "back"}


def styles_path() -> Path:
    """The app's stylesheet (tui/console/styles.py says where stylesheets are)."""
    return stylesheet("vmdeck.tcss")


class VmdeckApp(QuickSwitch, FeedHandlers, ActionHandlers, KeyHandlers):
    """The console: the fleet view, the panes as modes, the poller, the store and the Deck."""

    TITLE = "vmdeck"
    CSS_PATH = str(styles_path())
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS, *BULK_BINDINGS]
    COMMANDS = App.COMMANDS | {VmdeckCommands}

    def __init__(
        self,
        view: FleetView,
        session: Session,
        store: FleetStore | None,
        poller: LivePoller | None,
        deck: Deck | None,
    ):
        super().__init__()
        self.view = view
        self.session = session
        self.store = store
        self.activity = Activity()
        self.panes: dict[str, Pane] = {
            name: cls(view, session, activity=self.activity) for name, cls in PANE_CLASSES.items()
        }
        self.poller = poller
        self.deck = deck
        self.batcher = SnapshotBatcher(lambda: self.post_message(FleetPolled()))  # called on a poller thread
        self._unsubscribe: Callable[[], None] | None = None
        self._unwatch: Callable[[], None] | None = None
        self._unsubscribe_events: Callable[[], None] | None = None
        self.reloads = Reloads()  # the store's change feed: one re-read at a time
        self._apply_timer: Timer | None = None
        self._last_apply = 0.0
        self.pane_history: list[str] = []
        self.crash_log: Path | None = None
        self.crash_message: str | None = None
        self._notice_timer: Timer | None = None
        self.leases = LeaseCopy()  # the store's live leases, read off the UI loop (tui/console/leases.py)
        self.bulk = Bulk()  # the running bulk action on marked rows (tui/console/bulk.py)
        self.heap = Heap()  # the fleet's rows kept out of full garbage collections (tui/console/heap.py)
        self._reading_leases = False
        # The Activity pane's log: lifecycle events and the store's audit (tui/console/activityfeed.py).
        self.activity_feed = ActivityFeed(
            self.activity.log, store, self.post_message, self._run_audit_read, self.heap.audit_history_read
        )

    # --- life cycle --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        for name, pane in self.panes.items():
            self.add_mode(name, lambda pane=pane: pane)  # type: ignore[misc]
        self.switch_mode("hosts")
        # The other panes are mounted after the first paint, one at a time (tui/console/modewarm.py).
        warm_modes(self, [(name, pane) for name, pane in self.panes.items() if name != "hosts"])
        self.warm_help(self.panes.values())  # each pane's help, in the background too
        if self.poller is not None:
            self._unsubscribe = self.poller.subscribe(self.batcher, changes_only=True, current=True)
            # The worker restarted (it died): notify() is one of the calls that may cross threads.
            self.poller.subscribe_notices(lambda text: self.notify(text, title="poller", severity="warning"))
            self.poller.start()
            self._unsubscribe_events = self.poller.subscribe_events(self.activity_feed.heard)
        self.activity_feed.start()
        if self.store is not None:  # changes by any other vmdeck reach this console (feed's thread)
            self._unwatch = watch(self.store, self._store_changed, on_status=self._store_status)
            self._read_leases()
            self.set_interval(LEASE_READ_S, self._read_leases)

    def on_unmount(self) -> None:
        self.heap.release()
        if self._unwatch is not None:
            self._unwatch()
        if self.poller is not None:
            if self._unsubscribe is not None:
                self._unsubscribe()
            if self._unsubscribe_events is not None:
                self._unsubscribe_events()
            self.poller.close(wait=0)  # closing runs in daemon threads: a dead host never delays exit

    def _handle_exception(self, error: Exception) -> None:
        # Textual's handler (overridden: private in Textual 8, pinned < 9) exits with code 1 and
        # prints a traceback with locals over the terminal; the traceback goes to a log file instead.
        self.crash_log = write_crash_log(error)
        super()._handle_exception(error)
        if self.crash_log is not None:
            # Printed by run_console after the terminal is restored: one line, the path unwrapped.
            self.crash_message = crash_line(error, self.crash_log)
            self._exit_renderables.clear()

    def mode_screen(self, mode: str) -> Screen[Any] | None:
        # A pane mounted in the background (modewarm.py) is not in a mode's stack until first shown.
        return super().mode_screen(mode) or self.panes.get(mode)

    # --- keys: a screen that owns its keys gets them in order (tui/console/keyorder.py) ------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded and self._exit:
            return  # quitting: keys typed after q act on nothing (App._exit is Textual's flag)
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded and self._screen_stack:
            screen = self.screen
            if isinstance(screen, OrderedKeys) and screen.owns_keys():
                screen.accept(event)
                return
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_bulk":  # in a text field without a bulk action: the field's copy
            return self.bulk.running() or not isinstance(self.focused, Input)
        under_modal = bool(self._screen_stack) and isinstance(self.screen, ModalScreen)
        return not (under_modal and action in BLOCKED_UNDER_MODAL)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(SafePalette(id="--command-palette"))

    # --- the palette: every action by name ---------------------------------------------------------
    def palette_actions(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return palette_actions(self)


def make_app(
    config: VmConfig,
    records: Iterable[HostRecord],
    *,
    session: Session | None = None,
    store: FleetStore | None = None,
    poller_settings: PollerSettings | None = None,
    action_settings: ActionSettings | None = None,
    poller_process: bool = True,
) -> VmdeckApp:
    """Build the console from loaded objects (the CLI and the tests both come through here).

    With `poller_settings` the console polls its hosts live; with a store it can also act, through a
    Deck on that same poller (the test driver keeps a host's state per connection, so actions must
    use the poller's connections to be seen by it). The poller runs in a worker process
    (tui/services/pollworker) unless `poller_process` is False.
    """
    session = session or Session("fleet")
    records = list(records)
    view = FleetView(config, records)
    poller: LivePoller | None = None
    if poller_settings is not None:
        kind = WorkerPoller if poller_process else Poller
        poller = kind(records, config, poller_settings)
    view.load = poller.history if poller is not None else None
    deck = None
    if poller is not None and store is not None:
        settings = action_settings or ActionSettings(read_only=session.read_only)
        deck = Deck(config, store, poller, settings)
    return VmdeckApp(view, session, store, poller, deck)
