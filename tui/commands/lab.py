"""`vmdeck lab`: the what-if lab headless — load response, curve edits, replays, A/B, drain preview,
rebalance and consolidation plans, and saved scenarios.

Every subcommand reads a config (--config) and a fleet: a FLEET.json (--fleet, whose hosts may carry a
`vm_list`) or the live fleet polled from a store (--db). --json prints the same data the console's
Simulation pane renders; --save NAME keeps the what-if (config hash, edits, fleet, workload, results)
in the store's scenarios.json. Exit 0 on success, 1 on invalid input or edits with errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui.commands.hosts import CommandError, load_vm_config, run
from tui.commands.options import add_config, add_json, add_open_timeout, add_timeout, mutating
from tui.commands.output import emit, table
from tui.commands.scheduling import differences_text
from tui.core.costs import format_cost
from tui.core.fleet import FleetError
from tui.core.model import VmConfig
from tui.core.units import format_size


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser("lab", help="the what-if lab: tune curves, replay, plan (nothing is changed)")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(lab))
    lab.set_defaults(handler=lambda _args: (lab.print_help(), 2)[1])

    resp = sub.add_parser(
        "response", help="each host's cost after 1..N identical VMs, next placements, headroom"
    )
    _common(resp)
    _request(resp)
    resp.add_argument("--steps", type=int, default=16, help="identical VMs per host to cost (default 16)")
    resp.add_argument("--next", type=int, default=10, help="sequential placements to show (default 10)")
    resp.set_defaults(handler=run(cmd_response))

    edit = sub.add_parser("edit", help="apply curve edits in memory: new costs, ranking change, HOCON")
    _common(edit)
    _request(edit, required=False)
    _edits(edit, required=True)
    edit.add_argument("--hocon", action="store_true", help="print only the edited cost functions as HOCON")
    edit.set_defaults(handler=run(cmd_edit))

    rep = sub.add_parser("replay", help="a workload under every policy, on this or a hypothetical fleet")
    _common(rep)
    _workload(rep)
    rep.add_argument("--add-hosts", action="append", default=[], metavar="PROFILE=N", help="add N hosts")
    rep.add_argument(
        "--remove-hosts", action="append", default=[], metavar="PROFILE=N", help="remove N hosts"
    )
    rep.add_argument(
        "--policy",
        action="append",
        choices=("cost", "first-fit", "best-fit", "spread"),
        help="(default: all)",
    )
    _edits(rep)
    rep.set_defaults(handler=run(cmd_replay))

    ab = sub.add_parser("ab", help="A/B: the config against the edited one (or --compare) on one workload")
    _common(ab)
    _workload(ab)
    _edits(ab)
    ab.add_argument("--compare", metavar="OTHER.conf", help="B is this config instead of the edits")
    ab.add_argument("--policy", default="cost", choices=("cost", "first-fit", "best-fit", "spread"))
    ab.add_argument("--show", type=int, default=20, metavar="N", help="differences to list")
    ab.set_defaults(handler=run(cmd_ab))

    drain = sub.add_parser("drain-preview", help="where a host's VMs would go, and the fleet afterwards")
    drain.add_argument("host")
    _common(drain)
    _edits(drain)
    drain.set_defaults(handler=run(cmd_drain))

    reb = sub.add_parser("rebalance", help="live migrations that lower the fleet's total cost")
    _common(reb)
    _edits(reb)
    reb.add_argument("--max-moves", type=int, default=20)
    reb.set_defaults(handler=run(cmd_rebalance))

    con = sub.add_parser("consolidate", help="empty the fewest-loaded hosts")
    _common(con)
    _edits(con)
    con.add_argument("--max-hosts", type=int, default=None, help="hosts to empty at most")
    con.add_argument("--max-moves", type=int, default=50)
    con.set_defaults(handler=run(cmd_consolidate))

    scen = sub.add_parser("scenario", help="saved what-ifs: list, show, export, delete")
    ssub = scen.add_subparsers(dest="scenario_command", metavar="ACTION", parser_class=type(lab))
    scen.set_defaults(handler=lambda _args: (scen.print_help(), 2)[1])
    for name, helptext in (("list", "saved scenarios"), ("show", "one scenario"), ("delete", "forget one")):
        p = ssub.add_parser(name, help=helptext)
        if name != "list":
            p.add_argument("name")
        _store(p)
        if name == "delete":
            mutating(p, target="name")
        p.set_defaults(handler=run(cmd_scenario))
    exp = ssub.add_parser("export", help="results as JSON (a file) or CSV (a directory of tables)")
    exp.add_argument("name")
    exp.add_argument("--format", choices=("json", "csv"), default="json")
    exp.add_argument("-o", "--output", required=True, metavar="PATH")
    _store(exp)
    exp.set_defaults(handler=run(cmd_scenario))


# --- options -------------------------------------------------------------------------------------------
def _store(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="DIR", help="where scenarios are kept (default: --db or the data dir)")
    p.add_argument("--db", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_config(p)  # not read: accepted so that every subcommand takes the shared options
    add_json(p)


def _common(p: argparse.ArgumentParser) -> None:
    add_config(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--fleet", metavar="FLEET.json", help="a fleet file (hosts may carry vm_list)")
    where.add_argument(
        "--db", metavar="DIR", default=argparse.SUPPRESS, help="the live fleet: poll the hosts of this store"
    )
    add_timeout(p, 10.0, "bound on each host's poll (--db)")
    add_open_timeout(p, default=None)
    add_json(p)
    # Computing a what-if changes nothing; only keeping it (--save) writes the store.
    mutating(p, when=lambda args: bool(args.save), target="save")
    p.add_argument("--save", metavar="NAME", help="keep this what-if as a scenario")
    p.add_argument("--replace", action="store_true", help="--save over an existing scenario")
    p.add_argument(
        "--store", metavar="DIR", help="where --save keeps scenarios (default: --db or the data dir)"
    )


def _request(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--vcpus", type=int, required=required, default=2)
    p.add_argument("--memory", required=required, default="4GiB", help="bytes or a size such as 4GiB")
    p.add_argument("--device", action="append", default=[], metavar="TYPE=COUNT")


def _edits(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        required=required,
        metavar="CF.TERM[.BRANCH].PARAM=VALUE",
        help="a curve edit, e.g. pool1.vcpus.soft=10 or pool2.offset=0 (repeat)",
    )


def _workload(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workload", metavar="W.jsonl", help="start/stop events (else a generated workload)")
    p.add_argument("--vms", type=int, default=1000, help="generated: VMs started (default 1000)")
    p.add_argument("--rate", type=float, default=1.0, help="generated: arrivals per time unit")
    p.add_argument("--lifetime", type=float, default=20.0, help="generated: mean lifetime (default 20)")
    p.add_argument("--gpu-share", type=float, default=0.0, help="generated: share asking for a GPU")
    p.add_argument("--seed", type=int, default=0)


# --- inputs --------------------------------------------------------------------------------------------
class _Inputs:
    def __init__(self, args: argparse.Namespace) -> None:
        from tui.core.whatif.scenario import config_hash

        self.args = args
        self.config: VmConfig = load_vm_config(args)
        self.config_hash = config_hash(self.config)
        self.model = _model(args, self.config)
        self.edits: list[Any] = []
        self.edit_result: Any = None
        if getattr(args, "set", None):
            from tui.core.whatif.edits import EditError, apply_edits, parse_edits

            try:
                self.edits = parse_edits(args.set)
            except EditError as exc:
                raise CommandError(f"--set: {exc}") from None
            self.edit_result = apply_edits(self.config, self.edits)
        self.workload: dict[str, Any] | None = None

    @property
    def edited(self) -> VmConfig:
        return self.edit_result.config if self.edit_result is not None else self.config

    def require_valid_edits(self) -> None:
        if self.edit_result is not None and not self.edit_result.ok:
            errors = [d for d in self.edit_result.diagnostics() if d.severity.value == "error"]
            raise CommandError("edits refused: " + "; ".join(f"{d.path}: {d.message}" for d in errors))

    def events(self) -> list[Any]:
        args = self.args
        if args.workload:
            from tui.services.scenario_files import ScenarioFileError, load_workload

            try:
                events = load_workload(args.workload)
            except ScenarioFileError as exc:
                raise CommandError(str(exc)) from None
            self.workload = {"source": args.workload, "events": [e.to_json() for e in events]}
            return events
        from tui.core.scheduling.workload import WorkloadSpec, generate

        try:
            spec = WorkloadSpec(
                starts=args.vms,
                rate=args.rate,
                mean_lifetime=args.lifetime,
                gpu_share=args.gpu_share,
                seed=args.seed,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.workload = {
            "spec": {
                "vms": args.vms,
                "rate": args.rate,
                "lifetime": args.lifetime,
                "gpu_share": args.gpu_share,
                "seed": args.seed,
            }
        }
        return generate(spec)

    def save(self, kind: str, result: dict[str, Any]) -> None:
        args = self.args
        if not args.save:
            return
        from tui.core.whatif.scenario import Scenario
        from tui.services.scenarios import ScenarioStore

        scenario = Scenario(
            name=args.save,
            config_hash=self.config_hash,
            config_source=str(args.config) if args.config else None,
            edits=tuple(e.to_text() for e in self.edits),
            fleet=self.model.to_json(),
            fleet_source=args.fleet or f"live:{args.db}",
            workload=self.workload,
            results={kind: result},
        )
        ScenarioStore(_store_dir(args)).save(scenario, replace=args.replace)


def _store_dir(args: argparse.Namespace) -> Path:
    from tui.services.store import files_directory

    if getattr(args, "store", None):
        return Path(args.store)
    return files_directory(getattr(args, "db", None))


def _model(args: argparse.Namespace, config: VmConfig) -> Any:
    if args.fleet:
        from tui.services.scenario_files import ScenarioFileError
        from tui.services.scenarios import load_fleet_model

        try:
            return load_fleet_model(args.fleet, config)
        except ScenarioFileError as exc:
            raise CommandError(str(exc)) from None
    from tui.commands.fleet import poll_fleet
    from tui.core.whatif.fleetmodel import live_model

    # Poll every host of the store: a copy without `host`, which is drain-preview's positional HOST.
    every_host = argparse.Namespace(**{**vars(args), "host": None})
    _config, hosts, snaps, _seconds = poll_fleet(every_host)
    return live_model(hosts, snaps, config)


def _parse_request(args: argparse.Namespace) -> Any:
    from tui.core.scheduling.request import RequestError, request_of

    try:
        return request_of(args.vcpus, args.memory, args.device)
    except RequestError as exc:
        raise CommandError(str(exc)) from None


def _counts(items: list[str], flag: str) -> list[tuple[str, int]]:
    out = []
    for item in items:
        profile, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise CommandError(f"{flag} {item!r}: expected PROFILE=N")
        out.append((profile.strip(), int(count)))
    return out


# --- response ------------------------------------------------------------------------------------------
def cmd_response(args: argparse.Namespace) -> int:
    from tui.core.whatif.response import load_response

    inputs = _Inputs(args)
    request = _parse_request(args)
    if args.steps < 1 or args.next < 0:
        raise CommandError("--steps must be >= 1 and --next >= 0")
    data = load_response(inputs.config, inputs.model.fleet, request, args.steps, args.next).to_json()
    inputs.save("response", data)
    emit(data, args.json, _response_text)
    return 0


def _spark(costs: list[float]) -> str:
    finite = [c for c in costs if isinstance(c, float | int) and c != float("inf")]
    if not finite:
        return "×" * len(costs)
    lo, hi = min(finite), max(finite)
    bars = "▁▂▃▄▅▆▇█"
    out = []
    for c in costs:
        if c == float("inf"):
            out.append("×")  # refused: shown as a mark, not a colour (works over ssh, in logs)
        else:
            out.append(bars[0 if hi == lo else int((c - lo) / (hi - lo) * (len(bars) - 1))])
    return "".join(out)


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
        [h["host"], h["state"], _spark(h["costs"]), h["infinite_at"] or "-", h["fits"], h["stop"] or ""]
        for h in data["hosts"]
    ]
    return (
        "\n".join(lines)
        + "\n\n"
        + table(["host", "state", f"cost 1..{data['steps']}", "∞ at", "fits", "stopped by"], rows)
    )


# --- edit ----------------------------------------------------------------------------------------------
def cmd_edit(args: argparse.Namespace) -> int:
    from tui.core.whatif.edits import rerank
    from tui.core.whatif.hocon_export import ExportError, cost_functions_text
    from tui.services.scenarios import check_cost_functions_text

    inputs = _Inputs(args)
    request = _parse_request(args)
    result = inputs.edit_result
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


# --- replay / ab -----------------------------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    from tui.core.scheduling import POLICIES
    from tui.core.whatif.fleetmodel import add_hosts, remove_hosts
    from tui.core.whatif.replays import replay_policies

    inputs = _Inputs(args)
    inputs.require_valid_edits()
    model = inputs.model
    try:
        for profile, n in _counts(args.add_hosts, "--add-hosts"):
            model = add_hosts(model, profile, n, inputs.config)
        for profile, n in _counts(args.remove_hosts, "--remove-hosts"):
            model, _gone = remove_hosts(model, profile, n)
    except FleetError as exc:
        raise CommandError(str(exc)) from None
    inputs.model = model
    events = inputs.events()
    data = replay_policies(inputs.edited, model.fleet, events, tuple(args.policy or POLICIES)).to_json()
    inputs.save("replay", data)
    emit(data, args.json, _replay_text)
    return 0


def _replay_text(data: dict[str, Any]) -> str:
    rows = []
    for p in data["policies"]:
        u = p["utilisation"]
        rows.append(
            [
                p["policy"],
                p["placed"],
                p["rejected"],
                f"{u['vcpus']['share']:.0%}",
                f"{u['memory']['share']:.0%}",
                f"{format_size(u['peak']['memory'])}",
                p["hosts_in_use"],
                p["peak_hosts_in_use"],
                p["hosts_touched"],
                f"{p['elapsed_s']:.3f}",
            ]
        )
    head = [
        "policy",
        "placed",
        "rejected",
        "vCPU",
        "memory",
        "peak memory",
        "in use",
        "peak in use",
        "touched",
        "s",
    ]
    return f"{data['events']} events\n\n" + table(head, rows)


def cmd_ab(args: argparse.Namespace) -> int:
    from tui.core.whatif.replays import ab_replay

    inputs = _Inputs(args)
    if args.compare:
        from argparse import Namespace

        other = load_vm_config(Namespace(config=args.compare))
    elif args.set:
        inputs.require_valid_edits()
        other = inputs.edited
    else:
        raise CommandError("give B: curve edits (--set ...) or another config (--compare OTHER.conf)")
    events = inputs.events()
    data = ab_replay(inputs.config, other, inputs.model.fleet, events, args.policy).to_json()
    inputs.save("ab", data)
    emit(data, args.json, lambda d: _ab_text(d, args.show))
    return 0


def _ab_text(data: dict[str, Any], show: int) -> str:
    a, b = data["a"], data["b"]
    lines = [
        f"A: {a['placed']} placed, {a['rejected']} rejected, memory {a['utilisation']['memory']['share']:.0%} at the end",
        f"B: {b['placed']} placed, {b['rejected']} rejected, memory {b['utilisation']['memory']['share']:.0%} at the end",
    ]
    return "\n".join([*lines, differences_text(data, show)])


# --- plans ---------------------------------------------------------------------------------------------
def _plan(args: argparse.Namespace, kind: str) -> int:
    from tui.core.whatif.plans import consolidation_plan, drain_preview, rebalance_plan

    inputs = _Inputs(args)
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
        raise CommandError(str(exc)) from None
    data = plan.to_json()
    inputs.save(kind, data)
    emit(data, args.json, _plan_text)
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    return _plan(args, "drain")


def cmd_rebalance(args: argparse.Namespace) -> int:
    return _plan(args, "rebalance")


def cmd_consolidate(args: argparse.Namespace) -> int:
    return _plan(args, "consolidate")


def _plan_text(data: dict[str, Any]) -> str:
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


# --- scenarios -----------------------------------------------------------------------------------------
def cmd_scenario(args: argparse.Namespace) -> int:
    from tui.services.scenarios import ScenarioStore, export_csv, export_json, jsonable

    store = ScenarioStore(_store_dir(args))
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
            lines.append(_plan_text(result))
        elif kind == "replay":
            lines.append(_replay_text(result))
        elif kind == "ab":
            lines.append(_ab_text(result, 20))
    return "\n".join(lines)
