"""Applying a reviewed what-if plan (a rebalance or consolidation of `vmdeck lab` or the console's
lab): why it cannot be (`plan_refusal`), and its live migrations one after another (`apply_plan`).

Each move is the migrate action itself (`migrate_vm`: read-only check, the VM's lease, the target's
cost, audit intent and outcome), to the plan's target. It stops at the first move that does not
succeed: later moves were planned assuming the earlier ones happened. A drain plan is applied by the
drain action (drain.py), which plans again on the fleet as it is then.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.core.whatif import Plan
from tui.core.wording import plural
from tui.services.actions.deck import Deck
from tui.services.actions.migrate import migrate_vm
from tui.services.actions.outcome import Outcome, Result
from tui.services.actions.path import READ_ONLY_MESSAGE


def plan_refusal(plan: Plan | None, read_only: bool, over_scenario: bool, can_act: bool) -> str | None:
    """Why the plan cannot be applied (None: it can): shown under the plan and when asked to apply."""
    if plan is None or not plan.moves:
        return "no moves"
    if read_only:
        return READ_ONLY_MESSAGE
    if over_scenario:
        return "the plan is over a scenario's fleet, not the live one (g: live fleet)"
    if not can_act:
        return "this console has no store: it cannot act"
    return None


def apply_plan(deck: Deck, plan: Plan, reason: str, report: Callable[[str], None]) -> Outcome:
    """The plan's moves in order, each through the migrate action; `report` hears of each one."""
    kind, moves = plan.kind, plan.moves
    done = 0
    for move in moves:
        outcome = migrate_vm(deck, move.vm, to=move.target, host=move.source, reason=reason)
        if not outcome.ok:
            report(f"{kind}: FAILED {move.vm} → {move.target}: {outcome.message}")
            return Outcome(
                f"lab.{kind}",
                kind,
                None,
                outcome.result,
                f"{kind} plan stopped after {done} of {plural(len(moves), 'move')}: {outcome.message}",
            )
        done += 1
        report(f"{kind}: ok {move.vm} {move.source} → {move.target} ({done}/{len(moves)})")
    return Outcome(
        f"lab.{kind}", kind, None, Result.OK, f"{kind} plan applied: {plural(done, 'live migration')}"
    )
