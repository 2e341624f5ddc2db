"""`vmdeck lab scenario list|show|export|delete`: the what-ifs kept with --save (or by the console)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.lab.inputs import store_dir
from tui.cli.lab.plans import plan_text
from tui.cli.lab.replays import ab_text, replay_text
from tui.cli.output import emit, table
from tui.services.scenarios import ScenarioStore, export_csv, export_json, jsonable


def cmd_scenario(args: argparse.Namespace) -> int:
    store = ScenarioStore(store_dir(args))
    action = args.scenario_command
    if action == "list":
        emit({"scenarios": [s.summary() for s in store.list()]}, args.json, _list_text)
    elif action == "show":
        emit(jsonable(store.get(args.name).to_json()), args.json, _show_text)
    elif action == "delete":
        gone = store.delete(args.name)
        emit({"deleted": gone.name}, args.json, lambda d: f"deleted scenario {d['deleted']}")
    else:
        scenario = store.get(args.name)
        if args.format == "json":
            paths = [export_json(scenario, args.output)]
        else:
            paths = export_csv(scenario, args.output)
        emit({"written": [str(p) for p in paths]}, args.json, lambda d: "wrote " + ", ".join(d["written"]))
    return 0


def _list_text(data: dict[str, Any]) -> str:
    rows = [
        [s["name"], s["created"], s["edits"], ",".join(s["results"]), s["config_hash"][:19]]
        for s in data["scenarios"]
    ]
    return table(["name", "created", "edits", "results", "config"], rows) if rows else "no scenarios saved"


def _show_text(data: dict[str, Any]) -> str:
    lines = [
        f"scenario {data['name']} ({data['created']})",
        f"config {data['config_source'] or '-'} {data['config_hash']}",
        f"fleet {data['fleet_source'] or '-'}",
        "edits: " + (" ".join(data["edits"]) or "none"),
    ]
    for kind, result in data["results"].items():
        lines.append(f"results: {kind}")
        if kind in ("drain", "rebalance", "consolidate"):
            lines.append(plan_text(result))
        elif kind == "replay":
            lines.append(replay_text(result))
        elif kind == "ab":
            lines.append(ab_text(result, 20))
    return "\n".join(lines)
