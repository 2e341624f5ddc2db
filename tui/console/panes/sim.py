"""The simulation pane and the what-if lab: type a request shape, see where it would go and every
host's cost breakdown; then the lab's views over the same request — load response, curve lab,
replays, A/B, drain/rebalance/consolidation plans — and scenarios saved to the store.

The pane places the request itself; each lab view is a widget of tui/console/lab/ that owns its parameter
line, its thread job and its result. The pane holds what they share (`LabState`: the request, the
curve edits, the opened scenario, the results), hands it down to every view when it changes, and
changes it when a view posts what happened. It routes the lab's keys and the one parameter line to
the view on screen. Every computation is tui.core.whatif's (the same functions as `vmdeck lab`), run
over frozen copies of the live fleet (or a reopened scenario's fleet). Nothing here changes the live
config: curve edits live in memory until the admin saves their HOCON to a file; plans change the
fleet only through the action path, after a confirmation, and never in read-only mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import var
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Input, Static
from textual.worker import Worker, WorkerState

from tui.console.keymap import key
from tui.console.keyorder import OrderedKeys
from tui.console.lab.base import LabView
from tui.console.lab.curvelab import CurveLabView
from tui.console.lab.keys import LAB_BINDINGS, tab_line
from tui.console.lab.plans import PLAN_KINDS, PlanView
from tui.console.lab.replays import AbView, ReplayView
from tui.console.lab.response import ResponseView
from tui.console.lab.scenarios import ScenarioView
from tui.console.lab.state import LabState
from tui.console.panes.base import Pane
from tui.console.styles import stylesheet
from tui.console.text import plural, safe_cells
from tui.core.costs import format_cost
from tui.core.fleet import Fleet
from tui.core.hostcheck import HostCheckReport
from tui.core.model import VmConfig
from tui.core.scheduling import CostEngine, FleetState, Placement, Request, RequestError, explain_request
from tui.core.scheduling.explain import note_device_checks
from tui.core.scheduling.request import REQUEST_EXAMPLE, parse_request
from tui.core.units import format_size


def place(
    config: VmConfig, fleet: Fleet, request: Request, checks: Mapping[str, HostCheckReport] | None = None
) -> Placement:
    """Runs in a worker thread: the engine's decision and every host's verdict (with a note where the
    last host check failed for a device the request needs)."""
    state = FleetState(config, fleet)
    return note_device_checks(explain_request(state, CostEngine(state), request), checks or {})


class SimPane(OrderedKeys, Pane):
    """While one of its text fields has focus the pane takes its keys in order (tui/console/keyorder.py):
    the field gets the text, enter submits and hands focus back at once, so a lab key typed after
    enter in the same burst acts as a lab key, and text typed before it is never one."""

    PANE = "sim"
    TITLE_TEXT = "Simulation"
    CSS_PATH = str(stylesheet("lab.tcss"))
    PANE_BINDINGS: ClassVar[list[Binding]] = [
        key("r", "edit_request", "Request", id="sim.request"),
        key("ctrl+r", "recompute", "Recompute", id="sim.recompute"),
        key("enter", "submit_field", "Submit the field", id="sim.submit", show=False),
        *LAB_BINDINGS,
    ]
    BINDINGS: ClassVar[list[BindingType]] = [*PANE_BINDINGS]

    lab_state: var[LabState] = var(LabState, always_update=True)  # what the lab views share

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placement: Placement | None = None
        self.showing = "place"  # the view on screen: place, response, curve, replay, ab, drain, …
        self._curve_lab: CurveLabView | None = None  # found once (`build`): told of every batch

    @property
    def request(self) -> Request | None:
        """The request typed on the pane (None: the lab's default, DEFAULT_REQUEST)."""
        return self.lab_state.request

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
            for view in (ResponseView, CurveLabView, ReplayView, AbView, PlanView, ScenarioView):
                yield view(self.view, self.session)

    def build(self) -> None:
        # The table has focus until `r`: a focused input would swallow `:`, `/` and the pane digits.
        self.query_one("#sim-table", DataTable).focus()
        self.query_one("#lab-tabs", Static).update(tab_line(self.showing))
        box = self.params_line()
        box.display = False
        self._curve_lab = self.query_one(CurveLabView)
        box.suggester = self._curve_lab.suggester()

    def watch_lab_state(self, state: LabState) -> None:
        """Attributes down: every lab view gets the new shared state."""
        if not self.is_mounted:
            return
        for view in self.query(LabView):
            view.lab_state = state
        self.update_header()

    # --- the lab views ----------------------------------------------------------------------------------
    def lab_view(self, name: str) -> LabView | None:
        """The widget of a lab view name (None: the placement table, the pane's own)."""
        kind = VIEW_CLASSES.get(name)
        return self.query_one(kind) if kind is not None else None

    def params_line(self) -> Input:
        return self.query_one("#lab-params", Input)

    def home(self) -> Widget:
        """The table of the view on screen: what has focus when no field does."""
        lab = self.lab_view(self.showing)
        return lab.home() if lab is not None else self.query_one("#sim-table", DataTable)

    def show(self, name: str) -> None:
        """Switch to a view and compute it with its parameters (drain waits for a host).

        The curve lab's edit line takes the cursor at once (its prompt invites typing); another
        view's parameter line does when the view's key is pressed again.
        """
        lab = self.lab_view(name)
        box = self.params_line()
        if name == self.showing and lab is not None and lab.placeholder is not None:
            self.set_focus(box)
            return
        self.showing = name
        if isinstance(lab, PlanView):
            lab.select(name, self.selected_host())
        self.query_one("#lab-views", ContentSwitcher).current = lab.id if lab is not None else "lab-place"
        self.query_one("#lab-tabs", Static).update(tab_line(name))
        placeholder = lab.placeholder if lab is not None else None
        box.display = placeholder is not None
        # set_focus, not focus(): at once, so the next key of a burst goes where the admin expects.
        self.set_focus(box if isinstance(lab, CurveLabView) else self.home())
        if lab is not None and placeholder is not None:
            box.placeholder = placeholder
            with box.prevent(Input.Changed):
                box.value = lab.params_text()
        if lab is not None:
            lab.shown()
        self.update_header()

    def recompute_lab(self) -> None:
        lab = self.lab_view(self.showing)
        if lab is not None:
            lab.recompute()

    @on(Input.Changed, "#lab-params")
    def lab_params_changed(self, event: Input.Changed) -> None:
        event.stop()
        lab = self.lab_view(self.showing)
        if lab is not None:
            lab.typed(event.value)

    def lab_params_submitted(self, field: Input) -> None:
        lab = self.lab_view(self.showing)
        if lab is None:
            return
        state = lab.submitted(field.value)
        if state is not None:  # the curve lab kept an edit: the line is free for the next one
            with field.prevent(Input.Changed):
                field.value = ""
            self.lab_state = state
            lab.recompute()

    @on(CurveLabView.ParamChosen)
    def curve_param_chosen(self, message: CurveLabView.ParamChosen) -> None:
        """enter on a parameter: its `key=value` in the edit line, ready to change in place."""
        box = self.params_line()
        box.value = message.text
        self.set_focus(box)
        box.cursor_position = len(box.value)

    @on(LabView.ResultShown)
    def lab_result_shown(self, message: LabView.ResultShown) -> None:
        self.lab_state = self.lab_state.with_result(message.kind, message.data, message.workload)

    @on(ScenarioView.Opened)
    def scenario_opened(self, message: ScenarioView.Opened) -> None:
        """Its edits, workload and fleet become the lab's; the saved results are shown as they were."""
        scenario = message.scenario
        self.lab_state = self.lab_state.opened(scenario, message.model, message.edits, message.workload)
        self.show("scenario")
        self.notify(
            f"opened scenario {scenario.name}: {plural(len(message.edits), 'edit')}", title="Scenario"
        )

    # --- keys: each names a lab action (ACTIONS below) or a view ----------------------------------------
    def action_lab(self, name: str) -> None:
        action = ACTIONS.get(name)
        if action is not None:
            action(self)
        else:
            self.show(name)

    def lab_undo(self) -> None:
        edits = self.lab_state.edits
        if edits:
            self.lab_state = self.lab_state.without_last_edit()
            self.notify(f"dropped {edits[-1].to_text()}")
            self.recompute_lab()

    def lab_live(self) -> None:
        if self.lab_state.scenario is not None:
            self.lab_state = self.lab_state.live()
            self.notify("the lab uses the live fleet again")

    def lab_apply(self) -> None:
        self.query_one(PlanView).apply(on_screen=self.showing in PLAN_KINDS)

    # --- the request and its placement ------------------------------------------------------------------
    def owns_keys(self) -> bool:
        return isinstance(self.focused, Input) or self.pending()

    def leave_field(self) -> None:
        self.set_focus(self.home())  # a table, so the lab's letters are keys again

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
            self.lab_params_submitted(field)
            return
        try:
            request = parse_request(field.value, self.view.config.device_types())
        except RequestError as exc:
            self.query_one("#sim-result", Static).update(f"Cannot read the request: {exc}")
            return
        self.set_focus(self.query_one("#sim-table", DataTable))
        self.lab_state = self.lab_state.with_request(request)
        self.action_recompute()

    def action_recompute(self) -> None:
        if self.showing != "place":
            self.recompute_lab()
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
        if self._curve_lab is not None:  # None until built; found once, not queried per batch
            self._curve_lab.fleet_moved()
        if self.is_mounted and self.is_current and self.request is not None and self.showing == "place":
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
        return self.lab_state.header()


# What each lab key does beyond showing its view (the rest of LAB_BINDINGS name a view): named here,
# so a key and the code it runs can be followed without building names from strings.
ACTIONS: dict[str, Callable[[SimPane], None]] = {
    "undo": SimPane.lab_undo,
    "live": SimPane.lab_live,
    "apply": SimPane.lab_apply,
    "hocon": lambda pane: pane.query_one(CurveLabView).toggle_hocon(),
    "save_hocon": lambda pane: pane.query_one(CurveLabView).ask_save_hocon(),
    "save": lambda pane: pane.query_one(ScenarioView).ask_save(),
    "open": lambda pane: pane.query_one(ScenarioView).ask_open(),
    "export": lambda pane: pane.query_one(ScenarioView).ask_export(),
}
# The widget of each lab view's name ("place" is the pane's own table).
VIEW_CLASSES: dict[str, type[LabView]] = {
    "response": ResponseView,
    "curve": CurveLabView,
    "replay": ReplayView,
    "ab": AbView,
    **{kind: PlanView for kind in PLAN_KINDS},
    "scenario": ScenarioView,
}


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
