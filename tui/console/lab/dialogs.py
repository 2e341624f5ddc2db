"""Choosing a saved scenario to reopen: a list with name, date, edits and saved results."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.console.keyorder import Dialog
from tui.console.widgets.table import FixedTable
from tui.core.whatif import Scenario


class ScenarioPickScreen(Dialog[str | None]):
    """Returns the chosen scenario's name (enter), or None (esc)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="scenario.cancel"),
        Binding("enter", "open", "Open", id="scenario.open", priority=True),  # at once, not via a message
    ]

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        super().__init__(classes="action-screen")
        self.scenarios = list(scenarios)

    def compose(self) -> ComposeResult:
        with Vertical(id="scenario-dialog", classes="action-dialog"):
            yield Static("Open a saved what-if", classes="action-title", markup=False)
            table = FixedTable(id="scenario-list", cursor_type="row")
            for label, width in (("Name", 20), ("Saved", 25), ("Edits", 5), ("Results", 30)):
                table.add_column(label, key=label, width=width)
            for s in self.scenarios:
                table.add_row(s.name, s.created, str(len(s.edits)), ", ".join(sorted(s.results)), key=s.name)
            yield table
            yield Static("enter: open · esc: cancel", classes="action-status", markup=False)

    def on_mount(self) -> None:
        self.set_focus(self.query_one(DataTable))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self.dismiss(str(table.get_row_at(table.cursor_row)[0]))

    def action_cancel(self) -> None:
        self.dismiss(None)
