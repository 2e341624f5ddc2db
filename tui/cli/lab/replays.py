"""`vmdeck lab replay` (a workload under every policy, on this or a hypothetical fleet) and
`vmdeck lab ab` (the config against the edited one, or another config, on one workload)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.hosts import load_vm_config
from tui.cli.inputs import InputError
from tui.cli.lab.inputs import Inputs, counts
from tui.cli.output import emit, table
from tui.cli.scheduling import differences_text
from tui.core.fleet import FleetError
from tui.core.scheduling import POLICIES
from tui.core.units import format_size
from tui.core.whatif.fleetmodel import add_hosts, remove_hosts
from tui.core.whatif.replays import ab_replay, replay_policies


def cmd_replay(args: argparse.Namespace) -> int:
    inputs = Inputs(args)
    inputs.require_valid_edits()
    model = inputs.model
    try:
        for profile, n in counts(args.add_hosts, "--add-hosts"):
            model = add_hosts(model, profile, n, inputs.config)
        for profile, n in counts(args.remove_hosts, "--remove-hosts"):
            model, _gone = remove_hosts(model, profile, n)
    except FleetError as exc:
        raise InputError(str(exc)) from None
    inputs.model = model
    events = inputs.events()
    data = replay_policies(inputs.edited, model.fleet, events, tuple(args.policy or POLICIES)).to_json()
    inputs.save("replay", data)
    emit(data, args.json, replay_text)
    return 0


def replay_text(data: dict[str, Any]) -> str:
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
    inputs = Inputs(args)
    if args.compare:
        other = load_vm_config(argparse.Namespace(config=args.compare))
    elif args.set:
        inputs.require_valid_edits()
        other = inputs.edited
    else:
        raise InputError("give B: curve edits (--set ...) or another config (--compare OTHER.conf)")
    events = inputs.events()
    data = ab_replay(inputs.config, other, inputs.model.fleet, events, args.policy).to_json()
    inputs.save("ab", data)
    emit(data, args.json, lambda d: ab_text(d, args.show))
    return 0


def ab_text(data: dict[str, Any], show: int) -> str:
    a, b = data["a"], data["b"]
    lines = [
        f"A: {a['placed']} placed, {a['rejected']} rejected, memory {a['utilisation']['memory']['share']:.0%} at the end",
        f"B: {b['placed']} placed, {b['rejected']} rejected, memory {b['utilisation']['memory']['share']:.0%} at the end",
    ]
    return "\n".join([*lines, differences_text(data, show)])
