"""`vmdeck place`, `headroom` and `simulate`: the scheduler and what-if engine headless.

place/headroom/simulate read a ticrypt-vm.conf (--config) and a FLEET.json (--fleet); simulate also
reads a workload JSONL. Exit 0 on success, 1 on invalid input or when `place` finds no host.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import orjson

from tui.cli import workload
from tui.cli.inputs import InputError
from tui.cli.options import add_config, add_json, config_path
from tui.cli.output import emit, fail, jsonable, table, warn
from tui.core.costs import format_cost
from tui.core.fleet import Fleet
from tui.core.model import VmConfig
from tui.core.scheduling import POLICIES, CostEngine, FleetState, compare, explain_request, headroom, replay
from tui.core.scheduling.replay import ReplayResult, collector_paused
from tui.core.scheduling.request import RequestError, request_of
from tui.core.units import format_size
from tui.services.config import ConfigFileError, load_config
from tui.services.scenario_files import ScenarioFileError, load_fleet, load_workload, stream_workload


def register(subparsers: Any) -> None:
    place = subparsers.add_parser("place", help="where would this VM go, and why (every host's cost terms)")
    _scenario_args(place)
    _request_args(place)
    place.set_defaults(handler=run_place)

    room = subparsers.add_parser("headroom", help="how many more VMs of a shape fit, per host and fleet-wide")
    _scenario_args(room)
    _request_args(room)
    room.add_argument("--host-limit", type=int, default=1000, help="stop counting one host at this many")
    room.add_argument(
        "--fleet-limit", type=int, default=100_000, help="stop the fleet-wide fill at this many"
    )
    room.set_defaults(handler=run_headroom)

    sim = subparsers.add_parser("simulate", help="replay a start/stop workload over the fleet (what-if)")
    _scenario_args(sim)
    sim.add_argument("--workload", required=True, metavar="W.jsonl", help="one start/stop event per line")
    sim.add_argument(
        "--policy",
        default="cost",
        choices=("cost", "first-fit", "best-fit", "spread", "all"),
        help="placement policy; `all` replays every policy and prints a summary",
    )
    sim.add_argument("--compare", metavar="OTHER.conf", help="A/B: replay under this config too and diff")
    sim.add_argument("--show", type=int, default=20, metavar="N", help="placements/differences to list")
    sim.set_defaults(handler=run_simulate)

    workload.register(subparsers)


def _scenario_args(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--fleet", required=True, metavar="FLEET.json", help="hosts, profiles, states, loads")
    add_json(parser)


def _request_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vcpus", type=int, required=True)
    parser.add_argument("--memory", required=True, help="bytes or a size such as 4GiB")
    parser.add_argument(
        "--device", action="append", default=[], metavar="TYPE=COUNT", help="devices to pass through (repeat)"
    )


def load_checked_config(path: str) -> VmConfig:
    """The config at `path`, or an InputError naming the file and its first errors."""
    try:
        result = load_config(path)
    except ConfigFileError as exc:
        raise InputError(str(exc)) from None
    if not result.ok or result.config is None:
        shown = "; ".join(str(d) for d in result.errors[:3]) or "no configuration"
        more = f" (+{len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
        raise InputError(f"{path}: invalid config: {shown}{more} (see vmdeck validate {path})")
    return result.config


def _load_fleet(path: str, config: VmConfig) -> Fleet:
    try:
        return load_fleet(path, config)
    except ScenarioFileError as exc:
        raise InputError(str(exc)) from None


def _request(args: argparse.Namespace) -> Any:
    try:
        return request_of(args.vcpus, args.memory, args.device)
    except RequestError as exc:
        raise InputError(str(exc)) from None


# --- place ----------------------------------------------------------------------------------------
def run_place(args: argparse.Namespace) -> int:
    try:
        config = load_checked_config(str(config_path(args)))
        fleet = _load_fleet(args.fleet, config)
        request = _request(args)
    except InputError as exc:
        return fail(str(exc), args.json)
    state = FleetState(config, fleet)
    placement = explain_request(state, CostEngine(state), request)
    emit(placement.to_json(), args.json, _place_text)
    if placement.placed:
        return 0
    if args.json:
        warn("rejected: no feasible host (the JSON gives each host's reason)")
    return 1


def _place_text(data: dict[str, Any]) -> str:
    if data["placed"]:
        devices = f" with {', '.join(data['devices'])}" if data["devices"] else ""
        head = f"placed on {data['host']} at cost {format_cost(data['cost'])}{devices}"
    else:
        head = "rejected: no feasible host"
    rows = []
    for c in data["candidates"]:
        terms = c["terms"]
        devices = " ".join(f"{k}={format_cost(v)}" for k, v in terms["devices"].items()) or "-"
        rows.append(
            [
                c["host"],
                "unreachable" if c.get("unavailable") else c["state"],
                format_cost(c["cost"]),
                format_cost(terms["vms"]),
                format_cost(terms["vcpus"]),
                format_cost(terms["memory"]),
                devices,
                c["reason"] or "",
            ]
        )
    headers = ["host", "state", "cost", "vms", "vcpus", "memory", "devices", "reason"]
    return head + "\n\n" + table(headers, rows)


# --- headroom -------------------------------------------------------------------------------------
def run_headroom(args: argparse.Namespace) -> int:
    try:
        config = load_checked_config(str(config_path(args)))
        fleet = _load_fleet(args.fleet, config)
        request = _request(args)
        if args.host_limit < 1 or args.fleet_limit < 1:
            raise InputError("--host-limit and --fleet-limit must be >= 1")
    except InputError as exc:
        return fail(str(exc), args.json)
    result = headroom(config, fleet, request, args.host_limit, args.fleet_limit)
    emit(result.to_json(), args.json, _headroom_text)
    return 0


def _headroom_text(data: dict[str, Any]) -> str:
    fleet = data["fleet"]
    more = "+" if fleet["capped"] else ""
    head = f"the fleet takes {fleet['fits']}{more} more VMs of this shape (cost policy, until the first rejection)"
    rows = [
        [
            h["host"],
            h["profile"],
            h["state"],
            f"{h['fits']}{'+' if h['capped'] else ''}",
            h["fleet"],
            h["stop"] or "",
        ]
        for h in data["hosts"]
    ]
    return head + "\n\n" + table(["host", "profile", "state", "fits", "in fill", "stopped by"], rows)


# --- simulate -------------------------------------------------------------------------------------
def run_simulate(args: argparse.Namespace) -> int:
    with collector_paused():  # the events, records and their JSON hold no cycles to collect
        return _simulate(args)


def _simulate(args: argparse.Namespace) -> int:
    try:
        config = load_checked_config(str(config_path(args)))
        fleet = _load_fleet(args.fleet, config)
        other = load_checked_config(args.compare) if args.compare else None
        if other is not None:
            _load_fleet(args.fleet, other)  # the fleet's profiles must exist under both configs
        # One replay streams the file through (decisions start with the first line); A/B and `all`
        # replay it several times, so they read it whole.
        several = other is not None or args.policy == "all"
        events = load_workload(args.workload) if several else None
        if events is None:
            result = replay(config, fleet, stream_workload(args.workload), args.policy)
    except InputError as exc:
        return fail(str(exc), args.json)
    except ScenarioFileError as exc:
        return fail(str(exc), args.json)
    if other is not None and events is not None:
        policy = "cost" if args.policy == "all" else args.policy
        comparison = compare(config, other, fleet, events, policy)
        data = comparison.to_json()
        data["a"]["config"], data["b"]["config"] = str(config_path(args)), args.compare
        emit(data, args.json, lambda d: _compare_text(d, args.show))
        return 0
    if events is not None:
        results = [replay(config, fleet, events, name) for name in POLICIES]
        summary = {"events": len(events), "policies": [r.summary() for r in results]}
        emit(summary, args.json, _policies_text)
        return 0
    if args.json:
        _write_replay_json(result)
    else:
        emit(result.to_json(), False, lambda d: _simulate_text(d, args.show))
    return 0


def _write_replay_json(result: ReplayResult) -> None:
    """`simulate --json` for one policy: the document `emit` writes (`ReplayResult.to_json`, made
    JSON-safe, indented by two), made fast for 100,000 placements. Each placement's dict is made in
    one comprehension straight from its record, its devices left a tuple (orjson writes a tuple as
    the list it stands for) and its cost made JSON-safe only when not finite (the only float there);
    the hosts (`FleetState.hosts_json`: names, counts and addresses, no floats) as they are; the rest
    through `jsonable`. tests/test_simulate_io.py holds it to `emit`'s document."""
    head = result.summary()
    utilisation, elapsed = jsonable(head.pop("utilisation")), jsonable(head.pop("elapsed_s"))
    inf = math.inf
    document = jsonable(head)  # policy, events, placed, rejected, ignored_stops: to_json's order
    document["placements"] = [
        {
            "id": vm,
            "host": host,
            "cost": cost if cost is None or -inf < cost < inf else jsonable(cost),
            "devices": devices,
            "reason": reason,
        }
        for vm, host, cost, devices, reason in result.placements
    ]
    document["hosts"] = result.hosts
    document["utilisation"], document["elapsed_s"] = utilisation, elapsed
    sys.stdout.flush()
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    sys.stdout.buffer.flush()


