"""How every subcommand prints: a human table by default, JSON with --json (infinity as "inf")."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any


def jsonable(value: Any) -> Any:
    """Make floats JSON-safe: +inf -> "inf", -inf -> "-inf", NaN -> null; recurse into containers."""
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


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")
    else:
        text = human(data)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def fail(message: str, as_json: bool, code: int = 1, **extra: Any) -> int:
    """Report a refused command: JSON on stdout with --json, a plain line on stderr otherwise."""
    if as_json:
        sys.stdout.write(json.dumps(jsonable({"ok": False, "error": message, **extra}), indent=2) + "\n")
    else:
        sys.stderr.write(f"vmdeck: {message}\n")
    return code


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (no colour: output is often piped or read over ssh)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
