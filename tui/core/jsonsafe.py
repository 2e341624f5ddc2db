"""The one rule for making results JSON-safe: JSON has no infinity or NaN, and vmdeck's costs are
often infinite (a refused host). +inf -> "inf", -inf -> "-inf", NaN -> null, recursing into dicts
(keys as text), lists and tuples. The CLI's output, scenario files and the lab's exports all use it.
"""

from __future__ import annotations

import math
from typing import Any


def jsonable(value: Any) -> Any:
    """`value` with every float made JSON-safe (see the module docstring); other values as they are."""
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if math.isnan(value):
            return None
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
