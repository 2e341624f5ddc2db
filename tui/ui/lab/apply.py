"""Applying a reviewed plan of the lab: why it cannot be (`plan_refusal`), the dialog (`ask_apply`),
and a rebalance or consolidation plan's live migrations, one after another (`apply_moves`).

`apply_moves` runs in the app's action worker (on the app's Deck, like every VM action); each move is the migrate
action itself (`migrate_vm`, which checks read-only mode, the VM, the target's cost and audits), to
the plan's target. It stops at the first move that does not succeed: later moves were planned
assuming the earlier ones happened.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App

from tui.core.whatif import Move, Plan
from tui.services.actions import Deck, Outcome, Result, migrate_vm
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.ui.dialogs import ActionScreen, reason_ask
from tui.ui.fleetview import FleetView
from tui.ui.messages import ActionJob, ActionRequested, Report
from tui.ui.session import Session
from tui.ui.text import plural
from tui.ui.vmactions import ask_drain


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


def plan_refusal(plan: Plan | None, read_only: bool, over_scenario: bool, can_act: bool) -> str | None:
    """Why the plan on screen cannot be applied (None: it can); shown under the plan and on `m`."""
    if plan is None or not plan.moves:
        return "no moves"
    if read_only:
        return READ_ONLY_MESSAGE
    if over_scenario:
        return "the plan is over a scenario's fleet, not the live one (g: live fleet)"
    if not can_act:
        return "this console has no store: it cannot act"
    return None


def ask_apply(app: App[None], view: FleetView, session: Session, plan: Plan) -> None:
    """A drain plan: the drain dialog (it plans again, as `d` on the Hosts pane); another plan: its
    moves, a reason and a confirmation, then one action job that migrates them in order."""
    if plan.kind == "drain":
        ask_drain(app, view, session, plan.moves[0].source)
        return
    kind, moves = plan.kind, plan.moves
    lines = [f"  {m.vm}: {m.source} → {m.target} (cost change {m.delta:.6g})" for m in moves[:10]]
    if len(moves) > 10:
        lines.append(f"  … and {len(moves) - 10} more")

    def done(values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            run = lambda deck, report: apply_moves(deck, kind, moves, reason, report)  # noqa: E731
            app.post_message(
                ActionRequested(ActionJob(f"{kind} plan", run, reason=reason, what=f"plan.{kind}"))
            )

    app.push_screen(
        ActionScreen(
            f"Apply the {kind} plan: {plural(len(moves), 'live migration')}",
            [
                ("plan", "\n".join(lines)),
                (
                    "what",
                    "Each move is the migrate action (checked again, audited); the first failure stops the rest.",
                ),
            ],
            [reason_ask()],
            lambda v: f"live-migrate {plural(len(moves), 'VM')} because “{v['reason']}”",
            prefix="labapply",
        ),
        done,
    )
