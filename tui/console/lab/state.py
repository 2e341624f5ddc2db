"""What the admin set up in the what-if lab, shared by every lab view: one small frozen object.

The Simulation pane holds the current `LabState` and hands it down to every lab view
(tui/console/panes/sim.py); a view never changes it, it posts what happened (an edit kept, a result shown,
a scenario opened) and the pane replaces the state with a new one. A job that took the state when it
started therefore never sees it change under it. A saved scenario is this state plus the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tui.console.lab.params import WorkloadParams
from tui.console.text import plural
from tui.core.scheduling.request import Request
from tui.core.whatif import Edit, FleetModel, Scenario

DEFAULT_REQUEST = Request.of(2, 4 * 1024**3)  # what the lab uses until a request is typed


@dataclass(frozen=True)
class LabState:
    edits: tuple[Edit, ...] = ()  # committed curve edits (enter), in the order kept
    scenario: Scenario | None = None  # reopened: its fleet replaces the live one
    model: FleetModel | None = None  # the reopened scenario's fleet (None: the live fleet)
    request: Request | None = None  # the request typed on the pane (None: DEFAULT_REQUEST)
    workload: WorkloadParams | None = None  # the workload last replayed (saved with a scenario)
    # kind -> the JSON of the last result shown (what a scenario saves); replaced, never changed
    results: Mapping[str, Any] = field(default_factory=dict)

    def with_edit(self, edit: Edit) -> LabState:
        """The edit kept: it replaces an earlier edit of the same parameter, and comes last."""
        return replace(self, edits=(*(e for e in self.edits if e.key != edit.key), edit))

    def without_last_edit(self) -> LabState:
        return replace(self, edits=self.edits[:-1])

    def with_request(self, request: Request) -> LabState:
        return replace(self, request=request)

    def with_result(self, kind: str, data: Any, workload: WorkloadParams | None = None) -> LabState:
        """A view showed a result (a replay or A/B also says which workload it ran)."""
        return replace(self, results={**self.results, kind: data}, workload=workload or self.workload)

    def opened(
        self,
        scenario: Scenario,
        model: FleetModel | None,
        edits: tuple[Edit, ...],
        workload: WorkloadParams | None = None,
    ) -> LabState:
        """A reopened scenario: its edits, fleet, workload and saved results (the request stays)."""
        return LabState(edits, scenario, model, self.request, workload, dict(scenario.results))

    def live(self) -> LabState:
        """Back to the live fleet; the edits, the request and the results stay."""
        return replace(self, scenario=None, model=None)

    @property
    def shape(self) -> Request:
        """The request the lab computes for."""
        return self.request or DEFAULT_REQUEST

    def fleet_label(self) -> str:
        return f"scenario {self.scenario.name}'s fleet" if self.scenario else "live fleet"

    def header(self) -> str:
        edits = f", {plural(len(self.edits), 'curve edit')} in memory" if self.edits else ""
        return f"what-if lab on the {self.fleet_label()}{edits} (the live config is never changed)"
