"""The lab's views inside the Simulation pane: each renders one kind of result as text and tables.

Views only draw what the pane hands them (attributes down); they compute nothing heavy. Tables have
fixed column widths (FixedTable: no per-cell measuring, so 1,000 rows redraw in milliseconds), and
every meaning is in the characters: ∞ for infinite costs, ▲/▼/= for rank moves, → for the choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from tui.core.costs import CostFunction, format_cost
from tui.core.curves import Curve
from tui.core.diagnostics import Diagnostic
from tui.core.model import VmConfig
from tui.core.units import format_size
from tui.core.whatif import AbResult, Edit, LoadResponse, Plan, PolicyRun, Rerank, Scenario
from tui.ui.text import BLOCKS, INFINITY, plural, safe_cells, spark
from tui.ui.widgets.curveplot import input_range
from tui.ui.widgets.table import FixedTable

CURVE_WIDTH = 40


def _table(table_id: str, columns: Sequence[tuple[str, int]]) -> FixedTable:
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
    """A view with a summary line on top; subclasses add their tables."""

    KIND = ""

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
        yield _table(
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


# --- curve lab ---------------------------------------------------------------------------------------------
def parameter_rows(config: VmConfig, edited: VmConfig) -> list[tuple[str, str, str]]:
    """(edit key, value now, value edited) for every parameter of every cost function."""
    rows: list[tuple[str, str, str]] = []
    for cid, cf in config.cost_functions.items():
        new = edited.cost_functions.get(cid, cf)
        for key, (old_value, new_value) in _cf_params(cf, new).items():
            rows.append((f"{cid}.{key}", old_value, new_value))
    return rows


def _cf_params(cf: CostFunction, new: CostFunction) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    terms = [(t, getattr(cf, t), getattr(new, t)) for t in ("vms", "vcpus", "memory")]
    kinds = sorted(set(cf.devices) | set(new.devices))
    terms += [(f"devices.{k}", cf.devices.get(k), new.devices.get(k)) for k in kinds]
    for term, old, edited in terms:
        out.update(_curve_params(term, old, edited, term == "memory"))
    out["scale"] = (format_cost(cf.scale), format_cost(new.scale))
    out["offset"] = (format_cost(cf.offset), format_cost(new.offset))
    return out


def _curve_params(
    prefix: str, old: Curve | None, new: Curve | None, memory: bool
) -> dict[str, tuple[str, str]]:
    def flat(curve: Curve | None, at: str) -> dict[str, str]:
        if curve is None:
            return {f"{at}.curve": "none"}
        out = {f"{at}.curve": curve.kind}
        for name, value in curve.params().items():
            if name in ("low", "high"):
                out.update(flat(getattr(curve, name), f"{at}.{name}"))
            else:
                out[f"{at}.{name}"] = _value(value, memory and name in ("soft", "hard", "cutoff"))
        out[f"{at}.scale"] = format_cost(curve.scale)
        out[f"{at}.max"] = "none" if curve.max is None else _value(curve.max, memory)
        return out

    before, after = flat(old, prefix), flat(new, prefix)
    return {k: (before.get(k, "-"), after.get(k, "-")) for k in dict.fromkeys([*before, *after])}


def _value(value: float, size: bool) -> str:
    if size and float(value).is_integer() and value > 0:
        return format_size(int(value)).replace(" ", "")
    return format_cost(float(value))


def term_curve(cf: CostFunction | None, term: str) -> Curve | None:
    if cf is None:
        return None
    if term.startswith("devices."):
        return cf.devices.get(term.removeprefix("devices."))
    return getattr(cf, term, None) if term in ("vms", "vcpus", "memory") else None


def capacity_of(config: VmConfig, cid: str, term: str) -> float:
    """The term's capacity on the first profile using this cost function (the curve's natural range)."""
    for profile in config.hardware_profiles.values():
        if profile.cost_function != cid:
            continue
        if term == "vcpus":
            return float(profile.cores)
        if term == "memory":
            return float(profile.memory)
        if term.startswith("devices."):
            kind = term.removeprefix("devices.")
            return float(sum(1 for d in profile.devices if d.type == kind))
        return float(profile.cores)
    return 1.0


def curve_lines(
    before: Curve | None, after: Curve | None, capacity: float, memory: bool, width: int
) -> list[str]:
    """Before and after on one scale over the same inputs, ∞ drawn as ∞, and the range underneath."""
    top = max(input_range(before, capacity), input_range(after, capacity))
    xs = np.linspace(0.0, top, width)
    ys = [c.evaluate(xs) if c is not None else np.zeros(width) for c in (before, after)]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)

    def fmt(x: float) -> str:
        return format_size(x).replace(" ", "") if memory else f"{x:g}"

    def bars(y: np.ndarray[Any, np.dtype[np.float64]]) -> str:
        out = []
        for v in y:
            if math.isinf(v):
                out.append(INFINITY)
            elif high == low:
                out.append(BLOCKS[0])
            else:
                out.append(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / (high - low) * len(BLOCKS)))])
        return "".join(out)

    def limit(c: Curve | None) -> str:
        if c is None:
            return "no curve"
        lim = c.finite_limit()
        return f"{INFINITY} past {fmt(lim)}" if math.isfinite(lim) else f"never {INFINITY}"

    return [
        f"before {bars(ys[0])} {limit(before)}",
        f"after  {bars(ys[1])} {limit(after)}",
        f"       input 0 … {fmt(top)}, cost {format_cost(low)} … {format_cost(high)}",
    ]


def rank_text(old: int | None, new: int | None) -> str:
    mark = "=" if old == new else ("▲" if (new or 10**9) < (old or 10**9) else "▼")
    return f"{old or '-'}→{new or '-'} {mark}"


class CurveLabView(LabView):
    KIND = "curve"

    def compose_tables(self) -> ComposeResult:
        yield Static("", id="curve-plot", markup=False)
        yield Static("", id="curve-diag", markup=False)
        with Horizontal(id="curve-body"):
            yield _table("curve-params", [("Parameter", 24), ("Now", 9), ("Edited", 9)])
            with Vertical(id="curve-right"):
                yield _table(
                    "curve-costs",
                    [
                        ("Host", 14),
                        ("Rank", 11),
                        ("Before", 10),
                        ("After", 10),
                        ("Change", 9),
                        ("Profile", 16),
                    ],
                )
                with VerticalScroll(id="curve-hocon-box"):
                    yield Static("", id="curve-hocon", markup=False)

    def show_params(self, config: VmConfig, edited: VmConfig) -> None:
        table = self.query_one("#curve-params", DataTable)
        selected = table.cursor_row
        fill(
            table,
            (
                (key, (key, now, new if new != now else ""))
                for key, now, new in parameter_rows(config, edited)
            ),
        )
        if table.row_count:
            table.move_cursor(row=min(selected, table.row_count - 1))

    def selected_param(self) -> tuple[str, str] | None:
        table = self.query_one("#curve-params", DataTable)
        if not table.row_count:
            return None
        row = table.get_row_at(table.cursor_row)
        return str(row[0]), str(row[2] or row[1])

    def show_rerank(self, ranked: Rerank) -> None:
        moved = ranked.old_choice != ranked.new_choice
        self.say(
            f"The request goes to {ranked.old_choice or 'nowhere'} now, to {ranked.new_choice or 'nowhere'} "
            f"with the edits{' (CHANGED)' if moved else ''}; {plural(ranked.changed_costs, 'cost')} and "
            f"{plural(ranked.changed_ranks, 'rank')} change · nothing is saved to the live config"
        )
        rows = []
        for h in ranked.hosts:
            delta = h.delta
            change = (
                "-"
                if delta is None and h.old_cost == h.new_cost
                else (format_cost(delta) if delta is not None else ("→∞" if math.isinf(h.new_cost) else "∞→"))
            )
            choice = "→ " if h.new_rank == 1 else ""
            rows.append(
                (
                    h.host,
                    (
                        choice + h.host,
                        rank_text(h.old_rank, h.new_rank),
                        format_cost(h.old_cost),
                        format_cost(h.new_cost),
                        change if delta != 0 else "0",
                        h.profile,
                    ),
                )
            )
        fill(self.query_one("#curve-costs", DataTable), rows)

    def hide_costs(self, why: str) -> None:
        """No costs for a config that does not load: the table is emptied and the summary says why."""
        self.say(f"No costs shown: {why}")
        fill(self.query_one("#curve-costs", DataTable), [])

    def show_curve(self, lines: list[str]) -> None:
        self.query_one("#curve-plot", Static).update("\n".join(lines))

    def show_diagnostics(self, edit_lines: list[str], loader: list[Diagnostic] | None) -> None:
        lines = list(edit_lines)
        if loader is None:
            lines.append("loader: checking …")
        elif not loader:
            lines.append("loader: OK, the HOCON reads back (no diagnostics)")
        else:
            lines += [
                f"loader {d.severity.value.upper()}: {d.file or '<curve lab>'}:{d.line or '?'}: {d.message}"
                for d in loader
            ]
        self.query_one("#curve-diag", Static).update("\n".join(lines))

    def show_hocon(self, text: str) -> None:
        self.query_one("#curve-hocon", Static).update(
            text or "(no edits yet: the HOCON of edited cost functions shows here)"
        )


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

    def compose_tables(self) -> ComposeResult:
        yield _table("replay-policies", POLICY_COLUMNS)
        yield _table("replay-hosts", [("Host", 16), ("Profile", 16)])

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
        yield _table("ab-diffs", [("VM", 12), ("Host A", 14), ("Cost A", 9), ("Host B", 14), ("Cost B", 9)])
        yield _table(
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
        yield _table(
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


# --- scenarios ---------------------------------------------------------------------------------------------
class ScenarioView(LabView):
    KIND = "scenario"

    def compose_tables(self) -> ComposeResult:
        with VerticalScroll(id="scenario-body"):
            yield Static("", id="scenario-text", markup=False)

    def show(self, scenario: Scenario, same_config: bool) -> None:
        self.say(
            f"Scenario {scenario.name} ({scenario.created}) · the lab now uses its edits, workload and fleet · "
            "g: back to the live fleet"
        )
        lines = [
            f"config {scenario.config_hash[:23]}… "
            + ("(the same as the console's)" if same_config else "(DIFFERENT from the console's config)"),
            f"fleet: {scenario.fleet_source or '-'}",
            "edits: " + (" ".join(scenario.edits) or "none"),
            f"workload: {scenario.workload or '-'}",
            "saved results:",
        ]
        for kind, data in sorted(scenario.results.items()):
            lines.append(f"  {kind}: {result_line(kind, data)}")
        self.query_one("#scenario-text", Static).update("\n".join(lines))


def result_line(kind: str, data: Any) -> str:
    """One line per saved result, read from its JSON (what was true when it was saved)."""
    if not isinstance(data, dict):
        return "?"
    if kind == "response":
        return f"the fleet took {data['fleet']['fits']} more; next: {', '.join(str(p['host']) for p in data['next'][:5])}"
    if kind == "curve":
        r = data.get("rerank", {})
        return f"{len(data.get('edits', []))} edit(s); request went {r.get('old_choice')} → {r.get('new_choice')}, {r.get('changed_ranks')} ranks changed"
    if kind == "replay":
        return "; ".join(
            f"{p['policy']} placed {p['placed']} rejected {p['rejected']}" for p in data["policies"]
        )
    if kind == "ab":
        return f"{data['differ']} of {data['decisions']} decisions differed"
    if kind in ("drain", "rebalance", "consolidate"):
        return (
            f"{len(data['moves'])} move(s), fleet cost {data['before']['total']} → {data['after']['total']}"
        )
    return ", ".join(sorted(data))
