"""The lab's jobs, run in thread workers: plain inputs in, tui.core.whatif results out.

`LabInputs` is captured on the UI loop (frozen copies: the config, the committed edits, the request,
and a function that builds the fleet model from snapshots copied at that moment), so a job never
reads the app's state from its thread. Jobs only compute; the view that runs one posts what it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from tui.console.fleetview import FleetView
from tui.console.lab.params import PlanParams, ResponseParams, WorkloadParams
from tui.console.lab.state import LabState
from tui.core.diagnostics import Diagnostic
from tui.core.fleet import FleetError
from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot
from tui.core.model import VmConfig
from tui.core.scheduling.policies import POLICIES
from tui.core.scheduling.request import Request
from tui.core.whatif import (
    AbResult,
    CurveLab,
    Edit,
    EditResult,
    ExportError,
    FleetModel,
    LoadResponse,
    Plan,
    PolicyRun,
    Rerank,
    add_hosts,
    apply_edits,
    consolidation_plan,
    cost_functions_text,
    drain_preview,
    live_model,
    load_response,
    rebalance_plan,
    remove_hosts,
)
from tui.core.whatif.replays import ab_replay, run_policy
from tui.services.scenarios import check_cost_functions_text

# pyhocon changes pyparsing's global state while it parses: one loader check at a time (notes).
_LOADER_LOCK = threading.Lock()


@dataclass(frozen=True)
class LabInputs:
    config: VmConfig  # the live config: A in the A/B, "before" in the curve lab
    request: Request
    edits: tuple[Edit, ...]
    model: Callable[[], FleetModel]  # called in the thread
    source: str  # "live fleet" or "scenario NAME's fleet"

    @property
    def edited(self) -> VmConfig:
        return apply_edits(self.config, self.edits).config if self.edits else self.config


def live_source(
    config: VmConfig, records: Sequence[HostRecord], snapshots: Mapping[str, HostSnapshot]
) -> Callable[[], FleetModel]:
    """The live fleet as the lab's model, from copies taken now (hosts with unknown profiles left out,
    as the console's own fleet view does)."""
    known = [r for r in records if r.profile in config.hardware_profiles]
    frozen = dict(snapshots)
    return lambda: live_model(known, frozen, config)


def lab_inputs(fleet: FleetView, state: LabState) -> LabInputs:
    """Frozen inputs for a job, taken now on the UI loop: a reopened scenario's fleet, else the live one."""
    config = fleet.config
    if state.model is not None and state.scenario is not None:
        model = state.model
        return LabInputs(config, state.shape, state.edits, lambda: model, state.fleet_label())
    source = live_source(config, list(fleet.records.values()), fleet.snapshots)
    return LabInputs(config, state.shape, state.edits, source, "live fleet")


# --- curve lab -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurveOutcome:
    lab: CurveLab  # kept by the pane: the next keystroke reuses its base costs
    result: EditResult
    rerank: Rerank
    hocon: str  # the edited cost functions as HOCON ("" when nothing is edited)
    export_error: str | None
    edits: tuple[Edit, ...] = field(default=())


def curve(inputs: LabInputs, lab: CurveLab | None, edits: Sequence[Edit]) -> CurveOutcome:
    """Apply the edits (the committed ones plus the one being typed) and rerank every host."""
    if lab is None:
        lab = CurveLab(inputs.config, inputs.model().fleet, inputs.request)
    result, ranked = lab.try_edits(edits)
    hocon, error = "", None
    if result.edited:
        try:
            hocon = cost_functions_text(result.config, result.edited, header="edited in the vmdeck curve lab")
        except ExportError as exc:
            error = str(exc)
    return CurveOutcome(lab, result, ranked, hocon, error, tuple(edits))


def check_hocon(text: str) -> list[Diagnostic]:
    """The real loader over the text: its diagnostics with line numbers in `text`."""
    with _LOADER_LOCK:
        return check_cost_functions_text(text)[1]


# --- the rest --------------------------------------------------------------------------------------------
def response(inputs: LabInputs, params: ResponseParams) -> LoadResponse:
    return load_response(inputs.edited, inputs.model().fleet, inputs.request, params.steps, params.next)


def hypothetical(inputs: LabInputs, params: WorkloadParams) -> FleetModel:
    model = inputs.model()
    for profile, n in params.add:
        model = add_hosts(model, profile, n, inputs.config)
    for profile, n in params.remove:
        model, _gone = remove_hosts(model, profile, n)
    return model


def replay_runs(inputs: LabInputs, params: WorkloadParams) -> Iterator[PolicyRun]:
    """Each policy's run as soon as it is done (the cost policy first), so the pane fills row by row."""
    fleet = hypothetical(inputs, params).fleet
    events = params.events()
    config = inputs.edited
    for policy in POLICIES:
        yield run_policy(config, fleet, events, policy)


def ab(inputs: LabInputs, params: WorkloadParams) -> AbResult:
    fleet = hypothetical(inputs, params).fleet
    return ab_replay(inputs.config, inputs.edited, fleet, params.events())


def plan(inputs: LabInputs, kind: str, params: PlanParams, host: str | None = None) -> Plan:
    config, model = inputs.edited, inputs.model()
    if kind == "drain":
        if not host:
            raise FleetError("type the host to drain (enter a host name)")
        return drain_preview(config, model, host)
    if kind == "rebalance":
        return rebalance_plan(config, model, params.max_moves)
    return consolidation_plan(config, model, params.max_hosts, params.max_moves)