def _util_text(util: dict[str, Any]) -> str:
    parts = [
        f"vCPUs {util['vcpus']['used']}/{util['vcpus']['capacity']} ({util['vcpus']['share']:.0%})",
        f"memory {format_size(util['memory']['used'])}/{format_size(util['memory']['capacity'])}"
        f" ({util['memory']['share']:.0%})",
    ]
    parts += [f"{k} {v['used']}/{v['total']}" for k, v in util["devices"].items()]
    if "peak" in util:
        parts.append(f"peak {util['peak']['vcpus']} vCPUs, {format_size(util['peak']['memory'])}")
    return ", ".join(parts)


def _simulate_text(data: dict[str, Any], show: int) -> str:
    lines = [
        f"policy {data['policy']}: {data['events']} events, {data['placed']} placed, {data['rejected']} rejected, "
        f"{data['ignored_stops']} stops ignored, {data['elapsed_s']:.3f} s",
        "final utilisation: " + _util_text(data["utilisation"]),
        "",
    ]
    shown = data["placements"][:show]
    rows = [
        [p["id"], p["host"] or "-", format_cost(p["cost"]), ",".join(p["devices"]), p["reason"] or ""]
        for p in shown
    ]
    lines.append(table(["id", "host", "cost", "devices", "reason"], rows))
    if len(data["placements"]) > show:
        lines.append(f"... {len(data['placements']) - show} more (--show N, or --json for all)")
    lines.append("")
    hosts = [
        [h["name"], h["state"], h["vms"], h["vcpus"], format_size(h["memory"]), ",".join(h["devices_in_use"])]
        for h in data["hosts"]
    ]
    lines.append(table(["host", "state", "vms", "vcpus", "memory", "devices in use"], hosts))
    return "\n".join(lines)


