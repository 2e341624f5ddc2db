"""The command palette (ctrl+p): every action of the console, searchable by name.

`palette_actions` lists the actions — the same functions the keys call, so the palette and the keys
can never drift apart; the provider only matches and runs them. VM actions act on the VM selected on
the VMs pane (listing every action for each of 10,000 VMs would make the palette itself slow); host
actions are listed per host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.core.fleet import HostState
from tui.ui.keymap import PANES, VMS_BINDINGS
from tui.ui.lab.controller import LAB_BINDINGS
from tui.ui.panes.hosts import ask_state_change
from tui.ui.vmactions import ask_drain, ask_start

if TYPE_CHECKING:
    from tui.ui.app import VmdeckApp

Action = tuple[str, str, Callable[[], Any]]
STATE_VERBS = {
    HostState.ENABLED: "Enable",
    HostState.NO_SCHEDULING: "No Scheduling for",
    HostState.DISABLED: "Disable",
}


def palette_actions(app: VmdeckApp) -> list[Action]:
    view, session = app.view, app.session
    actions: list[Action] = [
        (f"Show {title} pane", f":{name}", lambda n=name: app.action_pane(n)) for name, title in PANES.items()
    ]
    actions.append(("Filter the current pane", "/ text or regex", app.action_filter))
    for binding in LAB_BINDINGS:  # the what-if lab: shown on the Simulation pane, then run
        name = binding.action[5:-2]  # "lab('curve')" -> curve
        go = lambda n=name: (app.action_pane("sim"), app.call_after_refresh(app.panes["sim"].action_lab, n))  # type: ignore[attr-defined]  # noqa: E731
        actions.append((f"Lab: {binding.description}", f"{binding.key} on the Simulation pane", go))
    actions.append(("Help: list every key", "?", app.action_help))
    actions.append(("Quit vmdeck", "q", app.exit))
    actions.append(
        (
            "Start a VM",
            "s: name and shape, placed by the scheduler",
            lambda: ask_start(app, view, session, None),
        )
    )
    vms = app.panes["vms"]
    for binding in VMS_BINDINGS:
        if binding.action.startswith("vm("):
            kind = binding.action[4:-2]
            title = f"{binding.description} the VM selected on the VMs pane"
            actions.append(
                (
                    title,
                    f"{binding.key_display or binding.key} on the VMs pane",
                    lambda k=kind: vms.action_vm(k),
                )
            )
    for host in view.records:
        for state, verb in STATE_VERBS.items():
            actions.append(
                (
                    f"{verb} host {host}",
                    f"set {host} to {state.label} (asks for a reason)",
                    lambda h=host, s=state: ask_state_change(app, view, session, h, s),
                )
            )
        actions.append(
            (
                f"Drain host {host}",
                "plan, reason, confirm, then migrate its VMs",
                lambda h=host: ask_drain(app, view, session, h),
            )
        )
    return actions


class VmdeckCommands(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.app.palette_actions():  # type: ignore[attr-defined]
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, callback in self.app.palette_actions():  # type: ignore[attr-defined]
            yield DiscoveryHit(title, callback, text=title, help=help_text)
