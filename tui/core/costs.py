"""Cost functions: curves over #VMs, #vCPUs, memory bytes and device counts, plus scale and offset.

total = scale × (vms + vcpus + memory + Σ device terms in type-name order) + offset, and any infinite
term makes the total infinite whatever the scale. The order of the additions is part of the contract:
the vectorised scheduler adds in the same order so ties break identically everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tui.core.curves import INF, UNAVAILABLE, Curve


@dataclass(frozen=True)
class Load:
    """What a host carries (or would carry): counts, bytes, and devices in use per type."""

    vms: int = 0
    vcpus: int = 0
    memory: int = 0
    devices: Mapping[str, int] = field(default_factory=dict)

    def plus(self, vcpus: int, memory: int, devices: Mapping[str, int] | None = None) -> Load:
        """The load after one more VM of this shape."""
        merged = dict(self.devices)
        for kind, count in (devices or {}).items():
            merged[kind] = merged.get(kind, 0) + count
        return Load(self.vms + 1, self.vcpus + vcpus, self.memory + memory, merged)


@dataclass(frozen=True)
class Term:
    """One addend of a cost: which resource, its input, its value, and whether a curve is set."""

    name: str
    input: float
    value: float
    curve: Curve | None
    implicit: bool = False  # a device type the cost function does not list (counts as unavailable)

    @property
    def infinite(self) -> bool:
        return self.value == INF


@dataclass(frozen=True)
class CostBreakdown:
    terms: tuple[Term, ...]
    scale: float
    offset: float
    total: float

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.total)

    def first_infinite(self) -> Term | None:
        return next((t for t in self.terms if t.infinite), None)

    def term(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.name == name), None)


@dataclass(frozen=True)
class CostFunction:
    id: str
    name: str = ""
    description: str = ""
    vms: Curve | None = None
    vcpus: Curve | None = None
    memory: Curve | None = None
    devices: Mapping[str, Curve] = field(default_factory=dict)
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.id)
        # Device curves are kept in type-name order: that order is the order of addition.
        object.__setattr__(self, "devices", dict(sorted(self.devices.items())))

    def device_types_for(self, load: Load) -> list[str]:
        """Listed types (always evaluated, even at 0) plus unlisted types that are in use."""
        extra = [k for k, n in load.devices.items() if k not in self.devices and n > 0]
        return sorted([*self.devices, *extra])

    def explain(self, load: Load) -> CostBreakdown:
        terms = [
            _term("vms", self.vms, load.vms),
            _term("vcpus", self.vcpus, load.vcpus),
            _term("memory", self.memory, load.memory),
        ]
        for kind in self.device_types_for(load):
            curve = self.devices.get(kind)
            count = load.devices.get(kind, 0)
            value = (curve or UNAVAILABLE)(float(count))
            terms.append(Term(f"devices.{kind}", float(count), value, curve, implicit=curve is None))
        total = combine([t.value for t in terms], self.scale, self.offset)
        return CostBreakdown(tuple(terms), self.scale, self.offset, total)

    def total(self, load: Load) -> float:
        return self.explain(load).total

    @property
    def has_resource_curve(self) -> bool:
        return any(c is not None for c in (self.vms, self.vcpus, self.memory))


def _term(name: str, curve: Curve | None, amount: float) -> Term:
    return Term(name, float(amount), curve(float(amount)) if curve is not None else 0.0, curve)


def combine(values: Iterable[float], scale: float = 1.0, offset: float = 0.0) -> float:
    """Sum terms left to right, then scale × sum + offset; any infinite term wins."""
    total = 0.0
    for value in values:
        if value == INF:
            return INF
        total = total + value
    return scale * total + offset


def format_cost(value: float | None) -> str:
    """A cost for people, the same in the console and the command line: "∞" for infinity, "-" for none.

    Fixed decimals, trimmed: offsets make costs large on purpose, and 100004.5 must not read as 100004
    or 1e+05.
    """
    if value is None:
        return "-"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if abs(value) >= 1e12:
        return f"{value:.6g}"
    return f"{value:.4f}".rstrip("0").rstrip(".")
