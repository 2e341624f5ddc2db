"""The what-if lab's state and actions for the Simulation pane.

The pane owns one `LabController`: it keeps what the admin set up (the committed curve edits, each
view's parameter line, the fleet in use: live or a reopened scenario's), starts the thread jobs
(tui/ui/lab/compute.py) through the pane's workers, and hands the results the jobs post back to the
views. Every key of the lab is `lab(NAME)` → `act(NAME)`, so the keys, the help screen and the
command palette run the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Input, Static

from tui.core.fleet import FleetError
from tui.core.scheduling.request import Request
from tui.core.whatif import (
    CurveLab,
    Edit,
    EditError,
    FleetModel,
    Plan,
    PolicyRun,
    Scenario,
    config_hash,
    parse_edits,
)
from tui.services.scenarios import jsonable
from tui.ui.keymap import key
from tui.ui.lab import compute
from tui.ui.lab.apply import ask_apply, plan_refusal
from tui.ui.lab.compute import CurveOutcome, LabInputs
from tui.ui.lab.curvelab import CurveLabView, parameter_rows
from tui.ui.lab.dialogs import ScenarioPickScreen
from tui.ui.lab.messages import (
    LabFileWritten,
)
from tui.ui.lab.pane import LabPane
from tui.ui.lab.params import ParamError, PlanParams, ResponseParams, WorkloadParams
from tui.ui.lab.scenarios import ScenarioView
from tui.ui.lab.views import AbView, LabView, PlanView, ReplayView, ResponseView
from tui.ui.messages import ActionRefused
from tui.ui.text import plural
from tui.ui.widgets.prompt import PromptScreen

# Keys of the lab (ids for help and palette). Letters the app uses (q, digits, :, /, ?) are avoided.
# A view's key pressed again while it is shown puts the cursor in its parameter line.
LAB_BINDINGS: list[Binding] = [
    key("p", "lab('place')", "Place", id="lab.place", show=False),
    key("l", "lab('response')", "Load resp.", id="lab.response"),
    key("e", "lab('curve')", "Curve lab", id="lab.curve"),
    key("w", "lab('replay')", "Replay", id="lab.replay"),
    key("a", "lab('ab')", "A/B", id="lab.ab"),
    key("d", "lab('drain')", "Drain preview", id="lab.drain", show=False),
    key("b", "lab('rebalance')", "Rebalance plan", id="lab.rebalance", show=False),
    key("c", "lab('consolidate')", "Consolidation plan", id="lab.consolidate", show=False),
    key("z", "lab('undo')", "Drop last curve edit", id="lab.undo", show=False),
    key("t", "lab('hocon')", "Show/hide HOCON", id="lab.hocon", show=False),
    key("h", "lab('save_hocon')", "Save HOCON to a file", id="lab.save_hocon", show=False),
    key("m", "lab('apply')", "Apply the plan (confirm)", id="lab.apply", show=False),
    key("s", "lab('save')", "Save scenario", id="lab.save"),
    key("o", "lab('open')", "Open scenario", id="lab.open", show=False),
    key("x", "lab('export')", "Export JSON/CSV", id="lab.export", show=False),
    key("g", "lab('live')", "Back to the live fleet", id="lab.live", show=False),
]

TABS = [
    ("place", "p place"),
    ("response", "l load"),
    ("curve", "e curve lab"),
    ("replay", "w replay"),
    ("ab", "a A/B"),
    ("drain", "d drain"),
    ("rebalance", "b rebalance"),
    ("consolidate", "c consolidate"),
    ("scenario", "o scenario"),
]
PLACEHOLDERS = {
    "response": "steps=16 next=10 (enter: recompute)",
    "curve": "COST_FUNCTION.TERM.PARAM=VALUE, e.g. pool1.vcpus.soft=10 (as you type; enter: keep)",
    "replay": "vms=1000 rate=1 lifetime=20 gpu=0 seed=0 | file=W.jsonl  add=pool1:2 remove=pool2:1",
    "ab": "vms=1000 rate=1 lifetime=20 gpu=0 seed=0 | file=W.jsonl  (B = the curve lab's edits)",
    "drain": "host to drain (enter: preview)",
    "rebalance": "moves=20 (enter: plan)",
    "consolidate": "moves=50 hosts=N (enter: plan)",
}
PLAN_KINDS = ("drain", "rebalance", "consolidate")
HOCON_PAUSE_S = 0.15  # the loader checks the HOCON once typing pauses this long
DEFAULT_REQUEST = Request.of(2, 4 * 1024**3)  # what the lab uses until a request is typed
VIEW_OF = {**{k: "plan" for k in PLAN_KINDS}, "place": "place"}


class LabController:
    def __init__(self, pane: LabPane) -> None:
        self.pane = pane
        self.view = "place"  # the lab view on screen: place, response, curve, replay, ab, drain, …
        self.pending: Edit | None = None  # the edit being typed
        self.params: dict[str, str] = {"replay": "vms=1000 rate=1 lifetime=20 gpu=0 seed=0", "ab": ""}
        self.generation: dict[str, int] = {}
        self.results: dict[str, Any] = {}  # kind -> JSON, what a scenario saves
        self.lab: CurveLab | None = None  # base costs of the curve lab, reused while nothing changes
        self.plan: Plan | None = None
        self.curve: CurveOutcome | None = None
        self.elapsed: dict[str, float] = {}  # kind -> seconds from job start to shown (bench, status)
        self._started: dict[str, float] = {}
        self.workload: WorkloadParams | None = None  # the last replayed workload (saved with a scenario)
        self._hocon_timer: Timer | None = None
        self._edit_refused: str | None = None  # why the edit being typed does not read, if it does not

    # The shared state is the pane's (LabState); these read it for the views and the tests.
    @property
    def edits(self) -> list[Edit]:
        return list(self.pane.lab_state.edits)

    @property
    def scenario(self) -> Scenario | None:
        return self.pane.lab_state.scenario

    # --- set-up -------------------------------------------------------------------------------------------
    def mounted(self) -> None:
        self._show_tabs()
        self._param_input().display = False
        paths = [f"{key}=" for key, _now, _new in self._param_rows()]
        self._param_input().suggester = SuggestFromList(paths, case_sensitive=False)

    def _param_rows(self) -> list[tuple[str, str, str]]:
        config = self.pane.view.config
        return parameter_rows(config, config)

    def header(self) -> str:
        return self.pane.lab_state.header()

    def inputs(self) -> LabInputs:
        """Frozen inputs for a job, taken now on the UI loop."""
        pane = self.pane
        config = pane.view.config
        state = self.pane.lab_state
        if state.model is not None and state.scenario is not None:
            model = state.model
            source: Callable[[], FleetModel] = lambda: model  # noqa: E731
            label = state.fleet_label()
        else:
            source = compute.live_source(config, list(pane.view.records.values()), pane.view.snapshots)
            label = "live fleet"
        request = pane.request or DEFAULT_REQUEST
        return LabInputs(config, request, state.edits, source, label)

    # --- keys ----------------------------------------------------------------------------------------------
    def act(self, name: str) -> None:
        """A lab key (LAB_BINDINGS' `lab(NAME)`): its action, else the view of that name."""
        action = ACTIONS.get(name)
        if action is not None:
            action(self)
        else:
            self.show(name)

    def show(self, view: str) -> None:
        """Switch to a view and compute it with its parameters (drain waits for a host).

        The curve lab's edit line takes the cursor at once (its prompt invites typing); another
        view's parameter line does when the view's key is pressed again.
        """
        if view == self.view and view in PLACEHOLDERS:
            self.pane.set_focus(self._param_input())
            return
        self.view = view
        box_id = f"lab-{VIEW_OF.get(view, view)}"
        self.pane.query_one("#lab-views", ContentSwitcher).current = box_id
        target = self.home()
        self._show_tabs()
        box = self._param_input()
        box.display = view in PLACEHOLDERS
        # set_focus, not focus(): at once, so the next key of a burst goes where the admin expects.
        self.pane.set_focus(box if view == "curve" else target)
        if view in PLACEHOLDERS:
            box.placeholder = PLACEHOLDERS[view]
            with box.prevent(Input.Changed):
                box.value = self._current_params(view)
        if view == "drain" and not self.params.get("drain"):
            self.params["drain"] = self.pane.selected_host() or ""
            with box.prevent(Input.Changed):
                box.value = self.params["drain"]
        if (
            view == "curve"
            or view not in ("place", "scenario", "ab", "replay")
            or view in ("replay", "ab")
            and view not in self.results
        ):
            self.recompute()
        self.pane.update_header()

    def home(self) -> Widget:
        """The view's table: what has focus when no field does. With nothing focused, Textual would
        focus the request line on the next screen resume, and the lab's letter keys would be typed
        into it."""
        box_id = f"lab-{VIEW_OF.get(self.view, self.view)}"
        tables = self.pane.query_one(f"#{box_id}").query(DataTable)
        return tables.first() if tables else self.pane.query_one("#scenario-body")

    def _current_params(self, view: str) -> str:
        if view == "curve":
            return self.pending.to_text() if self.pending is not None else ""
        if view == "ab":
            return self.params.get("ab") or self.params["replay"]
        return self.params.get(view, "")

    def do_place(self) -> None:
        self.show("place")

    def _param_input(self) -> Input:
        return self.pane.query_one("#lab-params", Input)

    def _show_tabs(self) -> None:
        tabs = " ".join(f"[{label}]" if key == self.view else f" {label} " for key, label in TABS)
        self.pane.query_one("#lab-tabs", Static).update(tabs)

    # --- parameters typed ------------------------------------------------------------------------------------
    def params_changed(self, text: str) -> None:
        """As you type: only the curve lab recomputes (a replay waits for enter)."""
        if self.view != "curve":
            return
        text = text.strip()
        try:
            self.pending = Edit.parse(text) if text else None
        except EditError as exc:
            # The edit as typed is refused (units and messages as `validate`'s): nothing of it is
            # applied, and no costs are shown for it — not even those of a shorter prefix typed before.
            self.pending = None
            self._edit_refused = f"edit: {exc.message}"
            view = self.pane.query_one(CurveLabView)
            view.show_diagnostics([f"ERROR {self._edit_refused}"], [])
            view.hide_costs(f"the edit does not read ({exc.message})")
            return
        self._edit_refused = None
        self.recompute()

    def params_submitted(self, text: str) -> None:
        if self.view == "curve":
            self.commit_edit(text)
            return
        self.params[self.view] = text.strip()
        self.recompute()

    def commit_edit(self, text: str) -> None:
        try:
            edit = Edit.parse(text.strip()) if text.strip() else None
        except EditError as exc:
            self.pane.notify(f"edit: {exc.message}", title="Edit not kept", severity="error")
            view = self.pane.query_one(CurveLabView)
            view.show_diagnostics([f"ERROR edit: {exc.message}"], [])
            view.hide_costs(f"the edit does not read ({exc.message})")
            return
        self._edit_refused = None
        if edit is not None:
            self.pane.lab_state = self.pane.lab_state.with_edit(edit)
        self.pending = None
        box = self._param_input()
        with box.prevent(Input.Changed):
            box.value = ""
        self.recompute()
        self.pane.update_header()

    def edit_selected_param(self) -> None:
        """enter on a parameter: its `key=value` in the edit line, ready to change in place."""
        chosen = self.pane.query_one(CurveLabView).selected_param()
        if chosen is None:
            return
        key, value = chosen
        box = self._param_input()
        box.value = f"{key}={value}"
        self.pane.set_focus(box)
        box.cursor_position = len(box.value)

    def do_undo(self) -> None:
        if self.edits:
            dropped = self.edits[-1]
            self.pane.lab_state = self.pane.lab_state.without_last_edit()
            self.pane.notify(f"dropped {dropped.to_text()}")
            self.recompute()
            self.pane.update_header()

    # --- computing ---------------------------------------------------------------------------------------
    def _next(self, kind: str) -> int:
        self.generation[kind] = self.generation.get(kind, 0) + 1
        self._started[kind] = time.perf_counter()
        return self.generation[kind]

    def _job(self, kind: str, work: Callable[[], Any]) -> None:
        """Run `work` in a thread of the kind's view; its result (its JSON made there too) comes back
        as LabView.Computed, or why it failed as LabView.Failed."""
        self._view_of(kind).run(kind, self._next(kind), work)

    def recompute(self) -> None:
        view = self.view
        try:
            if view == "response":
                self._response()
            elif view == "curve":
                self._curve()
            elif view in ("replay", "ab"):
                self._replay(view)
            elif view in PLAN_KINDS:
                self._plan(view)
        except ParamError as exc:
            self._view_of(view).say(f"Cannot read the parameters: {exc}")

    def _view_of(self, view: str) -> Any:
        classes = {
            "response": ResponseView,
            "curve": CurveLabView,
            "replay": ReplayView,
            "ab": AbView,
            "scenario": ScenarioView,
        }
        return self.pane.query_one(classes.get(view, PlanView))

    def _response(self) -> None:
        params = ResponseParams.parse(self.params.get("response", ""))
        inputs = self.inputs()
        self._view_of("response").say("Computing the load response …")
        self._job("response", lambda: compute.response(inputs, params))

    def _curve(self) -> None:
        inputs, lab = self.inputs(), self.lab
        edits = [e for e in self.edits if self.pending is None or e.key != self.pending.key]
        if self.pending is not None:
            edits.append(self.pending)
        self._job("curve", lambda: compute.curve(inputs, lab, edits))

    def _replay(self, view: str) -> None:
        params = WorkloadParams.parse(self._current_params(view))
        inputs = self.inputs()
        if view == "ab":
            if not self.edits:
                self._view_of("ab").say(
                    "A/B compares the current config with the curve lab's edits: make some first (e)."
                )
                return
            self._view_of("ab").say("Replaying under A and B …")
            self._job("ab", lambda: (compute.ab(inputs, params), params))
            return
        generation = self._next("replay")
        replays: ReplayView = self._view_of("replay")
        replays.start([p for p in ("cost", "first-fit", "best-fit", "spread")])
        replays.say(f"Replaying on the {inputs.source} …")
        replays.replay(generation, inputs, params)

    def _plan(self, kind: str) -> None:
        params = PlanParams.parse(
            "" if kind == "drain" else self.params.get(kind, ""), 20 if kind == "rebalance" else 50
        )
        host = self.params.get("drain", "").strip() or None
        if kind == "drain" and host is None:
            self._view_of(kind).say(
                "Drain preview: type the host to drain (d again), or select it on the place view (p) first."
            )
            return
        inputs = self.inputs()
        self._view_of(kind).say(f"Planning ({kind}) …")
        self._job(kind, lambda: compute.plan(inputs, kind, params, host))

    # --- results arrive -------------------------------------------------------------------------------------
    def computed(self, message: LabView.Computed) -> None:
        kind = message.kind
        base = "replay" if kind == "replay-run" else kind
        if message.generation != self.generation.get(base):
            return  # overtaken by a newer job
        SHOW[kind](self, message.result)
        if kind != "replay-run":
            self.elapsed[base] = time.perf_counter() - self._started.get(base, time.perf_counter())

    def failed(self, message: LabView.Failed) -> None:
        if message.generation == self.generation.get(message.kind):
            self._view_of(message.kind).say(f"Cannot compute: {message.error}")

    def _show_response(self, response: Any) -> None:
        self._view_of("response").show(response, len(self.edits))
        self.results["response"] = response.to_json()

    def _show_curve(self, outcome: CurveOutcome) -> None:
        self.curve, self.lab = outcome, outcome.lab
        view: CurveLabView = self._view_of("curve")
        config = self.pane.view.config
        view.show_params(config, outcome.result.config)
        if self._edit_refused is not None:
            return  # typed on since this job started: the refusal stands
        view.show_outcome(config, outcome, max(16, min(120, self.pane.size.width - 40)))
        data = outcome.result.to_json()
        data["rerank"], data["hocon"] = outcome.rerank.to_json(), outcome.hocon
        self.results["curve"] = data
        if self._hocon_timer is not None:
            self._hocon_timer.stop()
        if outcome.hocon:
            # The loader (pyhocon, tens of ms of CPU) runs once typing pauses, not on every keystroke:
            # on a shared 2-core machine it would otherwise slow the recompute the admin is waiting for.
            hocon = outcome.hocon
            self._hocon_timer = self.pane.set_timer(HOCON_PAUSE_S, lambda: self._check_hocon(hocon))

    def _check_hocon(self, text: str) -> None:
        self.pane.query_one(CurveLabView).check_hocon(self._next("hocon"), text)

    def hocon_checked(self, message: CurveLabView.HoconChecked) -> None:
        if message.generation != self.generation.get("hocon") or self.curve is None:
            return
        self.pane.query_one(CurveLabView).show_loader(self.curve, message.diagnostics)

    def _show_replay_run(self, run: PolicyRun) -> None:
        self._view_of("replay").add_run(run)

    def _show_replay(self, result: tuple[list[PolicyRun], WorkloadParams]) -> None:
        runs, params = result
        view: ReplayView = self._view_of("replay")
        view.finish()
        events = runs[0].result.events if runs else 0
        view.say(
            f"{events} events on the {self.inputs().source} ({params.to_text()}); vCPU/mem = share used at the end"
        )
        self.results["replay"] = {"events": events, "policies": [r.to_json() for r in runs]}
        self.workload = params

    def _show_ab(self, result: tuple[Any, WorkloadParams]) -> None:
        ab, params = result
        self._view_of("ab").show(ab, self.pane.lab_state.edits)
        self.results["ab"] = ab.to_json()
        self.workload = params

    def _show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self._view_of(plan.kind).show(plan, self.inputs().source, self.apply_refusal(plan))
        self.results[plan.kind] = plan.to_json()

    # --- plans: apply through the migrate action (tui/ui/lab/apply.py) -----------------------------------
    def apply_refusal(self, plan: Plan | None) -> str | None:
        can_act = getattr(self.pane.app, "deck", None) is not None
        return plan_refusal(plan, self.pane.session.read_only, self.scenario is not None, can_act)

    def do_apply(self) -> None:
        plan = self.plan if self.view in PLAN_KINDS else None
        why = self.apply_refusal(plan)
        if plan is None or why is not None:
            self.pane.app.post_message(ActionRefused("apply the plan", why or "show a plan first (d, b, c)"))
            return
        ask_apply(self.pane.app, self.pane.view, self.pane.session, plan)

    # --- HOCON ---------------------------------------------------------------------------------------------
    def do_hocon(self) -> None:
        self.pane.query_one(CurveLabView).toggle_hocon()

    def do_save_hocon(self) -> None:
        hocon = self.curve.hocon if self.curve is not None else ""
        if not hocon:
            self.pane.notify("no edited cost function to save yet (e: curve lab)", severity="warning")
            return
        self.pane.app.push_screen(
            PromptScreen("save HOCON to ", hint="a path, e.g. /tmp/cost-functions.conf"),
            lambda path: self._save_hocon(path, hocon),
        )

    def _save_hocon(self, path: str | None, hocon: str) -> None:
        if path:
            self.pane.query_one(CurveLabView).save_hocon(path, hocon)

    def file_written(self, message: LabFileWritten) -> None:
        if message.error:
            self.pane.notify(f"{message.what}: {message.error}", title="Not saved", severity="error")
        else:
            self.pane.notify(f"{message.what}: wrote {', '.join(message.paths)}", title="Saved")

    # --- scenarios ------------------------------------------------------------------------------------------
    def _scenario_maker(self, name: str) -> Callable[[], Scenario]:
        """A function (for the thread) building the scenario from copies taken now."""
        inputs, results = self.inputs(), dict(self.results)
        workload = self.workload.to_json() if self.workload else None
        source = inputs.source if self.scenario is None else (self.scenario.fleet_source or inputs.source)
        db, reopened, config_source = (
            self.pane.session.db,
            self.scenario is not None,
            self.pane.session.source,
        )

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

    def _scenarios(self) -> ScenarioView:
        return self.pane.query_one(ScenarioView)

    def do_save(self) -> None:
        suggestion = self.scenario.name if self.scenario else ""
        self.pane.app.push_screen(
            PromptScreen("save scenario as ", suggestion, hint="a name (the same name replaces it)"),
            lambda name: self._save(name.strip()) if name and name.strip() else None,
        )

    def _save(self, name: str) -> None:
        self._scenarios().save(self.pane.session.db, name, self._scenario_maker(name))

    def do_open(self) -> None:
        self._scenarios().list_saved(self.pane.session.db)

    def scenarios_listed(self, scenarios: list[Scenario]) -> None:
        if not scenarios:
            self.pane.notify("no scenarios saved yet (s saves the current what-if)", severity="warning")
            return
        if not self.pane.is_active:  # another dialog opened meanwhile: never stack
            self.pane.notify("scenarios listed: press o again to choose one", severity="warning")
            return
        self.pane.app.push_screen(ScenarioPickScreen(scenarios), self._open)

    def _open(self, name: str | None) -> None:
        if name:
            self._scenarios().open_saved(self.pane.session.db, name)

    def scenario_opened(self, scenario: Scenario) -> None:
        """Restore its edits, workload and fleet; the saved results are shown as they were."""
        config = self.pane.view.config
        try:
            edits = parse_edits(scenario.edits)
            model = FleetModel.from_json(scenario.fleet, config) if scenario.fleet else None
        except (EditError, FleetError) as exc:
            self.pane.notify(f"scenario {scenario.name}: {exc}", severity="error")
            return
        self.pane.lab_state = self.pane.lab_state.opened(scenario, model, tuple(edits))
        self.pending, self.lab = None, None
        self.results = dict(scenario.results)
        self.workload = WorkloadParams.from_json(dict(scenario.workload) if scenario.workload else None)
        self.params["replay"] = self.params["ab"] = self.workload.to_text()
        self._view_of("scenario").show(scenario, scenario.config_hash == config_hash(config))
        self.show("scenario")
        self.pane.notify(f"opened scenario {scenario.name}: {plural(len(edits), 'edit')}", title="Scenario")

    def do_live(self) -> None:
        if self.scenario is not None:
            self.pane.lab_state, self.lab = self.pane.lab_state.live(), None
            self.pane.notify("the lab uses the live fleet again")
            self.pane.update_header()

    def do_export(self) -> None:
        self.pane.app.push_screen(
            PromptScreen("export to ", hint="FILE.json for JSON, else a directory of CSV tables"),
            lambda path: self._export(path.strip()) if path and path.strip() else None,
        )

    def _export(self, path: str) -> None:
        self._scenarios().export(
            path, self._scenario_maker(self.scenario.name if self.scenario else "what-if")
        )

    # --- the fleet moved ----------------------------------------------------------------------------------
    def fleet_changed(self) -> None:
        if self.scenario is None:
            self.lab = None  # new loads: the curve lab's base costs are recomputed on the next change

    def request_changed(self) -> None:
        self.lab = None


# What each lab key does beyond showing its view, and how each kind of result is shown: named here,
# so a key, a result kind and its handler can be followed without building names from strings.
ACTIONS: dict[str, Callable[[LabController], None]] = {
    "place": LabController.do_place,
    "undo": LabController.do_undo,
    "hocon": LabController.do_hocon,
    "save_hocon": LabController.do_save_hocon,
    "apply": LabController.do_apply,
    "save": LabController.do_save,
    "open": LabController.do_open,
    "export": LabController.do_export,
    "live": LabController.do_live,
}
SHOW: dict[str, Callable[[LabController, Any], None]] = {
    "response": LabController._show_response,
    "curve": LabController._show_curve,
    "replay-run": LabController._show_replay_run,
    "replay": LabController._show_replay,
    "ab": LabController._show_ab,
    **{kind: LabController._show_plan for kind in PLAN_KINDS},
}
