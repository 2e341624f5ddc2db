"""The console app: a thin shell that owns the fleet view, switches panes and routes messages.

Panes are app modes (one screen each). The live poller (tui/services/poller.py) runs in its own
threads; a `SnapshotBatcher` subscribed for changes only wakes the app with one `FleetPolled` per
batch. Host state changes go through the store, VM and host actions through the app's `Deck` (built
on the same poller, so actions use its connections), each in a thread worker. Every handler here is
short: the work is in the panes, the dialogs, the jobs, the poller and the actions.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, cast

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import BindingType
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.notifications import Notifications, SeverityLevel
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input
from textual.widgets._toast import ToastRack

from tui.core.hosts import HostError, HostRecord
from tui.core.live import HostStatus
from tui.core.model import VmConfig
from tui.core.printable import printable
from tui.services.actions import ActionSettings, Deck, Result, plan_drain
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.path import ActionPath
from tui.services.poller import LivePoller, Poller, PollerSettings, SnapshotBatcher
from tui.services.pollworker import WorkerPoller
from tui.services.store import FleetStore, StoreError
from tui.services.store.feed import StoreChange, watch
from tui.ui.activity import Activity, Running
from tui.ui.crashlog import crash_line, write_crash_log
from tui.ui.dialogs import HelpScreen, QuitScreen
from tui.ui.fleetview import FleetView
from tui.ui.jobs import Abandoned, detached, perform, record_abandoned
from tui.ui.keymap import APP_BINDINGS, PANES, SORT_BINDINGS, describe
from tui.ui.keyorder import OrderedKeys
from tui.ui.leases import LEASE_READ_S, LeaseCopy, LeasesRead
from tui.ui.messages import (
    ActionFinished,
    ActionJob,
    ActionProgressed,
    ActionRefused,
    ActionRequested,
    DrainPlanned,
    DrainPlanRequested,
    FleetPolled,
    HostStateChanged,
    HostStateChangeRequested,
)
from tui.ui.palette import SafePalette, VmdeckCommands, palette_actions
from tui.ui.panes.base import Pane, TablePane
from tui.ui.panes.curves import CurvesPane
from tui.ui.panes.hosts import HostsPane
from tui.ui.panes.profiles import ProfilesPane
from tui.ui.panes.sim import SimPane
from tui.ui.panes.vms import VmsPane
from tui.ui.session import Session
from tui.ui.storefeed import Reloads, StoreChanged, StoreReloaded, StoreStatus, apply_reload, read_hosts
from tui.ui.text import plural
from tui.ui.vmactions import DrainScreen, busy, offer_force
from tui.ui.widgets.prompt import PromptScreen

PANE_CLASSES: dict[str, type[Pane]] = {
    "hosts": HostsPane,
    "profiles": ProfilesPane,
    "curves": CurvesPane,
    "vms": VmsPane,
    "sim": SimPane,
}
COMMAND_ALIASES = {"h": "hosts", "p": "profiles", "c": "curves", "v": "vms", "vm": "vms", "s": "sim"}
# More transitions to unreachable than this in one batch get one summary notification, not a flood.
NOTIFY_LIMIT = 3
# Changed snapshots are applied at most this often: every table update repaints the visible rows, so
# the first poll of 1,000 hosts (hundreds of small batches) would otherwise keep the UI busy painting.
BATCH_WINDOW_S = 0.25
SEVERITY: dict[Result, SeverityLevel] = {
    Result.OK: "information",
    Result.TIMED_OUT: "warning",  # the admin decides what next (force is offered)
    Result.REFUSED: "error",
    Result.FAILED: "error",
}
# App actions that open a screen or leave the current one: none of them runs while a dialog (or the
# command palette) is open — a modal owns every key, and dialogs never stack.
BLOCKED_UNDER_MODAL = {"command_line", "filter", "help", "pane", "quit", "command_palette", "back"}


def styles_path() -> Path:
    """The app's stylesheet: inside the installed package, or the repository's styles/ directory."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_data" / "styles", package.parent / "styles"):
        if (candidate / "vmdeck.tcss").is_file():
            return candidate / "vmdeck.tcss"
    raise FileNotFoundError(f"vmdeck.tcss not found next to {package}")


