"""The curve lab: edits to cost-function parameters, applied to a config without touching its file.

An edit is addressed the way the config spells it: `COST_FUNCTION.TERM[.BRANCH...].PARAM = VALUE`,
where TERM is `vms`, `vcpus`, `memory` or `devices.TYPE`, BRANCH walks nested piecewise curves
(`low`/`high`), and PARAM is `curve` (change the type; `none` removes the curve), a curve parameter
(`soft`, `hard`, `softAmt`, `hardAmt`, `slope`, `base`, `value`, `cutoff`, `max`, `scale`), or for the
cost function itself `COST_FUNCTION.scale|offset|name|description`. Values are numbers or sizes
(`16 GiB`); `max` takes `none` to remove the limit.

Applying edits gives a new `VmConfig` and findings: structural refusals (an unknown cost function, a
parameter the curve type does not have, a non-finite number) and the loader's own lint
(`lint_config`, which runs `lint_curve` on every curve) for the edited cost functions, each with the
config key path the loader would report. `rerank` (rerank.py) then compares every host's cost before
and after; `CurveLab` does both per keystroke.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tui.core.costs import CostFunction
from tui.core.curves import CURVE_TYPES, Constant, Curve, HardSoft, Invalid, Linear, Piecewise
from tui.core.diagnostics import Diagnostic, Severity
from tui.core.fleet import Fleet
from tui.core.lint import ROOT, Finding, KeyPath, lint_config
from tui.core.model import VmConfig
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState
from tui.core.units import UnitError, parse_real_or_size
from tui.core.whatif.rerank import Rerank, request_costs, rerank_costs
from tui.core.whatif.rerank import rerank as rerank  # re-exported: tui/cli/lab.py imports it from here

RESOURCE_TERMS = ("vms", "vcpus", "memory")
# Config spelling -> dataclass field, per curve class (the loader's CURVE_KEYS plus scale and max).
_FIELDS: dict[type[Curve], dict[str, str]] = {
    Constant: {"value": "value"},
    Linear: {"slope": "slope", "base": "base"},
    HardSoft: {"soft": "soft", "hard": "hard", "softAmt": "soft_amt", "hardAmt": "hard_amt"},
    Piecewise: {"cutoff": "cutoff"},
}


class EditError(ValueError):
    """An edit that cannot be applied; `path` is the config key path it is about."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Edit:
    """One parameter change. `term` is "" for the cost function's own scale/offset/name/description."""

    cost_function: str
    term: str
    branch: tuple[str, ...]
    param: str
    value: float | str | None

    @property
    def key(self) -> str:
        return ".".join(p for p in (self.cost_function, self.term, *self.branch, self.param) if p)

    @property
    def path(self) -> KeyPath:
        """The config key path (as lint and the loader name it)."""
        term: tuple[str, ...] = tuple(self.term.split(".", 1)) if self.term else ()
        return ROOT + ("cost-functions", self.cost_function, *term, *self.branch, self.param)

    def to_text(self) -> str:
        value = "none" if self.value is None else self.value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
            value = int(value)
        return f"{self.key}={value}"

    @classmethod
    def parse(cls, text: str) -> Edit:
        """`pool1.vcpus.soft=10`, `gpu.devices.nvidia-gpu.max=none`, `pool2.memory.high.low.slope=9`."""
        key, sep, raw = text.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise EditError((), f"expected KEY=VALUE such as pool1.vcpus.soft=10, got {text!r}")
        parts = key.split(".")
        if len(parts) < 2 or not all(parts):
            raise EditError(
                (), f"{key!r}: expected COST_FUNCTION.PARAM or COST_FUNCTION.TERM[.BRANCH...].PARAM"
            )
        cf, rest = parts[0], parts[1:]
        if len(rest) == 1:
            if rest[0] in RESOURCE_TERMS:  # `pool1.vcpus=none` removes the term
                return cls(cf, rest[0], (), "curve", _value("curve", raw))
            return cls(cf, "", (), rest[0], _value(rest[0], raw))
        if rest[0] == "devices" and len(rest) == 2:  # `gpu.devices.nvidia-gpu=none`
            return cls(cf, f"devices.{rest[1]}", (), "curve", _value("curve", raw))
        if rest[0] == "devices":
            if len(rest) < 3:
                raise EditError((), f"{key!r}: expected COST_FUNCTION.devices.TYPE[.BRANCH...].PARAM")
            term, rest = f"devices.{rest[1]}", rest[2:]
        else:
            term, rest = rest[0], rest[1:]
        *branch, param = rest
        return cls(cf, term, tuple(branch), param, _value(param, raw))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "text": self.to_text()}


