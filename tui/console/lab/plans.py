"""The plan view: a drain preview, a rebalance or a consolidation plan of the lab (tui.core.whatif),
and `m`, which applies the plan on screen through the action path after a reason and a confirmation
(tui/services/actions/plans.py: each move is the migrate action; a drain is the drain action)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.console.dialogs import ActionScreen, reason_ask
from tui.console.fleetview import FleetView
from tui.console.lab import compute
from tui.console.lab.base import LabView, fill, lab_table
from tui.console.lab.compute import LabInputs
from tui.console.lab.params import PlanParams
from tui.console.lab.state import LabState
from tui.console.messages import ActionJob, ActionRefused, ActionRequested
from tui.console.session import Session
from tui.console.text import plural
from tui.console.vmactions import ask_drain
from tui.core.costs import format_cost
from tui.core.units import format_size
from tui.core.whatif import Plan
from tui.services.actions.plans import apply_plan, plan_refusal

PLAN_KINDS = ("drain", "rebalance", "consolidate")
PLACEHOLDERS = {
    "drain": "host to drain (enter: preview)",
    "rebalance": "moves=20 (enter: plan)",
    "consolidate": "moves=50 hosts=N (enter: plan)",
}
HEADS = {"drain": "Drain preview", "rebalance": "Rebalance plan", "consolidate": "Consolidation plan"}


class PlanView(LabView):
    """One view for the three kinds of plan; each kind keeps its own parameter line."""

    KIND = "plan"

    @dataclass
    class Computed(Message):
        generation: int
        plan: Plan

    def __init__(self, fleet: FleetView, session: Session) -> None:
        super().__init__(fleet, session)
        self.kind = "rebalance"  # the kind on screen
        self.kind_params: dict[str, str] = {}
        self.plan: Plan | None = None  # the plan on screen (what `m` applies)

    def select(self, kind: str, host: str | None) -> None:
        """Show this kind of plan; a drain preview drains `host` (the selected one) until one is typed."""
        self.kind = kind
        if kind == "drain" and not self.kind_params.get("drain"):
            self.kind_params["drain"] = host or ""

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]

    def params_text(self) -> str:
        return self.kind_params.get(self.kind, "")

    def submitted(self, text: str) -> LabState | None:
        self.kind_params[self.kind] = text.strip()
        self.recompute()
        return None

    def compute_now(self) -> None:
        kind = self.kind
        params = PlanParams.parse(
            "" if kind == "drain" else self.kind_params.get(kind, ""), 20 if kind == "rebalance" else 50
        )
        host = self.kind_params.get("drain", "").strip() or None
        if kind == "drain" and host is None:
            self.say(
                "Drain preview: type the host to drain (d again), or select it on the place view (p) first."
            )
            return
        self.say(f"Planning ({kind}) …")
        self.run_job(self.next_generation(), self.inputs(), kind, params, host)

    @work(thread=True, exclusive=True, group="lab-plan", exit_on_error=False)
    def run_job(
        self, generation: int, inputs: LabInputs, kind: str, params: PlanParams, host: str | None
    ) -> None:
        with self.failures(generation):
            self.post_message(self.Computed(generation, compute.plan(inputs, kind, params, host)))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if self.is_current(message.generation):
            plan = message.plan
            self.plan = plan
            self.show(plan, self.inputs().source, self.refusal(plan))
            self.shown_result(plan.kind, plan.to_json())

    # --- m: apply ---------------------------------------------------------------------------------------
    def refusal(self, plan: Plan | None) -> str | None:
        can_act = getattr(self.app, "deck", None) is not None
        return plan_refusal(plan, self.session.read_only, self.lab_state.scenario is not None, can_act)

    def apply(self, on_screen: bool) -> None:
        """`m`: the plan on screen (`on_screen`: the plan view is), asked for and applied, or refused."""
        plan = self.plan if on_screen else None
        why = self.refusal(plan)
        if plan is None or why is not None:
            self.app.post_message(ActionRefused("apply the plan", why or "show a plan first (d, b, c)"))
            return
        if plan.kind == "drain":  # the drain dialog: it plans again, as `d` on the Hosts pane
            ask_drain(self.app, self.fleet, self.session, plan.moves[0].source)
            return
        self.app.push_screen(apply_screen(plan), lambda values: self._confirmed(plan, values))

    def _confirmed(self, plan: Plan, values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            run = lambda deck, report: apply_plan(deck, plan, reason, report)  # noqa: E731
            self.app.post_message(
                ActionRequested(ActionJob(f"{plan.kind} plan", run, reason=reason, what=f"plan.{plan.kind}"))
            )

    # --- drawing ----------------------------------------------------------------------------------------
    def compose_tables(self) -> ComposeResult:
        yield lab_table(
            "plan-moves",
            [
                ("VM", 12),
                ("From", 12),
                ("To", 12),
                ("vCPU", 4),
                ("Memory", 8),
                ("Change", 9),
                ("From cost", 17),
                ("To cost", 17),
            ],
        )
        yield Static("", id="plan-stuck", markup=False)

    def show(self, plan: Plan, source: str, can_apply: str | None) -> None:
        b, a = plan.before, plan.after
        over = f", overloaded {b.infinite} → {a.infinite}" if b.infinite or a.infinite else ""
        emptied = f" · emptied: {', '.join(plan.emptied)}" if plan.emptied else ""
        apply = "m: apply (asks to confirm)" if can_apply is None else f"cannot apply: {can_apply}"
        self.say(
            f"{HEADS[plan.kind]} on the {source}: {len(plan.moves)} move(s); fleet cost {format_cost(b.total)} → "
            f"{format_cost(a.total)}, hosts in use {b.in_use} → {a.in_use}{over}{emptied} · {apply}"
        )
        rows = [
            (
                m.vm,
                (
                    m.vm,
                    m.source,
                    m.target,
                    str(m.vcpus),
                    format_size(m.memory).replace(" ", ""),
                    format_cost(m.delta),
                    f"{format_cost(m.source_before)}→{format_cost(m.source_after)}",
                    f"{format_cost(m.target_before)}→{format_cost(m.target_after)}",
                ),
            )
            for m in plan.moves
        ]
        fill(self.query_one("#plan-moves", DataTable), rows)
        lines = [f"Cannot move ({len(plan.unmovable)}):"] if plan.unmovable else ["Cannot move: none"]
        lines += [f"  {s.vm} on {s.host}: {s.reason}" for s in plan.unmovable[:20]]
        if len(plan.unmovable) > 20:
            lines.append(f"  … and {len(plan.unmovable) - 20} more")
        lines += [f"Note: {n}" for n in plan.notes]
        self.query_one("#plan-stuck", Static).update("\n".join(lines))


def apply_screen(plan: Plan) -> ActionScreen:
    """The plan's moves, a reason and a confirmation."""
    kind, moves = plan.kind, plan.moves
    lines = [f"  {m.vm}: {m.source} → {m.target} (cost change {m.delta:.6g})" for m in moves[:10]]
    if len(moves) > 10:
        lines.append(f"  … and {len(moves) - 10} more")
    return ActionScreen(
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
    )
