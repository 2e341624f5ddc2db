"""A cost curve drawn as a sparkline that also shows what a sparkline cannot: infinity.

Textual's Sparkline scales between its data's own min and max and has no notion of an infinite value,
so this widget samples the curve itself (with the curve's vectorised `evaluate`, the same arithmetic
the scheduler uses) and draws four text lines:

    vcpus    ▁▁▁▂▂▂▃▃▄▅▆▇█∞∞∞∞∞∞   cost 0…32 ∞>16
             ········^·······×····   ^ knee  × turns ∞
             ▲  ▲   3▲               ▲ host input (digit: hosts at that point)
             0     8      16    20

Everything is in the characters (∞, ^, ×, ▲), not in colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
from rich.text import Text
from textual.widget import Widget

from tui.core.costs import format_cost
from tui.core.curves import Curve
from tui.core.sparkline import INFINITY, spark
from tui.core.units import format_size

LABEL = 12
SUMMARY = 24


@dataclass(frozen=True)
class CurveSpec:
    """One term of a cost function to draw: its curve, the input range, and the hosts' inputs."""

    term: str
    curve: Curve | None
    x_max: float
    capacity: float
    host_inputs: tuple[tuple[str, float], ...] = ()

    @property
    def is_bytes(self) -> bool:
        return self.term == "memory"

    def fmt_x(self, x: float) -> str:
        if self.is_bytes:
            return format_size(x).replace(" ", "")
        return f"{x:g}"


def input_range(curve: Curve | None, capacity: float) -> float:
    """Up to and past the capacity and past where the curve refuses: 1.25 × the largest landmark."""
    marks = [capacity]
    if curve is not None:
        limit = curve.finite_limit()
        if math.isfinite(limit) and limit > 0:
            marks.append(limit)
        marks.extend(k for k in curve.knees() if math.isfinite(k))
    top = max(marks) if marks else 1.0
    return max(top * 1.25, 1.0)


class CurvePlot(Widget):
    DEFAULT_CSS = """
    CurvePlot {
        height: 4;
        width: 1fr;
    }
    """

    def __init__(self, spec: CurveSpec, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = spec

    def set_spec(self, spec: CurveSpec) -> None:
        if spec != self.spec:
            self.spec = spec
            self.refresh()

    def render(self) -> Text:
        width = max(8, self.size.width - LABEL - SUMMARY)
        lines = [line[: self.size.width] for line in render_lines(self.spec, width)]
        return Text("\n".join(lines), no_wrap=True, overflow="crop")


def columns(spec: CurveSpec, width: int) -> np.ndarray:
    return np.linspace(0.0, spec.x_max, width)


def col_of(spec: CurveSpec, x: float, width: int) -> int:
    return max(0, min(width - 1, round(x / spec.x_max * (width - 1))))


def render_lines(spec: CurveSpec, width: int) -> list[str]:
    """The four lines of the plot for a sparkline `width` columns wide (label and summary added)."""
    xs = columns(spec, width)
    label = spec.term.removeprefix("devices.")[: LABEL - 1].ljust(LABEL)
    pad = " " * LABEL
    if spec.curve is None:
        return [label + "(no curve: adds 0)", pad, pad, pad]
    ys = spec.curve.evaluate(xs)
    line1 = spark(ys.tolist())
    marks = [" "] * width
    limit = spec.curve.finite_limit()
    for knee in spec.curve.knees():
        if 0 <= knee <= spec.x_max and knee != limit:
            marks[col_of(spec, knee, width)] = "^"
    cap_col = col_of(spec, spec.capacity, width)
    if marks[cap_col] == " ":
        marks[cap_col] = "|"
    if math.isfinite(limit) and 0 <= limit <= spec.x_max:
        marks[col_of(spec, limit, width)] = "×"  # last finite input: ∞ right after it
    hosts = _host_marks(spec, width)
    axis = _axis(spec, width)
    summary = _summary(spec.curve, limit, spec)
    legend = "^knee ×→∞ |capacity"
    hosts_legend = f"▲ {len(spec.host_inputs)} hosts now" if spec.host_inputs else "no host uses it"
    return [
        label + line1 + "  " + summary[: SUMMARY - 2],
        pad + "".join(marks) + "  " + legend[: SUMMARY - 2],
        pad + hosts + "  " + hosts_legend[: SUMMARY - 2],
        pad + axis,
    ]


def _summary(curve: Curve, limit: float, spec: CurveSpec) -> str:
    """Cost at 0 and at the last finite input of the range, then where it turns infinite."""
    if limit == -math.inf or math.isinf(curve(0.0)):
        return f"always {INFINITY}"
    top = min(limit, spec.x_max)
    text = f"cost {format_cost(curve(0.0))}…{format_cost(curve(top))}"
    if math.isfinite(limit):
        text += f" {INFINITY}>{spec.fmt_x(limit)}"
    return text


def _host_marks(spec: CurveSpec, width: int) -> str:
    # `col_of` of every input at once (thousands of hosts per term): the same arithmetic in numpy,
    # np.rint rounding half to even as round() does.
    xs = np.fromiter(map(itemgetter(1), spec.host_inputs), float, len(spec.host_inputs))
    cols = np.clip(np.rint(np.minimum(xs, spec.x_max) / spec.x_max * (width - 1)), 0, width - 1)
    counts = np.bincount(cols.astype(np.intp), minlength=width).tolist()
    return "".join(" " if c == 0 else "▲" if c == 1 else (str(c) if c < 10 else "+") for c in counts)


def _axis(spec: CurveSpec, width: int) -> str:
    """Tick labels at 0, the capacity and the right end, placed where they fit without overlap."""
    line = [" "] * width
    ticks: Sequence[float] = sorted({0.0, spec.capacity, spec.x_max})
    for x in ticks:
        text = spec.fmt_x(x)
        col = col_of(spec, x, width)
        start = min(col, width - len(text))
        if start < 0 or any(c != " " for c in line[max(0, start - 1) : start + len(text) + 1]):
            continue
        line[start : start + len(text)] = list(text)
    return "".join(line)