def _value(param: str, raw: str) -> float | str | None:
    if param in ("curve", "name", "description"):
        text = raw.strip().strip('"')
        return None if param == "curve" and text.lower() == "none" else text
    if raw.strip().lower() == "none":
        return None
    try:
        return parse_real_or_size(raw)
    except UnitError as exc:
        raise EditError((), f"{param}={raw!r}: {exc}") from None


def parse_edits(texts: Iterable[str]) -> list[Edit]:
    return [Edit.parse(t) for t in texts]


# --- applying ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditResult:
    config: VmConfig  # the base config with every edit that could be applied
    applied: tuple[Edit, ...]
    findings: tuple[Finding, ...]  # refusals (errors) first, then lint of the edited cost functions
    edited: tuple[str, ...]  # cost function ids changed

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def diagnostics(self) -> list[Diagnostic]:
        """Findings as the loader's diagnostics (no file: edits live in memory until exported)."""
        return [Diagnostic(f.severity, ".".join(map(str, f.path)), f.message) for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "edits": [e.to_json() for e in self.applied],
            "edited": list(self.edited),
            "diagnostics": [
                {"severity": d.severity.value, "path": d.path, "message": d.message}
                for d in self.diagnostics()
            ],
        }


def apply_edits(config: VmConfig, edits: Sequence[Edit]) -> EditResult:
    """Apply edits in order; an edit that cannot apply is reported and skipped, the rest still apply."""
    cfs = dict(config.cost_functions)
    refusals: list[Finding] = []
    applied: list[Edit] = []
    for edit in edits:
        cf = cfs.get(edit.cost_function)
        if cf is None:
            known = ", ".join(sorted(cfs)) or "none"
            refusals.append(
                Finding(
                    Severity.ERROR, edit.path, f"no cost function {edit.cost_function!r} (defined: {known})"
                )
            )
            continue
        try:
            cfs[edit.cost_function] = _apply(cf, edit)
        except EditError as exc:
            refusals.append(Finding(Severity.ERROR, exc.path or edit.path, exc.message))
            continue
        applied.append(edit)
    edited = tuple(
        sorted(
            {
                e.cost_function
                for e in applied
                if cfs[e.cost_function] != config.cost_functions[e.cost_function]
            }
        )
    )
    new = replace(config, cost_functions=cfs)
    prefixes = {ROOT + ("cost-functions", cid) for cid in edited}
    lint = [f for f in lint_config(new) if f.path[:4] in prefixes]
    return EditResult(new, tuple(applied), tuple(refusals + lint), edited)


def _apply(cf: CostFunction, edit: Edit) -> CostFunction:
    if not edit.term:
        return _apply_own(cf, edit)
    if edit.term == "vms":
        return replace(cf, vms=_edit_curve(cf.vms, edit.branch, edit, False))
    if edit.term == "vcpus":
        return replace(cf, vcpus=_edit_curve(cf.vcpus, edit.branch, edit, False))
    if edit.term == "memory":
        return replace(cf, memory=_edit_curve(cf.memory, edit.branch, edit, True))
    if edit.term.startswith("devices."):
        kind = edit.term.removeprefix("devices.")
        devices = dict(cf.devices)
        new = _edit_curve(devices.get(kind), edit.branch, edit, False)
        if new is None:
            devices.pop(kind, None)
        else:
            devices[kind] = new
        return replace(cf, devices=devices)
    raise EditError(
        edit.path,
        f"{edit.term!r} is not a term of a cost function (vms, vcpus, memory, devices.TYPE)",
    )


def _apply_own(cf: CostFunction, edit: Edit) -> CostFunction:
    if edit.param == "name":
        return replace(cf, name=str(edit.value or ""))
    if edit.param == "description":
        return replace(cf, description=str(edit.value or ""))
    if edit.param == "scale":
        return replace(cf, scale=_number(edit, edit.value))
    if edit.param == "offset":
        return replace(cf, offset=_number(edit, edit.value))
    raise EditError(
        edit.path,
        f"a cost function has no parameter {edit.param!r} (scale, offset, name, description, or a term)",
    )


def _number(edit: Edit, value: float | str | None) -> float:
    if not isinstance(value, float) or not math.isfinite(value):
        raise EditError(edit.path, f"{edit.param} must be a finite number, got {value!r}")
    return value


