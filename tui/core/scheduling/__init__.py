"""The scheduler and the what-if engine: cost-based placement, explanations, headroom, replays, A/B.

One implementation of the placement rule (see `engine`), used by the CLI and the console alike.
"""

from __future__ import annotations

from tui.core.scheduling.compare import Comparison, compare
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.explain import HostVerdict, Placement, explain_request
from tui.core.scheduling.headroom import Headroom, headroom
from tui.core.scheduling.policies import POLICIES
from tui.core.scheduling.replay import ReplayResult, replay
from tui.core.scheduling.request import Request, RequestError
from tui.core.scheduling.state import FleetState
from tui.core.scheduling.workload import StartEvent, StopEvent, WorkloadSpec, generate

__all__ = [
    "POLICIES",
    "Comparison",
    "CostEngine",
    "FleetState",
    "Headroom",
    "HostVerdict",
    "Placement",
    "ReplayResult",
    "Request",
    "RequestError",
    "StartEvent",
    "StopEvent",
    "WorkloadSpec",
    "compare",
    "explain_request",
    "generate",
    "headroom",
    "replay",
]
