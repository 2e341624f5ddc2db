"""`vmdeck lab edit`: curve edits applied in memory — the new costs and ranking, and the edited cost
functions as HOCON checked by the real loader (--hocon prints only that)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.lab.inputs import Inputs, request_from_args
from tui.cli.output import emit, table
from tui.core.costs import format_cost
from tui.core.whatif.edits import rerank
from tui.core.whatif.hocon_export import ExportError, cost_functions_text
from tui.services.scenarios import check_cost_functions_text


def cmd_edit(args: argparse.Namespace) -> int:
    inputs = Inputs(args)
    request = request_from_args(args)
    result = inputs.edit_result
    assert result is not None, "--set is required (the parser's)"
    data: dict[str, Any] = result.to_json()
    try:
        hocon = (
            cost_functions_text(result.config, result.edited, header="edited by vmdeck lab")
            if result.edited
            else ""
        )
    except ExportError as exc:
        hocon, data["ok"] = "", False
        data["diagnostics"].append({"severity": "error", "path": "", "message": str(exc)})
    if hocon:
        reread, loader = check_cost_functions_text(hocon)
        data["loader"] = [{**d.to_json(), "severity": d.severity.value} for d in loader]
        data["roundtrip"] = all(reread.get(c) == result.config.cost_functions[c] for c in result.edited)
    data["hocon"] = hocon
    if args.hocon:
        print(hocon, end="")
        return 0 if data["ok"] else 1
    if data["ok"]:
        data["rerank"] = rerank(inputs.config, result.config, inputs.model.fleet, request).to_json()
    inputs.save("rerank", data)
    emit(data, args.json, _edit_text)
    return 0 if data["ok"] else 1


def _edit_text(data: dict[str, Any]) -> str:
    lines = [f"{d['severity']}: {d['path']}: {d['message']}" for d in data["diagnostics"]]
    if "rerank" in data:
        r = data["rerank"]
        lines.append(
            f"request goes to {r['old_choice'] or 'nowhere'} before, {r['new_choice'] or 'nowhere'} after; "
            f"{r['changed_costs']} costs and {r['changed_ranks']} ranks change"
        )
        rows = [
            [
                h["host"],
                h["old_rank"] or "-",
                h["new_rank"] or "-",
                format_cost(h["old_cost"]),
                format_cost(h["new_cost"]),
            ]
            for h in r["hosts"]
        ]
        lines += ["", table(["host", "rank before", "rank after", "cost before", "cost after"], rows)]
    lines += ["", data["hocon"]]
    return "\n".join(lines)
