"""Cost functions as HOCON text: what the curve lab shows and saves, and what the loader reads back.

The text re-parses (with `tui.services.config.load_config`) to objects equal to the ones rendered:
numbers are written so that float() of them is the same float (integers exactly, others with repr),
and memory inputs (soft, hard, cutoff, max of the memory curve) as exact binary sizes (`16 GiB`) when
they are whole multiples, as an admin would write them. Infinity and NaN have no HOCON spelling, so
they are refused rather than written as something that means another curve.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

from tui.core.costs import CostFunction
from tui.core.curves import Curve, Piecewise
from tui.core.model import VmConfig

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SIZE_PARAMS = ("soft", "hard", "cutoff", "max")
_BINARY = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


class ExportError(ValueError):
    """A value HOCON cannot express (infinity, NaN)."""


def number(value: float, size: bool = False) -> str:
    value = float(value)  # objects built in code may hold ints (scale=10)
    if not math.isfinite(value):
        raise ExportError(f"{value!r} cannot be written in a config file")
    if value.is_integer():
        whole = int(value)
        if size and whole > 0:
            for unit, factor in _BINARY:
                if whole % factor == 0:
                    return f"{whole // factor} {unit}"
        # Beyond 2**53 a float's decimal digits are not its value: repr keeps it exact.
        return str(whole) if abs(whole) < 2**53 else repr(float(value))
    return repr(float(value))


def quoted(text: str) -> str:
    # pyhocon reads \n and \" but not \uXXXX escapes: non-ASCII text is written as itself.
    return json.dumps(text, ensure_ascii=False)


def hocon_key(name: str) -> str:
    """A HOCON key: bare when HOCON allows it, else quoted."""
    return name if _BARE_KEY.match(name) else quoted(name)


def curve_text(curve: Curve, memory: bool = False, indent: int = 0) -> str:
    """One curve object; piecewise curves over several lines (their branches nested)."""
    parts = [("curve", quoted(curve.kind))]
    for name, value in curve.params().items():
        if name in ("low", "high"):
            continue
        parts.append((name, number(float(value), memory and name in _SIZE_PARAMS)))
    if curve.scale != 1.0:
        parts.append(("scale", number(curve.scale)))
    if curve.max is not None:
        parts.append(("max", number(curve.max, memory)))
    if not isinstance(curve, Piecewise):
        return "{ " + ", ".join(f"{k}: {v}" for k, v in parts) + " }"
    pad = " " * (indent + 2)
    lines = [f"{pad}{k}: {v}" for k, v in parts]
    lines.append(f"{pad}low: {curve_text(curve.low, memory, indent + 2)}")
    lines.append(f"{pad}high: {curve_text(curve.high, memory, indent + 2)}")
    return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"


def cost_function_text(cf: CostFunction, indent: int = 0) -> str:
    """`id { ... }` as it sits inside `ticrypt.vm.cost-functions`."""
    pad = " " * (indent + 2)
    lines = [f"{' ' * indent}{hocon_key(cf.id)} {{"]
    if cf.name != cf.id:
        lines.append(f"{pad}name: {quoted(cf.name)}")
    if cf.description:
        lines.append(f"{pad}description: {quoted(cf.description)}")
    for term in ("vms", "vcpus", "memory"):
        curve = getattr(cf, term)
        if curve is not None:
            lines.append(f"{pad}{term}: {curve_text(curve, term == 'memory', indent + 2)}")
    if cf.devices:
        lines.append(f"{pad}devices {{")
        for kind, curve in cf.devices.items():
            lines.append(f"{pad}  {hocon_key(kind)}: {curve_text(curve, False, indent + 4)}")
        lines.append(f"{pad}}}")
    if cf.scale != 1.0:
        lines.append(f"{pad}scale: {number(cf.scale)}")
    if cf.offset != 0.0:
        lines.append(f"{pad}offset: {number(cf.offset)}")
    lines.append(f"{' ' * indent}}}")
    return "\n".join(lines)


def cost_functions_text(config: VmConfig, ids: Iterable[str] | None = None, header: str | None = None) -> str:
    """A `ticrypt.vm.cost-functions { ... }` block with the named cost functions (all by default).

    Each cost function is complete, so the block can replace the file's section. Appended after the
    original instead, HOCON merges it key by key: that overrides every parameter it sets but cannot
    remove a term the edits removed."""
    wanted = list(config.cost_functions) if ids is None else list(ids)
    lines = [f"# {line}" for line in (header or "").splitlines()]
    lines.append("ticrypt.vm.cost-functions {")
    lines.extend(cost_function_text(config.cost_functions[cid], 2) for cid in wanted)
    lines.append("}")
    return "\n".join(lines) + "\n"