def _policies_text(data: dict[str, Any]) -> str:
    rows = [
        [p["policy"], p["placed"], p["rejected"], _util_text(p["utilisation"]), f"{p['elapsed_s']:.3f}"]
        for p in data["policies"]
    ]
    return f"{data['events']} events\n\n" + table(
        ["policy", "placed", "rejected", "final load (and peak)", "seconds"], rows
    )


def _compare_text(data: dict[str, Any], show: int) -> str:
    a, b = data["a"], data["b"]
    lines = [
        f"A {a['config']}: {a['placed']} placed, {a['rejected']} rejected",
        f"B {b['config']}: {b['placed']} placed, {b['rejected']} rejected",
    ]
    return "\n".join([*lines, differences_text(data, show)])


def differences_text(data: dict[str, Any], show: int) -> str:
    """The A/B decisions that differ, with both hosts and costs (shared with `vmdeck lab ab`)."""
    rows = [
        [
            d["id"],
            d["a"]["host"] or "rejected",
            format_cost(d["a"]["cost"]),
            d["b"]["host"] or "rejected",
            format_cost(d["b"]["cost"]),
        ]
        for d in data["differences"][:show]
    ]
    lines = [f"{data['differ']} of {data['decisions']} decisions differ", ""]
    lines.append(table(["id", "host A", "cost A", "host B", "cost B"], rows))
    if data["differ"] > show:
        lines.append(f"... {data['differ'] - show} more (--show N, or --json for all)")
    return "\n".join(lines)
