"""The one sparkline rule of vmdeck: values as a line of block characters, in the console and the CLI.

Infinite values are drawn as ∞ and unknown ones (None) as ·, never as a bar, so a cost that refuses
reads the same over ssh, in a 16-colour terminal, in a log or in a screenshot. Finite values are
scaled between the lowest and the highest finite value (or a scale given for several lines drawn
against each other, like a curve before and after an edit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
INFINITY = "∞"
UNKNOWN = "·"


def finite_range(values: Iterable[float | None]) -> tuple[float, float]:
    """The lowest and highest finite value ((0, 0) when there is none)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return (min(finite), max(finite)) if finite else (0.0, 0.0)


def spark(
    values: Sequence[float | None], width: int | None = None, scale: tuple[float, float] | None = None
) -> str:
    """A one-line sparkline of the last `width` values (all by default), on `scale` (low, high) or
    on the values' own finite range."""
    data = list(values)[-width:] if width else list(values)
    low, high = scale if scale is not None else finite_range(data)
    out = []
    for v in data:
        if v is None:
            out.append(UNKNOWN)
        elif math.isinf(v):
            out.append(INFINITY)
        elif high == low:
            out.append(BLOCKS[0])
        else:
            out.append(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / (high - low) * len(BLOCKS)))])
    return "".join(out)
