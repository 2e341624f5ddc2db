"""The `vmdeck lab` parser: its subcommands and their options, each bound to its handler."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.hosts import run
from tui.cli.lab.edit import cmd_edit
from tui.cli.lab.plans import cmd_consolidate, cmd_drain, cmd_rebalance
from tui.cli.lab.replays import cmd_ab, cmd_replay
from tui.cli.lab.response import cmd_response
from tui.cli.lab.scenarios import cmd_scenario
from tui.cli.options import add_config, add_json, add_open_timeout, add_timeout, mutating


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
