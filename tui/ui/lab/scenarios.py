"""The lab's scenario view and the scenario store's jobs (tui/services/scenarios.py does the I/O).

A scenario is what the admin set up in the lab (edits, workload, fleet) and what it computed; saved
by name beside the store, reopened in any console, exported as JSON or CSV tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui.core.whatif import Scenario
from tui.services.scenarios import attempt_write, export_csv, export_json, scenario_store
from tui.ui.lab.messages import LabFileWritten
from tui.ui.lab.views import LabView


class ScenarioView(LabView):
    """A reopened scenario, and the jobs that list, open, save and export scenarios: the store is
    read and written in thread workers of this widget, which post what happened up to the pane."""

    KIND = "scenario"

    @dataclass
    class Listed(Message):
        """The saved scenarios, newest first (for the pick dialog)."""

        scenarios: list[Scenario]

    @dataclass
    class Opened(Message):
        """A scenario read back from the store."""

        scenario: Scenario

    @work(thread=True, exclusive=True, group="lab-scenarios", exit_on_error=False)
    def list_saved(self, db: str | None) -> None:
        try:
            self.post_message(self.Listed(scenario_store(db).list()))
        except (OSError, ValueError) as exc:
            self.post_message(LabFileWritten("scenarios", [], str(exc)))

    @work(thread=True, exclusive=True, group="lab-scenarios", exit_on_error=False)
    def open_saved(self, db: str | None, name: str) -> None:
        try:
            self.post_message(self.Opened(scenario_store(db).get(name)))
        except (OSError, ValueError) as exc:
            self.post_message(LabFileWritten(f"scenario {name}", [], str(exc)))

    @work(thread=True, exclusive=True, group="lab-write-scenario", exit_on_error=False)
    def save(self, db: str | None, name: str, make: Callable[[], Scenario]) -> None:
        """`make` builds the scenario here, in the thread, from copies taken on the UI loop."""
        saved = attempt_write(name, lambda _name: [scenario_store(db).save(make(), replace=True).name])
        self.post_message(LabFileWritten("scenario", *saved))

    @work(thread=True, exclusive=True, group="lab-write-export", exit_on_error=False)
    def export(self, path: str, make: Callable[[], Scenario]) -> None:
        """FILE.json: the scenario as JSON; anything else: a directory of CSV tables."""
        if path.endswith(".json"):
            written = attempt_write(path, lambda p: [str(export_json(make(), p))])
        else:
            written = attempt_write(path, lambda p: [str(x) for x in export_csv(make(), p)])
        self.post_message(LabFileWritten("export", *written))

    def compose_tables(self) -> ComposeResult:
        with VerticalScroll(id="scenario-body"):
            yield Static("", id="scenario-text", markup=False)

    def show(self, scenario: Scenario, same_config: bool) -> None:
        self.say(
            f"Scenario {scenario.name} ({scenario.created}) · the lab now uses its edits, workload and fleet · "
            "g: back to the live fleet"
        )
        lines = [
            f"config {scenario.config_hash[:23]}… "
            + ("(the same as the console's)" if same_config else "(DIFFERENT from the console's config)"),
            f"fleet: {scenario.fleet_source or '-'}",
            "edits: " + (" ".join(scenario.edits) or "none"),
            f"workload: {scenario.workload or '-'}",
            "saved results:",
        ]
        for kind, data in sorted(scenario.results.items()):
            lines.append(f"  {kind}: {result_line(kind, data)}")
        self.query_one("#scenario-text", Static).update("\n".join(lines))


def result_line(kind: str, data: Any) -> str:
    """One line per saved result, read from its JSON (what was true when it was saved)."""
    if not isinstance(data, dict):
        return "?"
    if kind == "response":
        return f"the fleet took {data['fleet']['fits']} more; next: {', '.join(str(p['host']) for p in data['next'][:5])}"
    if kind == "curve":
        r = data.get("rerank", {})
        return f"{len(data.get('edits', []))} edit(s); request went {r.get('old_choice')} → {r.get('new_choice')}, {r.get('changed_ranks')} ranks changed"
    if kind == "replay":
        return "; ".join(
            f"{p['policy']} placed {p['placed']} rejected {p['rejected']}" for p in data["policies"]
        )
    if kind == "ab":
        return f"{data['differ']} of {data['decisions']} decisions differed"
    if kind in ("drain", "rebalance", "consolidate"):
        return (
            f"{len(data['moves'])} move(s), fleet cost {data['before']['total']} → {data['after']['total']}"
        )
    return ", ".join(sorted(data))
