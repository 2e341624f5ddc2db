"""The lab's scenario view and the scenario store's jobs (tui/services/scenarios.py does the I/O).

A scenario is what the admin set up in the lab (edits, workload, fleet) and what it computed (the
lab's shared state, handed down to this view); saved by name beside the store, reopened in any
console, exported as JSON or CSV tables. The view lists, opens, saves and exports in its own thread
jobs; a scenario opened is posted up (`Opened`) for the pane to make it the lab's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from tui.console.lab.base import LabView
from tui.console.lab.dialogs import ScenarioPickScreen
from tui.console.lab.params import WorkloadParams
from tui.console.widgets.prompt import PromptScreen
from tui.core.fleet import FleetError
from tui.core.model import VmConfig
from tui.core.whatif import Edit, EditError, FleetModel, Scenario, config_hash, parse_edits
from tui.services.scenarios import attempt_write, export_csv, export_json, jsonable, scenario_store


class ScenarioView(LabView):
    """A reopened scenario, and the jobs that list, open, save and export scenarios."""

    KIND = "scenario"

    @dataclass
    class Listed(Message):
        """The saved scenarios, newest first (for the pick dialog)."""

        scenarios: list[Scenario]

    @dataclass
    class Opened(Message):
        """A scenario read back from the store, its edits and fleet read (bubbles up to the pane)."""

        scenario: Scenario
        model: FleetModel | None
        edits: tuple[Edit, ...]
        workload: WorkloadParams
        same_config: bool  # saved under the console's config (the same hash)

    @dataclass
    class Unreadable(Message):
        """A saved scenario whose edits or fleet do not read under the console's config."""

        name: str
        error: str

    def home(self) -> Widget:
        return self.query_one("#scenario-body")

    def shown(self) -> None:
        return  # shows what was opened; nothing to compute

    # --- o: open -----------------------------------------------------------------------------------------
    def ask_open(self) -> None:
        self.list_saved(self.session.db)

    @work(thread=True, exclusive=True, group="lab-scenarios", exit_on_error=False)
    def list_saved(self, db: str | None) -> None:
        try:
            self.post_message(self.Listed(scenario_store(db).list()))
        except (OSError, ValueError) as exc:
            self.post_message(self.FileWritten("scenarios", [], str(exc)))

    @on(Listed)
    def _listed(self, message: Listed) -> None:
        message.stop()
        if not message.scenarios:
            self.notify("no scenarios saved yet (s saves the current what-if)", severity="warning")
            return
        if not self.screen.is_active:  # another dialog opened meanwhile: never stack
            self.notify("scenarios listed: press o again to choose one", severity="warning")
            return
        self.app.push_screen(ScenarioPickScreen(message.scenarios), self._chosen)

    def _chosen(self, name: str | None) -> None:
        if name:
            self.open_saved(self.session.db, name, self.fleet.config)

    @work(thread=True, exclusive=True, group="lab-scenarios", exit_on_error=False)
    def open_saved(self, db: str | None, name: str, config: VmConfig) -> None:
        try:
            scenario = scenario_store(db).get(name)
        except (OSError, ValueError) as exc:
            self.post_message(self.FileWritten(f"scenario {name}", [], str(exc)))
            return
        try:
            edits = tuple(parse_edits(scenario.edits))
            model = FleetModel.from_json(scenario.fleet, config) if scenario.fleet else None
        except (EditError, FleetError) as exc:
            self.post_message(self.Unreadable(scenario.name, str(exc)))
            return
        workload = WorkloadParams.from_json(dict(scenario.workload) if scenario.workload else None)
        same = scenario.config_hash == config_hash(config)
        self.post_message(self.Opened(scenario, model, edits, workload, same))

    @on(Unreadable)
    def _unreadable(self, message: Unreadable) -> None:
        message.stop()
        self.notify(f"scenario {message.name}: {message.error}", severity="error")

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.show(message.scenario, message.same_config)  # and up to the pane, which adopts it

    # --- s: save, x: export --------------------------------------------------------------------------------
    def ask_save(self) -> None:
        scenario = self.lab_state.scenario
        self.app.push_screen(
            PromptScreen(
                "save scenario as ",
                scenario.name if scenario else "",
                hint="a name (the same name replaces it)",
            ),
            self._save_as,
        )

    def _save_as(self, name: str | None) -> None:
        if name and name.strip():
            self.save(self.session.db, name.strip(), self.maker(name.strip()))

    def ask_export(self) -> None:
        self.app.push_screen(
            PromptScreen("export to ", hint="FILE.json for JSON, else a directory of CSV tables"),
            self._export_to,
        )

    def _export_to(self, path: str | None) -> None:
        if path and path.strip():
            scenario = self.lab_state.scenario
            self.export(path.strip(), self.maker(scenario.name if scenario else "what-if"))

    def maker(self, name: str) -> Callable[[], Scenario]:
        """A function (for the thread) building the scenario from copies taken now."""
        state, inputs = self.lab_state, self.inputs()
        workload = state.workload.to_json() if state.workload else None
        reopened = state.scenario is not None
        source = (state.scenario.fleet_source if state.scenario else None) or inputs.source
        db, config_source = self.session.db, self.session.source
        results = dict(state.results)

        def make() -> Scenario:
            return Scenario(
                name=name,
                config_hash=config_hash(inputs.config),
                config_source=config_source,
                edits=tuple(e.to_text() for e in inputs.edits),
                fleet=inputs.model().to_json(),
                fleet_source=source if reopened else f"live:{db}",
                workload=workload,
                results=jsonable(results),
            )

        return make

    @work(thread=True, exclusive=True, group="lab-write-scenario", exit_on_error=False)
    def save(self, db: str | None, name: str, make: Callable[[], Scenario]) -> None:
        """`make` builds the scenario here, in the thread, from copies taken on the UI loop."""
        saved = attempt_write(name, lambda _name: [scenario_store(db).save(make(), replace=True).name])
        self.post_message(self.FileWritten("scenario", *saved))

    @work(thread=True, exclusive=True, group="lab-write-export", exit_on_error=False)
    def export(self, path: str, make: Callable[[], Scenario]) -> None:
        """FILE.json: the scenario as JSON; anything else: a directory of CSV tables."""
        if path.endswith(".json"):
            written = attempt_write(path, lambda p: [str(export_json(make(), p))])
        else:
            written = attempt_write(path, lambda p: [str(x) for x in export_csv(make(), p)])
        self.post_message(self.FileWritten("export", *written))

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
