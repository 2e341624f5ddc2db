"""The command palette (ctrl+p): every action of the console, searchable by name.

`palette_actions` lists the actions — the same functions the keys call, so the palette and the keys
can never drift apart; the provider only matches and runs them. VM actions act on the VM selected on
the VMs pane (listing every action for each of 10,000 VMs would make the palette itself slow); host
actions are listed per host.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, cast

from textual.app import App
from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider

from tui.console.fleetview import FleetView
from tui.console.hostadmin import palette_actions as hostadmin_actions
from tui.console.keymap import PANES, VMS_BINDINGS
from tui.console.lab.keys import LAB_BINDINGS
from tui.console.panes.base import Pane, TablePane
from tui.console.panes.hosts import HostsPane, ask_state_change
from tui.console.panes.sim import SimPane
from tui.console.panes.vms import VmsPane
from tui.console.session import Session
from tui.console.vmactions import ask_drain, ask_start
from tui.core.fleet import HostState

Action = tuple[str, str, Callable[[], Any]]


class ConsoleApp(Protocol):
    """What the palette needs of the app (VmdeckApp, an App[None]): typed here, not imported, so the
    app importing the palette is no import loop."""

    view: FleetView
    session: Session
    panes: dict[str, Pane]

    def action_pane(self, name: str) -> None: ...
    def action_filter(self) -> None: ...
    def action_help(self) -> None: ...
    def request_quit(self) -> None: ...
    def action_cancel_bulk(self) -> None: ...
    def palette_actions(self) -> list[Action]: ...


STATE_VERBS = {
    HostState.ENABLED: "Enable",
    HostState.NO_SCHEDULING: "No Scheduling for",
    HostState.DISABLED: "Disable",
}


def palette_actions(console: ConsoleApp) -> list[Action]:
    # The dialogs open on the App itself; ConsoleApp is only ever implemented by VmdeckApp, an App.
    app = cast("App[None]", console)
    view, session = console.view, console.session
    actions: list[Action] = [
        (f"Show {title} pane", f":{name}", partial(console.action_pane, name))
        for name, title in PANES.items()
    ]
    actions.append(("Filter the current pane", "/ text or regex", console.action_filter))
    actions.append(
        ("Mark every row the filter shows", "* or ctrl+a on the hosts or VMs table", partial(_mark_all, app))
    )
    actions.append(
        ("Cancel the running bulk action", "ctrl+c: nothing new starts", console.action_cancel_bulk)
    )
    for binding in LAB_BINDINGS:  # the what-if lab: shown on the Simulation pane, then run
        name = binding.action[5:-2]  # "lab('curve')" -> curve
        actions.append(
            (
                f"Lab: {binding.description}",
                f"{binding.key} on the Simulation pane",
                partial(_lab, console, name),
            )
        )
    actions.append(("Help: list every key", "?", console.action_help))
    actions.append(("Quit vmdeck", "q (asks first while actions run)", console.request_quit))
    actions.append(
        (
            "Start a VM",
            "s: name and shape, placed by the scheduler",
            lambda: ask_start(app, view, session, None),
        )
    )
    vms = console.panes["vms"]
    assert isinstance(vms, VmsPane), "the vms pane is a VmsPane (PANE_CLASSES)"
    for binding in VMS_BINDINGS:
        if binding.action.startswith("vm("):
            kind = binding.action[4:-2]
            title = f"{binding.description} the VM selected on the VMs pane"
            actions.append(
                (
                    title,
                    f"{binding.key_display or binding.key} on the VMs pane",
                    partial(vms.action_vm, kind),
                )
            )
    hosts = console.panes["hosts"]
    assert isinstance(hosts, HostsPane), "the hosts pane is a HostsPane (PANE_CLASSES)"
    actions += hostadmin_actions(hosts, view)  # add, edit, remove, reconcile, pools
    for host in view.records:
        for state, verb in STATE_VERBS.items():
            actions.append(
                (
                    f"{verb} host {host}",
                    f"set {host} to {state.label} (asks for a reason)",
                    partial(ask_state_change, app, view, session, host, state),
                )
            )
        actions.append(
            (
                f"Drain host {host}",
                "plan, reason, confirm, then migrate its VMs",
                partial(ask_drain, app, view, session, host),
            )
        )
        hosts_pane = console.panes["hosts"]
        assert isinstance(hosts_pane, HostsPane), "the hosts pane is a HostsPane (PANE_CLASSES)"
        actions.append(
            (
                f"Check host {host}",
                "c: KVM, IOMMU, devices, capacity, pools, shared storage, migration",
                partial(hosts_pane.check_host, host),
            )
        )
    return actions


def _mark_all(app: App[None]) -> None:
    """The table on screen marks every row its filter shows (space marks one: tui/console/panes/base.py)."""
    screen = app.screen
    if isinstance(screen, TablePane) and screen.MARKABLE:
        screen.action_mark_all()


def _lab(console: ConsoleApp, name: str) -> None:
    """Show the Simulation pane, then (once it is on screen) run the lab action `name` on it."""
    console.action_pane("sim")
    sim = console.panes["sim"]
    assert isinstance(sim, SimPane), "the sim pane is a SimPane (PANE_CLASSES)"
    cast("App[None]", console).call_after_refresh(sim.action_lab, name)


class VmdeckCommands(Provider):
    def _actions(self) -> list[Action]:
        # The provider is registered only by VmdeckApp (its COMMANDS); Textual types `self.app` as App.
        return cast(ConsoleApp, self.app).palette_actions()

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._actions():
            yield DiscoveryHit(title, callback, text=title, help=help_text)


class SafePalette(CommandPalette):
    """Textual's command palette, safe against paging before its list is laid out.

    PageUp/PageDown arriving in the same burst as ctrl+p reach the option list before it has a size:
    Textual 8.2's `OptionList._move_page` then looks up a line map that is only filled once the list
    has a region (`_update_lines` returns early without one) and raises `KeyError: 0`. A page key
    on a list that is not laid out has nothing to page through, so it is ignored here.
    """

    def dismiss(self, result: None = None) -> AwaitComplete:
        # esc twice (or esc and enter) in one burst: the second must not pop the pane under it.
        if not self.is_active:
            done: AwaitComplete = AwaitComplete.nothing()  # type: ignore[no-untyped-call]
            return done
        return super().dismiss(result)

    def _action_command_list(self, action: str) -> None:
        # Overrides a private method of Textual's CommandPalette (pinned < 9 in pyproject).
        if action in ("page_up", "page_down"):
            commands = self.query(CommandList)
            if not commands or not commands.first().scrollable_content_region:
                return
        super()._action_command_list(action)
