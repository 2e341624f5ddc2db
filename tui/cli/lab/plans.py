"""`vmdeck lab drain-preview`, `rebalance` and `consolidate`: the plans, computed and printed; nothing
is moved (the console's lab applies a plan through the action path)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.inputs import InputError
from tui.cli.lab.inputs import Inputs
from tui.cli.output import emit, table
from tui.core.costs import format_cost
from tui.core.fleet import FleetError
from tui.core.units import format_size
from tui.core.whatif.plans import consolidation_plan, drain_preview, rebalance_plan


def _plan(args: argparse.Namespace, kind: str) -> int:
    inputs = Inputs(args)
    inputs.require_valid_edits()
    config, model = inputs.edited, inputs.model
    try:
        if kind == "drain":
            plan = drain_preview(config, model, args.host)
        elif kind == "rebalance":
            plan = rebalance_plan(config, model, args.max_moves)
        else:
            plan = consolidation_plan(config, model, args.max_hosts, args.max_moves)
    except (FleetError, ValueError) as exc:
        raise InputError(str(exc)) from None
    data = plan.to_json()
    inputs.save(kind, data)
    emit(data, args.json, plan_text)
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    return _plan(args, "drain")


def cmd_rebalance(args: argparse.Namespace) -> int:
    return _plan(args, "rebalance")


def cmd_consolidate(args: argparse.Namespace) -> int:
    return _plan(args, "consolidate")


def plan_text(data: dict[str, Any]) -> str:
    before, after = data["before"], data["after"]
    lines = [
        f"{data['kind']}: {len(data['moves'])} move(s); fleet cost {format_cost(before['total'])} -> "
        f"{format_cost(after['total'])}, hosts in use {before['hosts_in_use']} -> {after['hosts_in_use']}"
        + (
            f", overloaded {before['infinite_hosts']} -> {after['infinite_hosts']}"
            if before["infinite_hosts"]
            else ""
        ),
    ]
    if data["emptied"]:
        lines.append("emptied: " + ", ".join(data["emptied"]))
    rows = [
        [m["vm"], m["from"], m["to"], m["vcpus"], format_size(m["memory"]), format_cost(m["delta"])]
        for m in data["moves"]
    ]
    lines += ["", table(["vm", "from", "to", "vcpus", "memory", "cost change"], rows)]
    if data["unmovable"]:
        rows = [[s["vm"], s["host"], s["reason"]] for s in data["unmovable"]]
        lines += ["", "cannot move:", table(["vm", "host", "why"], rows)]
    lines += [f"note: {n}" for n in data["notes"]]
    return "\n".join(lines)
