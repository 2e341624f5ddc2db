"""The simulation pane and the what-if lab: type a request shape, see where it would go and every
host's cost breakdown; then the lab's views over the same request — load response, curve lab,
replays, A/B, drain/rebalance/consolidation plans — and scenarios saved to the store.

Every computation is tui.core.whatif's (the same functions as `vmdeck lab`), run in a thread worker
over frozen copies of the live fleet (or a reopened scenario's fleet); the job posts its result back
as a message and the pane hands it to the view. Nothing here changes the live config: curve edits
live in memory until the admin saves their HOCON to a file; plans change the fleet only through the
migrate action, after a confirmation, and never in read-only mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import ContentSwitcher, DataTable, Input, Static
from textual.worker import Worker, WorkerState

from tui.core.costs import format_cost
from tui.core.fleet import Fleet
from tui.core.hostcheck import HostCheckReport
from tui.core.model import VmConfig
from tui.core.scheduling import CostEngine, FleetState, Placement, Request, RequestError, explain_request
from tui.core.scheduling.explain import note_device_checks
from tui.core.scheduling.request import REQUEST_EXAMPLE, parse_request
from tui.core.units import format_size
from tui.ui.keymap import key
from tui.ui.keyorder import OrderedKeys
from tui.ui.lab.controller import LAB_BINDINGS, LabController
from tui.ui.lab.curvelab import CurveLabView
from tui.ui.lab.messages import (
    LabFileWritten,
)
from tui.ui.lab.pane import LabPane
from tui.ui.lab.scenarios import ScenarioView
from tui.ui.lab.views import AbView, LabView, PlanView, ReplayView, ResponseView
from tui.ui.text import plural, safe_cells


def place(
    config: VmConfig, fleet: Fleet, request: Request, checks: Mapping[str, HostCheckReport] | None = None
) -> Placement:
    """Runs in a worker thread: the engine's decision and every host's verdict (with a note where the
    last host check failed for a device the request needs)."""
    state = FleetState(config, fleet)
    return note_device_checks(explain_request(state, CostEngine(state), request), checks or {})


def lab_styles() -> str:
    """styles/lab.tcss, beside the app's stylesheet (the package's _data link or the checkout)."""
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "_data" / "styles", package.parent / "styles"):
        if (candidate / "lab.tcss").is_file():
            return str(candidate / "lab.tcss")
    raise FileNotFoundError(f"lab.tcss not found next to {package}")


class SimPane(OrderedKeys, LabPane):
    """While one of its text fields has focus the pane takes its keys in order (tui/ui/keyorder.py):
    the field gets the text, enter submits and hands focus back at once, so a lab key typed after
    enter in the same burst acts as a lab key, and text typed before it is never one."""

    PANE = "sim"
    TITLE_TEXT = "Simulation"
    CSS_PATH = lab_styles()
    PANE_BINDINGS: ClassVar[list[Binding]] = [
        key("r", "edit_request", "Request", id="sim.request"),
        key("ctrl+r", "recompute", "Recompute", id="sim.recompute"),
        key("enter", "submit_field", "Submit the field", id="sim.submit", show=False),
        *LAB_BINDINGS,
    ]
    BINDINGS: ClassVar[list[BindingType]] = [*PANE_BINDINGS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request: Request | None = None
        self.placement: Placement | None = None
        self.lab = LabController(self)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sim-request"):
            yield Input(
                placeholder=f"r, then a request: {REQUEST_EXAMPLE}, enter", id="sim-input", compact=True
            )
            yield Static(
                "Press r, type a request shape (vCPUs, memory, devices) and press enter.",
                id="sim-result",
                markup=False,
            )
            yield Static("", id="lab-tabs", markup=False)
            yield Input(id="lab-params", compact=True, suggester=SuggestFromList([], case_sensitive=False))
        with ContentSwitcher(initial="lab-place", id="lab-views"):
            with Vertical(id="lab-place", classes="lab-view"):
                yield DataTable(id="sim-table", cursor_type="row", zebra_stripes=True)
            yield ResponseView()
            yield CurveLabView()
            yield ReplayView()
            yield AbView()
            yield PlanView()
            yield ScenarioView()

    def build(self) -> None:
        # The table has focus until `r`: a focused input would swallow `:`, `/` and the pane digits.
        self.query_one("#sim-table", DataTable).focus()
        self.lab.mounted()

    def owns_keys(self) -> bool:
        return isinstance(self.focused, Input) or self.pending()

    def leave_field(self) -> None:
        self.set_focus(self.lab.home())  # a table, so the lab's letters are keys again

    def action_edit_request(self) -> None:
        self.set_focus(self.query_one("#sim-input", Input))  # at once: the next key is typed there

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit_field":
            return isinstance(self.focused, Input)  # otherwise enter is the table's
        return True

    def action_submit_field(self) -> None:
        field = self.focused
        if not isinstance(field, Input):
            return
        if field.id == "lab-params":
            self.lab.params_submitted(field.value)
            return
        try:
            self.request = parse_request(field.value, self.view.config.device_types())
        except RequestError as exc:
            self.query_one("#sim-result", Static).update(f"Cannot read the request: {exc}")
            return
        self.set_focus(self.query_one("#sim-table", DataTable))
        self.lab.request_changed()
        self.action_recompute()

    @on(Input.Changed, "#lab-params")
    def lab_params_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.lab.params_changed(event.value)

    @on(DataTable.RowSelected, "#curve-params")
    def curve_param_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.lab.edit_selected_param()

    def action_recompute(self) -> None:
        if self.lab.view != "place":
            self.lab.recompute()
            return
        if self.request is None:
            return
        fleet, config, request = self.view.fleet(), self.view.config, self.request
        self.query_one("#sim-result", Static).update("Placing …")
        checks = dict(self.view.checks)
        self.run_worker(
            lambda: place(config, fleet, request, checks), thread=True, exclusive=True, group="sim"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "sim":
            return
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, Placement):
            self.placement = event.worker.result
            self.refresh_all()
        elif event.state is WorkerState.ERROR:
            self.query_one("#sim-result", Static).update(f"Placement failed: {event.worker.error}")

    def fleet_changed(self, names: list[str]) -> None:
        # A new load changes every verdict: recompute (the worker is exclusive, so bursts coalesce).
        super().fleet_changed(names)
        self.lab.fleet_changed()
        if self.is_mounted and self.is_current and self.request is not None and self.lab.view == "place":
            self.action_recompute()

    def update_rows(self, names: list[str]) -> None:
        return  # the recomputation above redraws when it finishes

    def refresh_all(self) -> None:
        table = self.query_one("#sim-table", DataTable)
        table.clear(columns=True)
        placement = self.placement
        if placement is None:
            return
        self.query_one("#sim-result", Static).update(_verdict_line(placement))
        terms = sorted({t.name for v in placement.candidates for t in v.breakdown.terms}, key=_term_order)
        table.add_columns("Host", "Profile", "State", "Cost", *terms, "×scale", "+offset", "Why not")
        for verdict in placement.candidates:
            values = {t.name: format_cost(t.value) for t in verdict.breakdown.terms}
            cells = (
                verdict.host,
                verdict.profile,
                verdict.state_label,
                ("→ " if verdict.host == placement.host else "") + format_cost(verdict.cost),
                *(values.get(t, "-") for t in terms),
                format_cost(verdict.breakdown.scale),
                format_cost(verdict.breakdown.offset),
                verdict.reason or "",
            )
            if self.filter.matches(cells):
                table.add_row(*safe_cells(cells), key=verdict.host)

    def selected_host(self) -> str | None:
        """The host selected in the placement table (what `d` drains by default)."""
        table = self.query_one("#sim-table", DataTable)
        if not table.row_count:
            return None
        return str(table.get_row_at(table.cursor_row)[0])

    def header_text(self) -> str:
        return self.lab.header()

    # --- the lab's messages: each handed to the controller ------------------------------------------
    @on(LabView.Computed)
    def lab_computed(self, message: LabView.Computed) -> None:
        self.lab.computed(message)

    @on(LabView.Failed)
    def lab_failed(self, message: LabView.Failed) -> None:
        self.lab.failed(message)

    @on(CurveLabView.HoconChecked)
    def hocon_checked(self, message: CurveLabView.HoconChecked) -> None:
        self.lab.hocon_checked(message)

    @on(ScenarioView.Listed)
    def scenarios_listed(self, message: ScenarioView.Listed) -> None:
        self.lab.scenarios_listed(message.scenarios)

    @on(ScenarioView.Opened)
    def scenario_opened(self, message: ScenarioView.Opened) -> None:
        self.lab.scenario_opened(message.scenario)

    def on_lab_file_written(self, message: LabFileWritten) -> None:
        self.lab.file_written(message)

    # --- keys: each names a lab action ------------------------------------------------------------------
    def action_lab(self, name: str) -> None:
        self.lab.act(name)


def _term_order(name: str) -> tuple[int, str]:
    return ({"vms": 0, "vcpus": 1, "memory": 2}.get(name, 3), name)


def _verdict_line(placement: Placement) -> str:
    r = placement.request
    devices = ", ".join(f"{n}× {k}" for k, n in r.devices)
    shape = f"{r.vcpus} vCPU, {format_size(r.memory)}" + (f", {devices}" if devices else "")
    feasible = sum(1 for v in placement.candidates if v.feasible)
    if placement.host is None:
        return f"Request {shape}: NOT PLACED — no feasible host ({len(placement.candidates)} refused)"
    taken = f", devices {', '.join(placement.devices)}" if placement.devices else ""
    return (
        f"Request {shape} → {placement.host} at cost {format_cost(placement.cost)}{taken} "
        f"({feasible} of {plural(len(placement.candidates), 'host')} feasible; ties go to the name that sorts first)"
    )
