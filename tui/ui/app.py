"""The console app: a thin shell that owns the fleet view, switches panes and routes messages.

Panes are app modes (one screen each). The live feed runs in its own thread and posts one
`FleetPolled` per cycle; host state changes are written through the store in a thread worker. Every
handler here is short: the work is in the panes, the dialogs, the feed and the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from textual.app import App
from textual.widgets import Input

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.core.live import HostStatus
from tui.core.model import VmConfig
from tui.services.fleetfeed import FeedBatch, FleetFeed
from tui.services.store import Store, StoreError
from tui.ui.dialogs import HelpScreen
from tui.ui.fleetview import FleetView
from tui.ui.keymap import APP_BINDINGS, PANES, describe
from tui.ui.messages import (
    ActionRefused,
    FleetPolled,
    HostStateChanged,
    HostStateChangeRequested,
)
from tui.ui.palette import VmdeckCommands
from tui.ui.panes.base import Pane
from tui.ui.panes.curves import CurvesPane
from tui.ui.panes.hosts import HostsPane, ask_state_change
from tui.ui.panes.profiles import ProfilesPane
from tui.ui.panes.sim import SimPane
from tui.ui.panes.vms import VmsPane
from tui.ui.session import Session
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


class Feed(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def set_host(self, record: HostRecord) -> None: ...


FeedFactory = Callable[[Iterable[HostRecord], Callable[[FeedBatch], None]], Feed]


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
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {VmdeckCommands}

    def __init__(
        self, view: FleetView, session: Session, store: Store | None, feed_factory: FeedFactory | None
    ):
        super().__init__()
        self.view = view
        self.session = session
        self.store = store
        self.panes: dict[str, Pane] = {name: cls(view, session) for name, cls in PANE_CLASSES.items()}
        self._feed_factory = feed_factory
        self.feed: Feed | None = None
        self.pane_history: list[str] = []

    # --- life cycle --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        for name, pane in self.panes.items():
            self.add_mode(name, lambda pane=pane: pane)  # type: ignore[misc]
        self.switch_mode("hosts")
        if self._feed_factory is not None:
            self.feed = self._feed_factory(self.view.records.values(), self._publish)
            self.feed.start()

    def _publish(self, batch: FeedBatch) -> None:
        """Called on the feed's thread: only post a message."""
        self.post_message(FleetPolled(batch))

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    # --- messages up -------------------------------------------------------------------------------
    def on_fleet_polled(self, message: FleetPolled) -> None:
        before = {n: self.view.status(n) for n in self.view.records}
        changed = self.view.apply(message.batch.snapshots, message.batch.addresses)
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

    def on_host_state_change_requested(self, message: HostStateChangeRequested) -> None:
        if self.session.read_only or self.store is None:
            self.post_message(ActionRefused(f"set {message.host}", "read-only mode: changes are blocked"))
            return
        self.run_worker(
            lambda: self._write_state(message), thread=True, group="host-state", name=f"state {message.host}"
        )

    def _write_state(self, message: HostStateChangeRequested) -> None:
        """Worker thread: the store checks, writes the host and its audit entry under its lock."""
        assert self.store is not None
        previous = self.view.records[message.host].state
        try:
            record = self.store.set_state(message.host, message.state, message.reason)
        except (HostError, StoreError, OSError) as exc:
            self.post_message(ActionRefused(f"set {message.host} {message.state.label}", str(exc)))
            return
        self.post_message(HostStateChanged(record, previous, message.reason))

    def on_host_state_changed(self, message: HostStateChanged) -> None:
        record = message.record
        self.view.set_record(record)
        if self.feed is not None:
            self.feed.set_host(record)
        for pane in self.panes.values():
            pane.fleet_changed([record.name])
        self.notify(
            f"{record.name}: {message.previous.label} → {record.state.label} (“{message.reason}”), audit written",
            title="Host state changed",
        )

    def on_action_refused(self, message: ActionRefused) -> None:
        self.notify(f"{message.action}: {message.reason}", title="Refused", severity="error")

    # --- keys --------------------------------------------------------------------------------------
    def action_pane(self, name: str) -> None:
        if name == self.current_mode:
            return
        self.pane_history.append(self.current_mode)
        self.switch_mode(name)

    def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, Pane) and isinstance(self.focused, Input):
            screen.set_focus(None)  # leave a pane's text field; the next esc goes back
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
        elif word in ("q", "quit", "q!"):
            self.exit()
        elif word in ("help", "?"):
            self.action_help()
        else:
            self.notify(f"unknown command :{word} (try :hosts :profiles :curves :vms :sim)", severity="error")

    def action_filter(self) -> None:
        pane = self.screen
        if isinstance(pane, Pane):
            self.push_screen(PromptScreen("/", pane.filter.text, hint="text or regex"), self._set_filter)

    def _set_filter(self, text: str | None) -> None:
        if text is not None and isinstance(self.screen, Pane):
            self.screen.set_filter(text)

    def action_help(self) -> None:
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        if isinstance(self.screen, Pane) and self.screen.PANE_BINDINGS:
            sections.append(
                (f"{self.screen.TITLE_TEXT} pane", [describe(b) for b in self.screen.PANE_BINDINGS])
            )
        sections.append(("Everywhere", [describe(b) for b in APP_BINDINGS]))
        self.push_screen(HelpScreen(sections))

    # --- the palette: every action by name ---------------------------------------------------------
    def palette_actions(self) -> list[tuple[str, str, Callable[[], Any]]]:
        actions: list[tuple[str, str, Callable[[], Any]]] = []
        for name, title in PANES.items():
            actions.append((f"Show {title} pane", f":{name}", lambda n=name: self.action_pane(n)))
        actions.append(("Filter the current pane", "/ text or regex", self.action_filter))
        actions.append(("Help: list every key", "?", self.action_help))
        actions.append(("Quit vmdeck", "q", self.exit))
        verbs = {
            HostState.ENABLED: "Enable",
            HostState.NO_SCHEDULING: "No Scheduling for",
            HostState.DISABLED: "Disable",
        }
        for host in self.view.records:
            for state, verb in verbs.items():
                actions.append(
                    (
                        f"{verb} host {host}",
                        f"set {host} to {state.label} (asks for a reason)",
                        lambda h=host, s=state: ask_state_change(self, self.view, self.session, h, s),
                    )
                )
        return actions


def make_app(
    config: VmConfig,
    records: Iterable[HostRecord],
    *,
    session: Session | None = None,
    store: Store | None = None,
    feed_factory: FeedFactory | None = None,
) -> VmdeckApp:
    """Build the console from loaded objects (the CLI and the tests both come through here)."""
    view = FleetView(config, records)
    return VmdeckApp(view, session or Session("fleet"), store, feed_factory)


def live_feed(interval: float = 5.0, read_only: bool = False) -> FeedFactory:
    """The real feed: polls every host with libvirt in a daemon thread."""

    def factory(records: Iterable[HostRecord], publish: Callable[[FeedBatch], None]) -> Feed:
        return FleetFeed(records, publish, interval=interval, read_only=read_only)

    return factory
