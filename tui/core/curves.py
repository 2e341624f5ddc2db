"""The scheduler's curves: one numeric input (VM count, vCPUs, bytes, device count) -> a cost.

Semantics follow the tiCrypt VM service reference (seed 002) exactly. Every curve evaluates a scalar
and a numpy array with the same arithmetic in the same order, so the fast path and the explanation
can never disagree on a tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

INF = math.inf
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class Curve:
    """Base of every curve: `scale` multiplies the result, inputs past `max` cost infinity."""

    scale: float = 1.0
    max: float | None = None
    kind: str = ""

    TYPES: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.TYPES[0])

    # --- the curve's own function, before max and scale -------------------------------------------
    def raw(self, x: float) -> float:
        raise NotImplementedError

    def raw_array(self, xs: FloatArray) -> FloatArray:
        raise NotImplementedError

    # --- the documented evaluation: max first, then scale; infinity survives any scale -------------
    def __call__(self, x: float) -> float:
        if self.max is not None and x > self.max:
            return INF
        value = self.raw(x)
        if value == INF:
            return INF
        return value * self.scale

    def evaluate(self, xs: npt.ArrayLike) -> FloatArray:
        """Vectorised `__call__` over any array of inputs (same operations, same order)."""
        arr = np.asarray(xs, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            raw = self.raw_array(arr)
            out = np.where(raw == INF, INF, raw * self.scale)
            if self.max is not None:
                out = np.where(arr > self.max, INF, out)
        return np.asarray(out, dtype=np.float64)

    # --- facts for lint and drawing ----------------------------------------------------------------
    def finite_limit(self) -> float:
        """Largest input that still costs a finite amount (inf: never refuses; -inf: always refuses)."""
        own = self._own_limit()
        return own if self.max is None else min(own, self.max)

    def _own_limit(self) -> float:
        raise NotImplementedError

    def knees(self) -> tuple[float, ...]:
        """Inputs where the curve changes slope (drawn as markers in the console)."""
        return ()

    def params(self) -> dict[str, Any]:
        """The curve's own parameters, as the config spells them (for display and HOCON export)."""
        return {}

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"curve": self.kind, **self.params()}
        if self.scale != 1.0:
            out["scale"] = self.scale
        if self.max is not None:
            out["max"] = self.max
        return out


@dataclass(frozen=True, kw_only=True)
class Constant(Curve):
    value: float
    TYPES: ClassVar[tuple[str, ...]] = ("constant",)

    def raw(self, x: float) -> float:
        return self.value

    def raw_array(self, xs: FloatArray) -> FloatArray:
        return np.full(xs.shape, self.value, dtype=np.float64)

    def _own_limit(self) -> float:
        return INF if math.isfinite(self.value) else -INF

    def params(self) -> dict[str, Any]:
        return {"value": self.value}


@dataclass(frozen=True, kw_only=True)
class Invalid(Curve):
    TYPES: ClassVar[tuple[str, ...]] = ("invalid",)

    def raw(self, x: float) -> float:
        return INF

    def raw_array(self, xs: FloatArray) -> FloatArray:
        return np.full(xs.shape, INF, dtype=np.float64)

    def _own_limit(self) -> float:
        return -INF


@dataclass(frozen=True, kw_only=True)
class Linear(Curve):
    slope: float
    base: float
    TYPES: ClassVar[tuple[str, ...]] = ("linear",)

    def raw(self, x: float) -> float:
        return self.base + self.slope * x

    def raw_array(self, xs: FloatArray) -> FloatArray:
        return self.base + self.slope * xs

    def _own_limit(self) -> float:
        return INF

    def params(self) -> dict[str, Any]:
        return {"slope": self.slope, "base": self.base}


@dataclass(frozen=True, kw_only=True)
class HardSoft(Curve):
    """softAmt·x/soft up to soft, then a steeper line to hardAmt at hard, infinity past hard."""

    soft: float
    hard: float
    soft_amt: float = 1.0
    hard_amt: float = 10.0
    TYPES: ClassVar[tuple[str, ...]] = ("hard-soft", "soft-hard")

    def raw(self, x: float) -> float:
        if x <= self.soft:
            return self.soft_amt * x / self.soft
        if x <= self.hard:
            return self.soft_amt + (self.hard_amt - self.soft_amt) * (x - self.soft) / (self.hard - self.soft)
        return INF

    def raw_array(self, xs: FloatArray) -> FloatArray:
        low = self.soft_amt * xs / self.soft
        mid = self.soft_amt + (self.hard_amt - self.soft_amt) * (xs - self.soft) / (self.hard - self.soft)
        return np.where(xs <= self.soft, low, np.where(xs <= self.hard, mid, INF))

    def _own_limit(self) -> float:
        return self.hard

    def knees(self) -> tuple[float, ...]:
        return (self.soft, self.hard)

    def params(self) -> dict[str, Any]:
        return {"soft": self.soft, "hard": self.hard, "softAmt": self.soft_amt, "hardAmt": self.hard_amt}


@dataclass(frozen=True, kw_only=True)
class Unavailable(Curve):
    """0 while the input is zero (or less), infinity as soon as anything is used."""

    TYPES: ClassVar[tuple[str, ...]] = ("unavailable",)

    def raw(self, x: float) -> float:
        return 0.0 if x <= 0 else INF

    def raw_array(self, xs: FloatArray) -> FloatArray:
        return np.where(xs <= 0, 0.0, INF)

    def _own_limit(self) -> float:
        return 0.0


@dataclass(frozen=True, kw_only=True)
class Piecewise(Curve):
    """`low` up to and including `cutoff`, `high` past it; nests to any depth."""

    cutoff: float
    low: Curve
    high: Curve
    TYPES: ClassVar[tuple[str, ...]] = ("piecewise", "low-high", "high-low")

    def raw(self, x: float) -> float:
        return self.low(x) if x <= self.cutoff else self.high(x)

    def raw_array(self, xs: FloatArray) -> FloatArray:
        return np.where(xs <= self.cutoff, self.low.evaluate(xs), self.high.evaluate(xs))

    def _own_limit(self) -> float:
        high_limit = self.high.finite_limit()
        if high_limit > self.cutoff:
            return high_limit
        return min(self.low.finite_limit(), self.cutoff)

    def knees(self) -> tuple[float, ...]:
        inner = [k for k in self.low.knees() if k <= self.cutoff] + [
            k for k in self.high.knees() if k > self.cutoff
        ]
        return tuple(sorted({self.cutoff, *inner}))

    def params(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "low": self.low.to_config(), "high": self.high.to_config()}


CURVE_CLASSES: tuple[type[Curve], ...] = (Constant, Invalid, Linear, HardSoft, Unavailable, Piecewise)
CURVE_TYPES: dict[str, type[Curve]] = {name: cls for cls in CURVE_CLASSES for name in cls.TYPES}

UNAVAILABLE = Unavailable()
"""The curve of any device type a cost function does not list (seed 002)."""
