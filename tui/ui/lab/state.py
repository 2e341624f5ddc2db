"""What the admin set up in the what-if lab, shared by every lab view: one small frozen object.

The Simulation pane holds the current `LabState` (tui/ui/lab/pane.py); the lab replaces it with a new
one on each change (an edit kept or dropped, a scenario opened, back to the live fleet), so a job that
took the state when it started never sees it change under it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.core.whatif import Edit, FleetModel, Scenario
from tui.ui.text import plural


@dataclass(frozen=True)
class LabState:
    edits: tuple[Edit, ...] = ()  # committed curve edits (enter), in the order kept
    scenario: Scenario | None = None  # reopened: its fleet replaces the live one
    model: FleetModel | None = None  # the reopened scenario's fleet (None: the live fleet)

    def with_edit(self, edit: Edit) -> LabState:
        """The edit kept: it replaces an earlier edit of the same parameter, and comes last."""
        return replace(self, edits=(*(e for e in self.edits if e.key != edit.key), edit))

    def without_last_edit(self) -> LabState:
        return replace(self, edits=self.edits[:-1])

    def opened(self, scenario: Scenario, model: FleetModel | None, edits: tuple[Edit, ...]) -> LabState:
        return LabState(edits, scenario, model)

    def live(self) -> LabState:
        """Back to the live fleet; the edits stay."""
        return LabState(self.edits)

    def fleet_label(self) -> str:
        return f"scenario {self.scenario.name}'s fleet" if self.scenario else "live fleet"

    def header(self) -> str:
        edits = f", {plural(len(self.edits), 'curve edit')} in memory" if self.edits else ""
        return f"what-if lab on the {self.fleet_label()}{edits} (the live config is never changed)"
