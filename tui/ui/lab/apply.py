"""Applying a reviewed rebalance or consolidation plan: its live migrations, one after another.

Runs in the app's action worker (on the app's Deck, like every VM action); each move is the migrate
action itself (`migrate_vm`, which checks read-only mode, the VM, the target's cost and audits), to
the plan's target. It stops at the first move that does not succeed: later moves were planned
assuming the earlier ones happened.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.core.whatif import Move
from tui.services.actions import Deck, Outcome, Result, migrate_vm
from tui.ui.messages import Report
from tui.ui.text import plural


def apply_moves(deck: Deck, kind: str, moves: Sequence[Move], reason: str, report: Report) -> Outcome:
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
