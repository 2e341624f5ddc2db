"""`vmdeck lab response`: each host's cost after 1..N identical VMs (a sparkline, the console's), the
fleet's headroom and the next placements."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.inputs import InputError
from tui.cli.lab.inputs import Inputs, request_from_args
from tui.cli.output import emit, table
from tui.core.costs import format_cost
from tui.core.sparkline import spark
from tui.core.whatif.response import load_response


def cmd_response(args: argparse.Namespace) -> int:
    inputs = Inputs(args)
    request = request_from_args(args)
    if args.steps < 1 or args.next < 0:
        raise InputError("--steps must be >= 1 and --next >= 0")
    data = load_response(inputs.config, inputs.model.fleet, request, args.steps, args.next).to_json()
    inputs.save("response", data)
    emit(data, args.json, _response_text)
    return 0


def _response_text(data: dict[str, Any]) -> str:
    fleet = data["fleet"]
    more = "+" if fleet["capped"] else ""
    lines = [f"the fleet takes {fleet['fits']}{more} more of this shape; next placements:"]
    lines += [
        f"  {p['step']:>3}. {p['host']} at {format_cost(p['cost'])}"
        if p["host"]
        else f"  {p['step']:>3}. rejected: {p['reason']}"
        for p in data["next"]
    ]
    rows = [
        [h["host"], h["state"], spark(h["costs"]), h["infinite_at"] or "-", h["fits"], h["stop"] or ""]
        for h in data["hosts"]
    ]
    return (
        "\n".join(lines)
        + "\n\n"
        + table(["host", "state", f"cost 1..{data['steps']}", "∞ at", "fits", "stopped by"], rows)
    )