class VmdeckApp(App[None]):
    TITLE = "vmdeck"
    CSS_PATH = str(styles_path())
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]
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
        self.reloads = Reloads()  # the store's change feed: one re-read at a time
        self._apply_timer: Timer | None = None
        self._last_apply = 0.0
        self.pane_history: list[str] = []
        self.crash_log: Path | None = None
        self.crash_message: str | None = None
        self._notice_timer: Timer | None = None
        self.leases = LeaseCopy()  # the store's live leases, read off the UI loop (tui/ui/leases.py)
        self._reading_leases = False

    # --- life cycle --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        for name, pane in self.panes.items():
            self.add_mode(name, lambda pane=pane: pane)  # type: ignore[misc]
        self.switch_mode("hosts")
        if self.poller is not None:
            self._unsubscribe = self.poller.subscribe(self.batcher, changes_only=True, current=True)
            # The worker restarted (it died): notify() is one of the calls that may cross threads.
            self.poller.subscribe_notices(lambda text: self.notify(text, title="poller", severity="warning"))
            self.poller.start()
        if self.store is not None:  # changes by any other vmdeck reach this console (feed's thread)
            self._unwatch = watch(self.store, self._store_changed, on_status=self._store_status)
            self._read_leases()
            self.set_interval(LEASE_READ_S, self._read_leases)

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
        if change.kind == "host":
            self.post_message(StoreChanged(change))

    def _store_status(self, ok: bool, why: str) -> None:
        self.post_message(StoreStatus(ok, why))

    def on_unmount(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        if self.poller is not None:
            if self._unsubscribe is not None:
                self._unsubscribe()
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

    # --- keys: a screen that owns its keys gets them in order (tui/ui/keyorder.py) ------------------
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
        under_modal = bool(self._screen_stack) and isinstance(self.screen, ModalScreen)
        return not (under_modal and action in BLOCKED_UNDER_MODAL)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(SafePalette(id="--command-palette"))

    # --- messages up -------------------------------------------------------------------------------
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
        for pane in self.panes.values():
            pane.fleet_changed(changed)

    def _went_down(self, before: HostStatus | None, name: str) -> bool:
        return self.view.status(name) is HostStatus.UNREACHABLE and before is not HostStatus.UNREACHABLE

    def _notify_unreachable(self, names: list[str]) -> None:
        if len(names) > NOTIFY_LIMIT:
            self.notify(f"{len(names)} hosts unreachable: {', '.join(names[:5])} …", severity="warning")
            return
        for name in names:
            error = self.view.snapshots[name].error or "no answer"
            self.notify(f"{name}: {error}", title="Host unreachable", severity="warning")

    # --- the store's change feed: what other vmdecks changed (tui/ui/storefeed.py) -------------------
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
        for pane in self.panes.values():
            pane.fleet_changed(changed)
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
        for pane in self.panes.values():
            pane.fleet_changed([])

    def on_host_state_change_requested(self, message: HostStateChangeRequested) -> None:
        if self.view.store_problem is not None:
            self.post_message(ActionRefused(f"set {message.host}", "store unreachable", message.host))
            return
        if self.session.read_only or self.store is None:
            self.post_message(
                ActionRefused(f"set {message.host}", "read-only mode: changes are blocked", message.host)
            )
            return
        label = f"set {message.host} {message.state.label}"
        if (why := busy(self, "host", message.host)) is not None:
            self.post_message(ActionRefused(label, why, message.host))
            return
        token = self.activity.started(label, host=message.host, what="host.state", reason=message.reason)
        self._show_status()
        self.run_worker(
            lambda: self._write_state(message, token),
            thread=True,
            group="host-state",
            name=f"state {message.host}",
        )

    def _write_state(self, message: HostStateChangeRequested, token: int) -> None:
        """Worker thread: the store checks, writes the host and its audit entry under its lock."""
        assert self.store is not None
        previous = self.view.records[message.host].state
        # The one action path for a state change (read-only check, the host's lease, audit).
        path = self.deck or ActionPath(self.store, read_only=self.session.read_only)
        try:
            outcome = set_host_state(path, message.host, message.state, message.reason)
            record = self.store.host(message.host) if outcome.ok else None
            why = outcome.message
        except (HostError, StoreError, OSError) as exc:
            record, why = None, str(exc)
        if record is None:
            self.post_message(
                ActionRefused(f"set {message.host} {message.state.label}", why, message.host, token)
            )
            return
        self.post_message(HostStateChanged(record, previous, message.reason, token))

    def on_host_state_changed(self, message: HostStateChanged) -> None:
        record = message.record
        self._set_record(record)
        self.activity.ended(
            message.token, f"ok: set {record.name} {message.previous.label} → {record.state.label}"
        )
        self._show_status()
        self.notify(
            f"{record.name}: {message.previous.label} → {record.state.label} (“{message.reason}”), audit written",
            title="Host state changed",
        )

    def _set_record(self, record: HostRecord) -> None:
        """A host's record changed in the store: show it and tell the poller (Disabled: disconnect)."""
        self.view.set_record(record)
        if self.poller is not None:
            self.poller.set_hosts(self.view.records.values())
        for pane in self.panes.values():
            pane.fleet_changed([record.name])

    def on_action_refused(self, message: ActionRefused) -> None:
        self.activity.ended(message.token, f"REFUSED: {message.action}: {message.reason}")
        self._show_status()
        self.notify(f"{message.action}: {message.reason}", title="Refused", severity="error")
        if self.store is not None:
            self.run_worker(lambda: self._audit_refusal(message), thread=True, group="audit", name="audit")

    def _audit_refusal(self, message: ActionRefused) -> None:
        """Worker thread: a refused action is audited too — who tried what, and why it was refused."""
        assert self.store is not None
        after = {"result": "refused", "action": message.action, "message": message.reason}
        # An unwritable store (read-only media, permissions) must not turn a refusal into a crash.
        with contextlib.suppress(StoreError, OSError):
            self.store.record_action("console.refused", message.host, after, message.reason)

    # --- VM and host actions: confirmed in a dialog, run by a worker on the Deck ---------------------
    def on_action_requested(self, message: ActionRequested) -> None:
        job = message.job
        if self.deck is None:
            self.post_message(ActionRefused(job.label, "no store: this console cannot act"))
            return
        why = busy(self, "vm", job.vm) if job.vm else busy(self, "host", job.host) if job.host else None
        if why is not None:  # started from another dialog since this one was opened
            self.post_message(ActionRefused(job.label, why, job.host))
            return
        token = self.activity.started(job.label, vm=job.vm, host=job.host, what=job.what, reason=job.reason)
        self._show_status()
        self.run_worker(lambda: self._perform(job, token), thread=True, group="action", name=job.label)

    def _perform(self, job: ActionJob, token: int) -> None:
        """Worker thread: only post_message crosses back."""
        assert self.deck is not None

        def report(text: str, ok: bool = True) -> None:
            self.post_message(ActionProgressed(text, ok))

        try:
            outcome, record = perform(self.deck, job, report)
        except Abandoned:
            return  # the app is exiting: nobody is left to tell
        self.post_message(ActionFinished(job, outcome, token, record))

    def on_action_progressed(self, message: ActionProgressed) -> None:
        self.activity.progressed(message.text)
        self._show_status()
        self.notify(message.text, title="Progress", severity="information" if message.ok else "warning")

    def on_action_finished(self, message: ActionFinished) -> None:
        outcome = message.outcome
        self.activity.finished(message.token, outcome)
        self._show_status()
        word = "ok" if outcome.ok else outcome.result.value.upper()
        self.notify(outcome.message, title=f"{word} {outcome.action}", severity=SEVERITY[outcome.result])
        if message.record is not None and message.record != self.view.records.get(message.record.name):
            self._set_record(message.record)
        offer_force(self, message.job, outcome)

    def on_drain_plan_requested(self, message: DrainPlanRequested) -> None:
        if self.deck is None:
            self.post_message(
                ActionRefused(f"drain {message.host}", "no store: this console cannot act", message.host)
            )
            return
        deck, host = self.deck, message.host
        self.run_worker(
            lambda: self._plan_drain(deck, host), thread=True, group="action", name=f"plan {host}"
        )

    def _plan_drain(self, deck: Deck, host: str) -> None:
        """Worker thread: the scheduler's plan, or why there is none."""
        try:
            self.post_message(DrainPlanned(host, detached(lambda: plan_drain(deck, host))))
        except Exception as exc:  # Refused and store errors alike: say why in the console
            self.post_message(DrainPlanned(host, None, str(exc)))

    def on_drain_planned(self, message: DrainPlanned) -> None:
        screen = self.screen
        dialog = screen if isinstance(screen, DrainScreen) else None
        open_dialog = dialog is not None and dialog.host == message.host and not dialog.closed
        if message.plan is None:
            if dialog is not None and open_dialog:
                dialog.dismiss(None)
            self.post_message(
                ActionRefused(f"drain {message.host}", message.error or "no plan", message.host)
            )
        elif dialog is not None and open_dialog:
            dialog.planned(message.plan)
        # else: the dialog was cancelled while the scheduler planned; nothing to show

    def _show_status(self) -> None:
        if isinstance(self.screen, Pane):
            self.screen.update_status()

    # --- keys --------------------------------------------------------------------------------------
    def action_pane(self, name: str) -> None:
        if name == self.current_mode:
            return
        self.pane_history.append(self.current_mode)
        self.switch_mode(name)

    async def action_back(self) -> None:  # async like App.action_back, which it overrides
        screen = self.screen
        if isinstance(screen, Pane) and isinstance(self.focused, Input):
            screen.leave_field()  # leave a pane's text field; the next esc goes back
            return
        if isinstance(screen, Pane) and screen.clear_filter():
            return
        if not isinstance(screen, Pane) and len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.pane_history:
            self.switch_mode(self.pane_history.pop())

    def action_command_line(self) -> None:
        names = [*PANES, "help", "quit"]
        self.push_screen(
            PromptScreen(":", suggestions=names, hint="hosts profiles curves vms sim help quit"),
            self.run_command,
        )

    def run_command(self, text: str | None) -> None:
        if not text:
            return
        word = text.lstrip(":").strip().lower()
        pane = COMMAND_ALIASES.get(word, word)
        if pane in PANES:
            self.action_pane(pane)
        elif word in ("q", "quit"):
            self.request_quit()
        elif word == "q!":
            self._quit_abandoning()
        elif word in ("help", "?"):
            self.action_help()
        else:
            self.notify(f"unknown command :{word} (try :hosts :profiles :curves :vms :sim)", severity="error")

    def action_filter(self) -> None:
        pane = self.screen
        if isinstance(pane, Pane):
            # The filter goes to the pane it was typed on, whatever is on screen when it is applied.
            self.push_screen(
                PromptScreen("/", pane.filter.text, hint="text or regex"),
                lambda text: pane.set_filter(text) if text is not None else None,
            )

    def action_help(self) -> None:
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        if isinstance(self.screen, Pane) and self.screen.PANE_BINDINGS:
            sections.append(
                (f"{self.screen.TITLE_TEXT} pane", [describe(b) for b in self.screen.PANE_BINDINGS])
            )
        if isinstance(self.screen, TablePane):
            sections.append(("Every table", [describe(b) for b in SORT_BINDINGS]))
        sections.append(("Everywhere", [describe(b) for b in APP_BINDINGS]))
        self.push_screen(HelpScreen(sections))

    # --- quitting: never silently with actions in flight ---------------------------------------------
    async def action_quit(self) -> None:  # async like App.action_quit, which it overrides
        self.request_quit()

    def request_quit(self) -> None:
        """q, :q, ctrl+q and the palette: ask first while actions run (each is then audited)."""
        running = list(self.activity.running.values())
        if not running:
            self.exit()
            return
        self.push_screen(
            QuitScreen(running), lambda values: self._quit_abandoning() if values is not None else None
        )

    def _quit_abandoning(self) -> None:
        running = list(self.activity.running.values())
        if not running or self.store is None:
            self.exit()
            return
        self.notify(f"recording {plural(len(running), 'abandoned action')} …", title="Quitting")
        self.run_worker(lambda: self._abandon(running), thread=True, group="quit", name="abandon")

    def _abandon(self, running: list[Running]) -> None:
        """Worker thread: audit what is abandoned, then exit (a store error never keeps the app open)."""
        try:
            record_abandoned(self.deck, "the console quit while it ran")
        finally:
            self.call_from_thread(self.exit)

    # --- every notification: text from outside is printed safely -----------------------------------
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


def toast_line(title: str, message: str) -> str:
    """A notification as one printable line: "title: first line · second line"."""
    lines = [printable(line).strip() for line in message.splitlines()]
    text = " · ".join(line for line in lines if line)
    head = printable(title).strip()
    return f"{head}: {text}" if head else text