def _edit_curve(curve: Curve | None, branch: tuple[str, ...], edit: Edit, memory: bool) -> Curve | None:
    """The curve with the edit applied at `branch` (recursing into piecewise low/high)."""
    if branch:
        head, rest = branch[0], branch[1:]
        if not isinstance(curve, Piecewise):
            kind = "no curve" if curve is None else f"a {curve.kind} curve"
            raise EditError(edit.path, f"{head!r} addresses a piecewise branch, but this is {kind}")
        if head not in ("low", "high"):
            raise EditError(edit.path, f"a piecewise curve has branches 'low' and 'high', not {head!r}")
        inner = _edit_curve(curve.low if head == "low" else curve.high, rest, edit, memory)
        if inner is None:
            raise EditError(
                edit.path, f"the {head!r} branch cannot be removed (set its curve to invalid instead)"
            )
        return replace(curve, low=inner) if head == "low" else replace(curve, high=inner)
    if edit.param == "curve":
        if edit.value is None:
            return None
        return convert(curve, str(edit.value), edit, memory)
    if curve is None:
        raise EditError(
            edit.path,
            f"there is no {edit.term} curve here: set its type first ({edit.key.rsplit('.', 1)[0]}.curve=linear)",
        )
    if edit.param == "max":
        if edit.value is None:
            return replace(curve, max=None)
        return replace(curve, max=_number(edit, edit.value))
    if edit.param == "scale":
        return replace(curve, scale=_number(edit, edit.value))
    fields = _FIELDS.get(type(curve), {})
    if edit.param not in fields:
        have = ", ".join([*fields, "scale", "max", "curve"])
        raise EditError(edit.path, f"a {curve.kind} curve has no parameter {edit.param!r} (it has: {have})")
    return _with_field(curve, fields[edit.param], _number(edit, edit.value))


def _with_field(curve: Curve, name: str, value: float) -> Curve:
    """`curve` with its type's number field `name` (a value of _FIELDS) set to `value`."""
    match curve:
        case Constant() if name == "value":
            return replace(curve, value=value)
        case Linear() if name == "slope":
            return replace(curve, slope=value)
        case Linear() if name == "base":
            return replace(curve, base=value)
        case HardSoft() if name == "soft":
            return replace(curve, soft=value)
        case HardSoft() if name == "hard":
            return replace(curve, hard=value)
        case HardSoft() if name == "soft_amt":
            return replace(curve, soft_amt=value)
        case HardSoft() if name == "hard_amt":
            return replace(curve, hard_amt=value)
        case Piecewise() if name == "cutoff":
            return replace(curve, cutoff=value)
    raise AssertionError(f"_FIELDS names {name!r}, which a {type(curve).__name__} does not have")


def convert(curve: Curve | None, kind: str, edit: Edit, memory: bool = False) -> Curve:
    """A curve of another type. Parameters with the same name carry over, as do scale and max; the rest
    get starting values derived from the old curve (its finite limit), so the shape stays recognisable."""
    cls = CURVE_TYPES.get(kind)
    if cls is None:
        raise EditError(edit.path, f"unknown curve type {kind!r}; expected one of: {', '.join(CURVE_TYPES)}")
    if curve is not None and type(curve) is cls:
        return replace(curve, kind=kind)
    common: dict[str, Any] = {"kind": kind}
    if curve is not None:
        common.update(scale=curve.scale, max=curve.max)
    limit = curve.finite_limit() if curve is not None else math.inf
    # A curve that refuses at some input keeps refusing there: that limit seeds hard / cutoff.
    span = limit if math.isfinite(limit) and limit > 0 else (2.0 * 1024**3 if memory else 2.0)
    if cls is Constant:
        return Constant(value=1.0, **common)
    if cls is Linear:
        return Linear(slope=1.0 / span if memory else 1.0, base=0.0, **common)
    if cls is HardSoft:
        return HardSoft(soft=span / 2, hard=span, **common)
    if cls is Piecewise:
        low = curve if curve is not None else Linear(slope=1.0, base=0.0)
        return Piecewise(cutoff=span, low=low, high=Invalid(), kind=kind)
    return cls(**common)


@dataclass
class CurveLab:
    """A curve-lab session for the console: the base costs are computed once; each call to `try_edits`
    (one per keystroke) applies the edits and recomputes only the edited side."""

    config: VmConfig
    fleet: Fleet
    request: Request
    _state: FleetState = field(init=False, repr=False)
    _base: np.ndarray[Any, np.dtype[np.float64]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._state, self._base = request_costs(self.config, self.fleet, self.request)

    def try_edits(self, edits: Sequence[Edit]) -> tuple[EditResult, Rerank]:
        result = apply_edits(self.config, edits)
        # Nothing changed: the same vector, hence the same ranks, without a second evaluation.
        new = self._base if not result.edited else request_costs(result.config, self.fleet, self.request)[1]
        return result, rerank_costs(self._state, self.request, self._base, new)
