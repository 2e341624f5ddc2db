"""The console's own keys: panes, the `:` command line, filter, help, back, bulk cancel, quitting.

Quitting never happens silently with actions in flight: it asks first, then audits each running
action as abandoned before the app exits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.screen import Screen
from textual.widgets import Input

from tui.console.activity import Running
from tui.console.consolebase import ConsoleBase
from tui.console.dialogs import HelpScreen, QuitScreen
from tui.console.jobs import record_abandoned
from tui.console.keymap import APP_BINDINGS, BULK_BINDINGS, MARK_BINDINGS, PANES, SORT_BINDINGS, describe
from tui.console.modewarm import warm_screen
from tui.console.panes.base import Pane, TablePane
from tui.console.text import plural
from tui.console.widgets.prompt import PromptScreen

COMMAND_ALIASES = {
    "h": "hosts",
    "p": "profiles",
    "c": "curves",
    "v": "vms",
    "vm": "vms",
    "s": "sim",
    "a": "activity",
}


class KeyHandlers(ConsoleBase):
    """The app-wide keys and the `:` commands."""

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
        if isinstance(screen, TablePane) and screen.clear_marks():
            return
        if isinstance(screen, Pane) and screen.clear_filter():
            return
        if not isinstance(screen, Pane) and len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.pane_history:
            self.switch_mode(self.pane_history.pop())

    def action_cancel_bulk(self) -> None:
        """ctrl+c: no further item of the running bulk action starts; without one, Textual's hint
        (this binding replaces Textual's ctrl+c: "press q to quit")."""
        if not self.bulk.cancel():
            self.action_help_quit()

    def action_command_line(self) -> None:
        names = [*PANES, "help", "quit"]
        self.push_screen(
            PromptScreen(":", suggestions=names, hint="hosts profiles curves vms sim activity help quit"),
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
            self.notify(
                f"unknown command :{word} (try :hosts :profiles :curves :vms :sim :activity)",
                severity="error",
            )

    def action_filter(self) -> None:
        pane = self.screen
        if isinstance(pane, Pane):
            # The filter goes to the pane it was typed on, whatever is on screen when it is applied.
            self.push_screen(
                PromptScreen("/", pane.filter.text, hint="text or regex"),
                lambda text: pane.set_filter(text) if text is not None else None,
            )

    def action_help(self) -> None:
        self.push_screen(self.help_screen(self.screen).reopened())

    def help_screen(self, screen: Screen[Any]) -> HelpScreen:
        """The help of this pane (or of any other screen): built and installed once per pane, so
        that opening it again composes nothing and draws one frame (`warm_help` builds them in
        the background after the first paint)."""
        name = f"help-{screen.PANE}" if isinstance(screen, Pane) else "help"
        if self.is_screen_installed(name):
            installed = self.get_screen(name)
            if isinstance(installed, HelpScreen):
                return installed
        help_screen = HelpScreen(help_sections(screen))
        warm_screen(self, help_screen, name)
        return help_screen

    def warm_help(self, panes: Iterable[Pane]) -> None:
        """Build each pane's help screen in the background (tui/console/modewarm.py)."""
        for pane in panes:
            self.help_screen(pane)

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


def help_sections(screen: Screen[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the help shows over `screen`: its pane's keys, every table's, then the app's."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    if isinstance(screen, Pane) and screen.PANE_BINDINGS:
        sections.append((f"{screen.TITLE_TEXT} pane", [describe(b) for b in screen.PANE_BINDINGS]))
    if isinstance(screen, TablePane):
        keys = [*SORT_BINDINGS, *(MARK_BINDINGS + BULK_BINDINGS if screen.MARKABLE else [])]
        sections.append(("Every table", [describe(b) for b in keys]))
    sections.append(("Everywhere", [describe(b) for b in APP_BINDINGS]))
    return sections
