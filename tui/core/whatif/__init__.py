"""The what-if lab: load response, curve edits and their effect, replays, A/B, drain, rebalance and
consolidation plans, scenarios. Pure functions over core objects (no I/O), called alike by the
console's Simulation pane and `vmdeck lab`; every placement decision is the scheduler's own.
"""

from __future__ import annotations

from tui.core.whatif.edits import (
    CurveLab,
    Edit,
    EditError,
    EditResult,
    apply_edits,
    parse_edits,
)
from tui.core.whatif.fleetmodel import FleetModel, VmSpec, add_hosts, live_model, remove_hosts
from tui.core.whatif.hocon_export import ExportError, cost_function_text, cost_functions_text, curve_text
from tui.core.whatif.plan_data import Move, Plan, Stuck
from tui.core.whatif.plans import consolidation_plan, drain_preview, rebalance_plan
from tui.core.whatif.replays import AbResult, PolicyRun, PolicyTable, ab_replay, replay_policies
from tui.core.whatif.rerank import HostChange, Rerank, rerank
from tui.core.whatif.response import LoadResponse, load_response
from tui.core.whatif.scenario import Scenario, config_hash, csv_tables

__all__ = [
    "AbResult",
    "CurveLab",
    "Edit",
    "EditError",
    "EditResult",
    "ExportError",
    "FleetModel",
    "HostChange",
    "LoadResponse",
    "Move",
    "Plan",
    "PolicyRun",
    "PolicyTable",
    "Rerank",
    "Scenario",
    "Stuck",
    "VmSpec",
    "ab_replay",
    "add_hosts",
    "apply_edits",
    "config_hash",
    "consolidation_plan",
    "cost_function_text",
    "cost_functions_text",
    "csv_tables",
    "curve_text",
    "drain_preview",
    "live_model",
    "load_response",
    "parse_edits",
    "rebalance_plan",
    "remove_hosts",
    "replay_policies",
    "rerank",
]
