"""Why a request goes where it goes: per-host verdicts with every term, built on `CostFunction.explain`.

Explanations are data (rendered by the CLI and the console): each host's state, its terms (input and
value), scale, offset and total, and, for a host that is refused, a reason an admin can act on —
which state, which device type is short, or which term is infinite at which input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tui.core.costs import CostBreakdown, Term
from tui.core.fleet import HostState
from tui.core.hostcheck import HostCheckReport
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState
from tui.core.units import format_size


@dataclass(frozen=True)
class HostVerdict:
    host: str
    profile: str
    state: HostState
    candidate: bool  # state Enabled and enough free devices
    breakdown: CostBreakdown  # the cost function at the load after adding the request
    reason: str | None  # None when feasible
    unavailable: str | None = None  # the host is Enabled but unreachable: why (shown as its state)

    @property
    def state_label(self) -> str:
        """The state an admin sees: "Unreachable" for an Enabled host that is not answering."""
        return "Unreachable" if self.unavailable is not None else self.state.label

    @property
    def feasible(self) -> bool:
        return self.candidate and self.breakdown.feasible

    @property
    def cost(self) -> float | None:
        """The total for candidates (inf when a term refuses), None for hosts refused before costing."""
        if not self.candidate:
            return None
        return self.breakdown.total if math.isfinite(self.breakdown.total) else math.inf

    def sort_key(self) -> tuple[int, float, str]:
        cost = self.cost
        if cost is None:
            return (2, 0.0, self.host)
        return (0, cost, self.host) if math.isfinite(cost) else (1, 0.0, self.host)

    def terms_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"devices": {}}
        for term in self.breakdown.terms:
            if term.name.startswith("devices."):
                out["devices"][term.name.removeprefix("devices.")] = term.value
            else:
                out[term.name] = term.value
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "profile": self.profile,
            "state": self.state.value,
            "feasible": self.feasible,
            "cost": self.cost,
            "terms": self.terms_json(),
            "inputs": {t.name: t.input for t in self.breakdown.terms},
            "scale": self.breakdown.scale,
            "offset": self.breakdown.offset,
            "reason": self.reason,
            "unavailable": self.unavailable,
        }


@dataclass(frozen=True)
class Placement:
    """The cost policy's decision for one request with every host's verdict (best first)."""

    request: Request
    host: str | None
    cost: float | None
    devices: tuple[str, ...]
    candidates: tuple[HostVerdict, ...]

    @property
    def placed(self) -> bool:
        return self.host is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "placed": self.placed,
            "host": self.host,
            "cost": self.cost,
            "devices": list(self.devices),
            "request": self.request.to_json(),
            "candidates": [c.to_json() for c in self.candidates],
        }


def term_reason(term: Term) -> str:
    """Why one infinite term refuses, in the admin's units."""
    name = term.name
    shown = format_size(term.input) if name == "memory" else f"{term.input:g}"
    if term.implicit:
        kind = name.removeprefix("devices.")
        return f"{name} is infinite at {shown}: the cost function lists no curve for {kind} (unavailable)"
    curve = term.curve
    detail = ""
    if curve is not None:
        if curve.max is not None and term.input > curve.max:
            limit = format_size(curve.max) if name == "memory" else f"{curve.max:g}"
            detail = f" (past max {limit})"
        else:
            limit_value = curve.finite_limit()
            if math.isfinite(limit_value):
                limit = format_size(limit_value) if name == "memory" else f"{limit_value:g}"
                detail = f" ({curve.kind} limit {limit})"
            else:
                detail = f" ({curve.kind} refuses this input)"
    return f"{name} is infinite at {shown}{detail}"


def verdict(state: FleetState, i: int, request: Request) -> HostVerdict:
    """Host i's verdict for this request at the state's current load."""
    profile = state.profiles[i]
    host_state = state.states[i]
    after = state.load(i).plus(request.vcpus, request.memory, request.device_map)
    breakdown = state.cost_functions[i].explain(after)
    reason: str | None = None
    candidate = True
    refusal = state.refusal(i)
    if refusal is not None:
        candidate = False
        until = " until it answers" if state.unavailable[i] is not None else ""
        reason = f"{refusal}: no new VMs are placed on it{until}"
    else:
        for kind, count in request.devices:
            free = len(state.free_addrs[i].get(kind, ()))
            if free < count:
                candidate = False
                total = sum(1 for d in profile.devices if d.type == kind)
                if total == 0:
                    reason = f"profile {profile.id!r} has no {kind} devices"
                else:
                    reason = f"needs {count} {kind}, {free} of {total} free"
                break
    if candidate and not breakdown.feasible:
        first = breakdown.first_infinite()
        reason = term_reason(first) if first is not None else f"total is {breakdown.total}"
    return HostVerdict(
        state.names[i], profile.id, host_state, candidate, breakdown, reason, state.unavailable[i]
    )


def explain_request(state: FleetState, engine: CostEngine, request: Request) -> Placement:
    """The engine's decision and every host's verdict, ordered by cost then name (refused last)."""
    chosen, cost = engine.decide(request)
    verdicts = sorted((verdict(state, i, request) for i in range(state.size)), key=HostVerdict.sort_key)
    if chosen < 0:
        return Placement(request, None, None, (), tuple(verdicts))
    devices = tuple(
        addr for kind, count in request.devices for addr in state.free_addrs[chosen][kind][:count]
    )
    return Placement(request, state.names[chosen], cost, devices, tuple(verdicts))


def rejection_reason(state: FleetState, engine: CostEngine, request: Request) -> str:
    """One line saying why no host takes this request (counts per kind of refusal).

    O(1) in the fleet size: the counts are kept by the state (hosts not Enabled, hosts per
    combination of free devices), not recounted per rejection. `engine` is kept for callers."""
    if not state.size:
        return "no hosts in the fleet"
    unreachable = state.unreachable
    refused_state = state.refused_state - unreachable
    enabled = state.size - state.refused_state
    short = state.lacking_devices(request)
    parts = [f"{enabled - short} refused by their cost function"] if enabled - short else []
    if short:
        parts.append(f"{short} lack free {', '.join(k for k, _ in request.devices)}")
    if unreachable:
        parts.append(f"{unreachable} unreachable")
    if refused_state:
        parts.append(f"{refused_state} not Enabled")
    return "no feasible host: " + ", ".join(parts)


def note_device_checks(placement: Placement, checks: Mapping[str, HostCheckReport]) -> Placement:
    """The placement with a note on every host whose last host check failed for a device of a type
    the request needs (the chosen host: for the devices it would get). Notes only: the check may be
    stale, so it never changes which host wins — it tells the admin why a start there may fail."""
    kinds = {kind for kind, _ in placement.request.devices}
    if not kinds or not checks:
        return placement
    verdicts = []
    for v in placement.candidates:
        report = checks.get(v.host)
        failed = report.failed_devices() if report is not None else {}
        bad = [
            (addr, item)
            for addr, item in sorted(failed.items())
            if item.device_type in kinds and (v.host != placement.host or addr in placement.devices)
        ]
        if bad:
            note = "; ".join(
                f"host check failed for {item.device_type} {addr}: {item.detail}" for addr, item in bad
            )
            v = replace(v, reason=f"{v.reason}; {note}" if v.reason else note)
        verdicts.append(v)
    return replace(placement, candidates=tuple(verdicts))
