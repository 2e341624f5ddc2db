"""The curve lab's text: every cost-function parameter (now and edited), the edited term's curve
before and after on one scale, the ranks that moved, the edited config's refusals. Plain functions
of core objects, drawn by tui/console/lab/curvelab.py."""

from __future__ import annotations

import math

import numpy as np

from tui.console.lab.compute import CurveOutcome
from tui.console.widgets.curveplot import input_range
from tui.core.costs import CostFunction, format_cost
from tui.core.curves import Curve
from tui.core.model import VmConfig
from tui.core.sparkline import INFINITY, finite_range, spark
from tui.core.units import format_size
from tui.core.whatif.edits import RESOURCE_TERMS


def parameter_rows(config: VmConfig, edited: VmConfig) -> list[tuple[str, str, str]]:
    """(edit key, value now, value edited) for every parameter of every cost function."""
    rows: list[tuple[str, str, str]] = []
    for cid, cf in config.cost_functions.items():
        new = edited.cost_functions.get(cid, cf)
        for key, (old_value, new_value) in _cf_params(cf, new).items():
            rows.append((f"{cid}.{key}", old_value, new_value))
    return rows


def _cf_params(cf: CostFunction, new: CostFunction) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    terms = [(t, getattr(cf, t), getattr(new, t)) for t in ("vms", "vcpus", "memory")]
    kinds = sorted(set(cf.devices) | set(new.devices))
    terms += [(f"devices.{k}", cf.devices.get(k), new.devices.get(k)) for k in kinds]
    for term, old, edited in terms:
        out.update(_curve_params(term, old, edited, term == "memory"))
    out["scale"] = (format_cost(cf.scale), format_cost(new.scale))
    out["offset"] = (format_cost(cf.offset), format_cost(new.offset))
    return out


def _curve_params(
    prefix: str, old: Curve | None, new: Curve | None, memory: bool
) -> dict[str, tuple[str, str]]:
    def flat(curve: Curve | None, at: str) -> dict[str, str]:
        if curve is None:
            return {f"{at}.curve": "none"}
        out = {f"{at}.curve": curve.kind}
        for name, value in curve.params().items():
            if name in ("low", "high"):
                out.update(flat(getattr(curve, name), f"{at}.{name}"))
            else:
                out[f"{at}.{name}"] = _value(value, memory and name in ("soft", "hard", "cutoff"))
        out[f"{at}.scale"] = format_cost(curve.scale)
        out[f"{at}.max"] = "none" if curve.max is None else _value(curve.max, memory)
        return out

    before, after = flat(old, prefix), flat(new, prefix)
    return {k: (before.get(k, "-"), after.get(k, "-")) for k in dict.fromkeys([*before, *after])}


def _value(value: float, size: bool) -> str:
    if size and float(value).is_integer() and value > 0:
        return format_size(int(value)).replace(" ", "")
    return format_cost(float(value))


def term_curve(cf: CostFunction | None, term: str) -> Curve | None:
    if cf is None:
        return None
    if term.startswith("devices."):
        return cf.devices.get(term.removeprefix("devices."))
    return getattr(cf, term, None) if term in ("vms", "vcpus", "memory") else None


def capacity_of(config: VmConfig, cid: str, term: str) -> float:
    """The term's capacity on the first profile using this cost function (the curve's natural range)."""
    for profile in config.hardware_profiles.values():
        if profile.cost_function != cid:
            continue
        if term == "vcpus":
            return float(profile.cores)
        if term == "memory":
            return float(profile.memory)
        if term.startswith("devices."):
            kind = term.removeprefix("devices.")
            return float(sum(1 for d in profile.devices if d.type == kind))
        return float(profile.cores)
    return 1.0


def curve_lines(
    before: Curve | None, after: Curve | None, capacity: float, memory: bool, width: int
) -> list[str]:
    """Before and after on one scale over the same inputs, ∞ drawn as ∞, and the range underneath."""
    top = max(input_range(before, capacity), input_range(after, capacity))
    xs = np.linspace(0.0, top, width)
    ys = [c.evaluate(xs) if c is not None else np.zeros(width) for c in (before, after)]
    low, high = finite_range([*ys[0].tolist(), *ys[1].tolist()])  # one scale for both lines

    def fmt(x: float) -> str:
        return format_size(x).replace(" ", "") if memory else f"{x:g}"

    def limit(c: Curve | None) -> str:
        if c is None:
            return "no curve"
        lim = c.finite_limit()
        return f"{INFINITY} past {fmt(lim)}" if math.isfinite(lim) else f"never {INFINITY}"

    return [
        f"before {spark(ys[0].tolist(), scale=(low, high))} {limit(before)}",
        f"after  {spark(ys[1].tolist(), scale=(low, high))} {limit(after)}",
        f"       input 0 … {fmt(top)}, cost {format_cost(low)} … {format_cost(high)}",
    ]


def rank_text(old: int | None, new: int | None) -> str:
    mark = "=" if old == new else ("▲" if (new or 10**9) < (old or 10**9) else "▼")
    return f"{old or '-'}→{new or '-'} {mark}"


def refusal_lines(outcome: CurveOutcome) -> list[str]:
    """The edited config's diagnostics, one line each (severity, key path, message)."""
    return [f"{d.severity.value.upper()} {d.path}: {d.message}" for d in outcome.result.diagnostics()]


def edited_curve_lines(config: VmConfig, outcome: CurveOutcome, width: int) -> list[str]:
    """The curve of the term being edited (the last edit), before and after."""
    edit = outcome.edits[-1] if outcome.edits else None
    edited = outcome.result.config
    cid = edit.cost_function if edit else next(iter(config.cost_functions), "")
    term = edit.term if edit and edit.term else "vcpus"
    if term not in RESOURCE_TERMS and not term.startswith("devices."):
        term = "vcpus"
    before = term_curve(config.cost_functions.get(cid), term)
    after = term_curve(edited.cost_functions.get(cid), term)
    head = f"{cid}.{term}" + (
        f"  (edit: {edit.to_text()})" if edit else "  (no edit yet: enter on a parameter)"
    )
    return [head, *curve_lines(before, after, capacity_of(config, cid, term), term == "memory", width)]
