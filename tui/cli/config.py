"""`vmdeck validate` and `vmdeck curve`: check a ticrypt-vm.conf, evaluate one curve at given inputs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tui.cli.options import add_json, config_path
from tui.cli.output import emit, fail, say, table, warn
from tui.core.costs import format_cost
from tui.core.diagnostics import Diagnostic
from tui.core.units import UnitError, format_size, parse_real_or_size
from tui.services.config import ConfigFileError, load_config, parse_curve_spec


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check a ticrypt-vm.conf: syntax, every documented parameter, and scheduling pitfalls",
        description="Exit 0 without errors (warnings allowed), 1 with errors or when the file cannot be read.",
    )
    validate.add_argument(
        "config",
        nargs="?",
        help="the config (default: $VMDECK_CONFIG, /etc/ticrypt/ticrypt-vm.conf, or the bundled sample)",
    )
    validate.add_argument(
        "--config", dest="config_opt", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    add_json(validate)
    validate.set_defaults(handler=run_validate)

    curve = subparsers.add_parser(
        "curve",
        help="evaluate one curve, e.g. vmdeck curve '{ curve: hard-soft, soft: 1, hard: 2 }' --at 0 1 2 3",
    )
    curve.add_argument("spec", help="one HOCON curve object")
    curve.add_argument("--at", nargs="+", required=True, metavar="X", help="inputs: numbers or sizes (16GiB)")
    add_json(curve)
    curve.set_defaults(handler=run_curve)


def _shown(path: str | None) -> str:
    if not path:
        return "<config>"
    rel = os.path.relpath(path)
    return rel if not rel.startswith("../..") else path


def format_diagnostic(d: Diagnostic) -> str:
    where = _shown(d.file) + (f":{d.line}" if d.line else "")
    key = f" {d.path}:" if d.path else ""
    return f"{where}: {d.severity}:{key} {d.message}"


def run_validate(args: argparse.Namespace) -> int:
    path = str(Path(args.config)) if args.config else str(config_path(args, "config_opt"))
    try:
        result = load_config(path)
    except ConfigFileError as exc:
        return fail(str(exc), args.json)

    def human(res: Any) -> str:
        lines = [format_diagnostic(d) for d in res.diagnostics]
        c = res.counts
        summary = (
            f"{_shown(res.source)}: {c.get('cost_functions', 0)} cost functions, "
            f"{c.get('hardware_profiles', 0)} hardware profiles, {c.get('realms', 0)} realms"
        )
        verdict = "OK" if res.ok else "INVALID"
        lines += [summary, f"{verdict}: {len(res.errors)} errors, {len(res.warnings)} warnings"]
        return "\n".join(lines)

    if args.json:
        emit(result.to_json(), True, str)
        if not result.ok:
            warn(f"{path}: invalid config: {len(result.errors)} error(s) (the JSON lists them)")
    else:
        emit(result, False, human)
    return 0 if result.ok else 1


def run_curve(args: argparse.Namespace) -> int:
    xs: list[float] = []
    for text in args.at:
        try:
            xs.append(parse_real_or_size(text))
        except UnitError as exc:
            return fail(f"--at {text!r}: {exc}", args.json)
    result = parse_curve_spec(args.spec, name="<curve>")
    if not result.ok or result.curve is None:
        errors = [d for d in result.diagnostics if d.severity == "error"]
        if args.json:
            emit(
                {
                    "ok": False,
                    "errors": [d.to_json() for d in errors],
                    "warnings": [d.to_json() for d in result.diagnostics if d.severity == "warning"],
                },
                True,
                str,
            )
            warn(f"invalid curve: {len(errors)} error(s) (the JSON lists them)")
        else:
            say("\n".join(format_diagnostic(d) for d in result.diagnostics))
        return 1
    curve = result.curve
    points = [{"x": x, "cost": curve(x)} for x in xs]
    data = {
        "curve": curve.to_config(),
        "points": points,
        "warnings": [d.to_json() for d in result.diagnostics],
    }

    def human(d: Any) -> str:
        out = [format_diagnostic(w) for w in result.diagnostics]
        rows = [
            [_input_text(text, p["x"]), format_cost(p["cost"])]
            for text, p in zip(args.at, d["points"], strict=True)
        ]
        out.append(table(["x", "cost"], rows))
        return "\n".join(out)

    emit(data, args.json, human)
    return 0


def _input_text(given: str, x: float) -> str:
    """An input as the admin wrote its kind: a size stays a size (8GiB, not 8.58993e+09), a number
    a number."""
    try:
        float(given)
    except ValueError:
        return format_size(x)
    return f"{x:g}"
