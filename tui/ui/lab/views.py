"""The lab's views inside the Simulation pane: each renders one kind of result as text and tables.

Views only draw what the pane hands them (attributes down); they compute nothing heavy. Tables have
fixed column widths (FixedTable: no per-cell measuring, so 1,000 rows redraw in milliseconds), and
every meaning is in the characters: ∞ for infinite costs, ▲/▼/= for rank moves, → for the choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.core.costs import format_cost
from tui.core.fleet import FleetError
from tui.core.units import format_size
from tui.core.whatif import AbResult, Edit, LoadResponse, Plan, PolicyRun
from tui.ui.lab import compute
from tui.ui.lab.compute import LabInputs
from tui.ui.lab.params import WorkloadParams
from tui.ui.text import INFINITY, plural, safe_cells, spark
from tui.ui.widgets.table import FixedTable


def lab_table(table_id: str, columns: Sequence[tuple[str, int]]) -> FixedTable:
    table = FixedTable(id=table_id, cursor_type="row", zebra_stripes=True)
    for label, width in columns:
        table.add_column(label, key=label, width=width)
    return table


def fill(table: DataTable[str], rows: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Replace every row (keyed, so tests and the cursor find a host or VM by name)."""
    table.clear()
    for key, row in rows:
        table.add_row(*safe_cells(row), key=key)  # VM and host names from outside: no markup


def pct(share: float) -> str:
    return f"{share:.0%}"


class LabView(Vertical):
    """A view with a summary line on top; subclasses add their tables. Each view runs its own jobs
    (`run`) and posts their results up to the pane.

    `generation` is the lab's counter for that kind of result when the job started: a job that was
    overtaken by a newer one (a keystroke later) still finishes in its thread, and its result is dropped.
    """

    KIND = ""

    @dataclass
    class Computed(Message):
        """A lab result (kind: response, curve, replay-run, replay, ab, drain, rebalance, consolidate)."""

        kind: str
        generation: int
        result: Any

    @dataclass
    class Failed(Message):
        """A lab job could not run (bad input found in the thread: a file, an unknown host)."""

        kind: str
        generation: int
        error: str

    def run(self, kind: str, generation: int, work: Callable[[], Any]) -> None:
        """`work` in a thread worker of this view (a newer job of the kind supersedes it); its result
        or why it failed is posted up."""

        def job() -> None:
            try:
                self.post_message(self.Computed(kind, generation, work()))
            except (ValueError, FleetError, OSError) as exc:  # includes ParamError, ScenarioFileError
                self.post_message(self.Failed(kind, generation, str(exc)))

        self.run_worker(job, thread=True, exclusive=True, group=f"lab-{kind}", exit_on_error=False)

    def __init__(self) -> None:
        super().__init__(id=f"lab-{self.KIND}", classes="lab-view")

    def compose(self) -> ComposeResult:
        yield Static("", id=f"{self.KIND}-summary", classes="lab-summary", markup=False)
        yield from self.compose_tables()

    def compose_tables(self) -> ComposeResult:
        return iter(())

    def say(self, text: str) -> None:
        self.query_one(f"#{self.KIND}-summary", Static).update(text)

    def summary_text(self) -> str:
        return str(self.query_one(f"#{self.KIND}-summary", Static).render())


# --- load response ---------------------------------------------------------------------------------------
class ResponseView(LabView):
    KIND = "response"

    def compose_tables(self) -> ComposeResult:
        yield lab_table(
            "response-table",
            [
                ("Host", 14),
                ("State", 9),
                ("1 VM", 9),
                ("Cost as VMs are added", 18),
                ("∞ at", 5),
                ("Fits", 5),
                ("Stopped by", 48),
            ],
        )

    def show(self, response: LoadResponse, edits: int) -> None:
        r = response.request
        more = "+" if response.fleet_capped else ""
        shape = f"{r.vcpus} vCPU, {format_size(r.memory)}" + "".join(f", {n}× {k}" for k, n in r.devices)
        edited = f" (curve lab: {plural(edits, 'edit')} applied)" if edits else ""
        nxt = " ".join(
            f"{p.step}→{p.host}" if p.host else f"{p.step}→REJECTED ({p.reason})" for p in response.next
        )
        self.say(
            f"{shape}{edited}: the fleet takes {response.fleet_fits}{more} more; "
            f"next {len(response.next)}: {nxt or 'none'}\n"
            f"Sparkline: cost after 1..{response.steps} identical VMs; {INFINITY} = refused from that step on"
        )
        rows = []
        for h in response.hosts:
            rows.append(
                (
                    h.host,
                    (
                        h.host,
                        h.state.label,
                        format_cost(h.costs[0]),
                        spark(h.costs),
                        str(h.infinite_at) if h.infinite_at else "-",
                        f"{h.fits}{'+' if h.capped else ''}",
                        h.stop or "",
                    ),
                )
            )
        fill(self.query_one("#response-table", DataTable), rows)


# --- replays and A/B ------------------------------------------------------------------------------------
POLICY_COLUMNS = [
    ("Policy", 10),
    ("Placed", 7),
    ("Rejected", 8),
    ("vCPU", 5),
    ("Memory", 6),
    ("In use", 6),
    ("Peak", 5),
    ("Touched", 7),
    ("Seconds", 7),
]


