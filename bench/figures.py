"""What every bench prints the same way: a percentile of its timings and a goal's verdict.

One rule each, so that a p99 or a "met" in one bench means what it means in the others. The benches
run as scripts from this directory, which Python puts first on the path: `from figures import ...`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th quantile (0 < q <= 1) of the values by nearest rank: the smallest value with at least
    q of them at or below it (with fewer than 100 values, the p99 is the max)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"
