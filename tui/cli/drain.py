"""`vmdeck hosts drain NAME`: No Scheduling, then every VM migrated away (the plan shown first), by
`drain_host` of tui/services/actions — the console's drain too. tui.cli.hosts adds it to its
own sub-command set.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.deck import action_options, migration_args, run_action
from tui.cli.options import mutating
from tui.cli.output import say, table
from tui.core.costs import format_cost
from tui.services.actions import drain_host


def register(hosts_actions: Any) -> None:
    """Add `drain` to the `hosts` command's sub-command set (called by tui.cli.hosts)."""
    drain = hosts_actions.add_parser("drain", help="No Scheduling + migrate every VM away (plan shown first)")
    action_options(drain, mutates=False)
    mutating(
        drain,
        when=lambda args: not args.dry_run,
        host="name",
        reason_required=True,
        reason_help="why (required; recorded with the state change)",
    )
    drain.add_argument("name", metavar="NAME")
    drain.add_argument("--dry-run", action="store_true", help="show the plan only; change nothing")
    drain.add_argument("--parallel", type=int, default=4, help="migrations in flight at once (default 4)")
    migration_args(drain)
    drain.set_defaults(handler=run_drain)


def run_drain(args: argparse.Namespace) -> int:
    def show_plan(plan: Any) -> None:
        if args.json:
            return  # the plan is part of the JSON result
        rows = [[m.vm, m.to, format_cost(m.cost), "cold" if m.cold else "live"] for m in plan.moves]
        text = f"plan for {plan.host}: {len(plan.moves)} to move\n" + table(
            ["vm", "to", "cost there", "how"], rows
        )
        if plan.unmovable:
            text += "\n\ncannot move:\n" + "\n".join(f"  {u.vm}: {u.reason}" for u in plan.unmovable)
        say(text + "\n")

    def show_result(result: Any) -> None:
        if not args.json:
            mark = "ok  " if result.ok else "FAIL"
            say(
                f"{mark} {result.move.vm} -> {result.move.to} ({result.seconds:.2f} s) {'' if result.ok else result.message}"
            )

    return run_action(
        args,
        lambda deck: drain_host(
            deck,
            args.name,
            args.reason,
            dry_run=args.dry_run,
            parallel=args.parallel,
            on_plan=show_plan,
            on_result=show_result,
        ),
    )