class ReplayView(LabView):
    KIND = "replay"

    @work(thread=True, exclusive=True, group="lab-replay", exit_on_error=False)
    def replay(self, generation: int, inputs: LabInputs, params: WorkloadParams) -> None:
        """Each policy's run is posted as it finishes (`replay-run`), then all of them (`replay`)."""
        try:
            runs = []
            for run in compute.replay_runs(inputs, params):
                runs.append(run)
                self.post_message(self.Computed("replay-run", generation, run))
            self.post_message(self.Computed("replay", generation, (runs, params)))
        except (ValueError, FleetError, OSError) as exc:
            self.post_message(self.Failed("replay", generation, str(exc)))

    def compose_tables(self) -> ComposeResult:
        yield lab_table("replay-policies", POLICY_COLUMNS)
        yield lab_table("replay-hosts", [("Host", 16), ("Profile", 16)])

    def start(self, policies: Sequence[str]) -> None:
        hosts = self.query_one("#replay-hosts", DataTable)
        hosts.clear(columns=True)
        hosts.add_column("Host", key="Host", width=16)
        hosts.add_column("Profile", key="Profile", width=16)
        for p in policies:
            hosts.add_column(f"{p} vCPU/mem", key=p, width=15)
        self.query_one("#replay-policies", DataTable).clear()
        self._runs: list[PolicyRun] = []

    def add_run(self, run: PolicyRun) -> None:
        """One policy finished: its row now, the per-host table once all are in."""
        self._runs.append(run)
        r = run.result
        u = r.utilisation
        self.query_one("#replay-policies", DataTable).add_row(
            run.policy,
            str(r.placed),
            str(r.rejected),
            pct(u["vcpus"]["share"]),
            pct(u["memory"]["share"]),
            str(run.hosts_in_use),
            str(run.peak_hosts_in_use),
            str(run.hosts_touched),
            f"{r.elapsed_s:.3f}",
            key=run.policy,
        )

    def finish(self) -> None:
        runs = self._runs
        if not runs:
            return
        table = self.query_one("#replay-hosts", DataTable)
        rows = []
        for index, host in enumerate(runs[0].hosts):
            cells = [host.host, host.profile]
            for run in runs:
                h = run.hosts[index]
                cells.append(f"{h.vms}: {pct(h.vcpu_share)}/{pct(h.memory_share)}")
            rows.append((host.host, tuple(cells)))
        fill(table, rows)


class AbView(LabView):
    KIND = "ab"

    def compose_tables(self) -> ComposeResult:
        yield lab_table(
            "ab-diffs", [("VM", 12), ("Host A", 14), ("Cost A", 9), ("Host B", 14), ("Cost B", 9)]
        )
        yield lab_table(
            "ab-hosts",
            [("Host", 14), ("A VMs", 6), ("A vCPU/mem", 11), ("B VMs", 6), ("B vCPU/mem", 11), ("Change", 8)],
        )

    def show(self, result: AbResult, edits: Sequence[Edit]) -> None:
        c = result.comparison
        a, b = c.a, c.b
        self.say(
            f"{len(c.differences)} of {len(a.placements)} decisions differ · "
            f"A (current config): {a.placed} placed, {a.rejected} rejected, memory {pct(a.utilisation['memory']['share'])} · "
            f"B ({plural(len(edits), 'edit')}: {' '.join(e.to_text() for e in edits)}): {b.placed} placed, {b.rejected} rejected, "
            f"memory {pct(b.utilisation['memory']['share'])}"
        )
        fill(
            self.query_one("#ab-diffs", DataTable),
            (
                (
                    d.id,
                    (
                        d.id,
                        d.a.host or "rejected",
                        format_cost(d.a.cost),
                        d.b.host or "rejected",
                        format_cost(d.b.cost),
                    ),
                )
                for d in c.differences
            ),
        )
        rows = []
        for ha, hb in zip(result.hosts_a, result.hosts_b, strict=True):
            change = (
                "="
                if ha.vms == hb.vms
                else (f"+{hb.vms - ha.vms}" if hb.vms > ha.vms else str(hb.vms - ha.vms))
            )
            rows.append(
                (
                    ha.host,
                    (
                        ha.host,
                        str(ha.vms),
                        f"{pct(ha.vcpu_share)}/{pct(ha.memory_share)}",
                        str(hb.vms),
                        f"{pct(hb.vcpu_share)}/{pct(hb.memory_share)}",
                        change,
                    ),
                )
            )
        fill(self.query_one("#ab-hosts", DataTable), rows)


# --- plans -------------------------------------------------------------------------------------------------
class PlanView(LabView):
    KIND = "plan"

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
        head = {
            "drain": "Drain preview",
            "rebalance": "Rebalance plan",
            "consolidate": "Consolidation plan",
        }[plan.kind]
        over = f", overloaded {b.infinite} → {a.infinite}" if b.infinite or a.infinite else ""
        emptied = f" · emptied: {', '.join(plan.emptied)}" if plan.emptied else ""
        apply = "m: apply (asks to confirm)" if can_apply is None else f"cannot apply: {can_apply}"
        self.say(
            f"{head} on the {source}: {len(plan.moves)} move(s); fleet cost {format_cost(b.total)} → "
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
