"""The curve lab's view: every cost-function parameter (now and edited), the engine's costs and
ranking for the request under the edits, the edited term's curve before and after, the diagnostics
(the edit's, then the HOCON loader's) and the edited HOCON.

It draws what the pane hands it; the curve lab's jobs are in tui/ui/lab/compute.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.core.costs import CostFunction, format_cost
from tui.core.curves import Curve
from tui.core.diagnostics import Diagnostic
from tui.core.model import VmConfig
from tui.core.units import format_size
from tui.core.whatif import Rerank
from tui.core.whatif.edits import RESOURCE_TERMS
from tui.services.scenarios import attempt_write, write_text
from tui.ui.lab import compute
from tui.ui.lab.compute import CurveOutcome
from tui.ui.lab.messages import LabFileWritten
from tui.ui.lab.views import LabView, fill, lab_table
from tui.ui.text import BLOCKS, INFINITY, plural
from tui.ui.widgets.curveplot import input_range


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
    """Also runs the HOCON loader's check of the edited text (its own thread job)."""

    @dataclass
    class HoconChecked(Message):
        """The loader's diagnostics for the curve lab's HOCON text (file/line/message)."""

        generation: int
        diagnostics: list[Diagnostic]

    @work(thread=True, exclusive=True, group="lab-hocon", exit_on_error=False)
    def check_hocon(self, generation: int, text: str) -> None:
        self.post_message(self.HoconChecked(generation, compute.check_hocon(text)))

    @work(thread=True, exclusive=True, group="lab-write-HOCON", exit_on_error=False)
    def save_hocon(self, path: str, text: str) -> None:
        """The edited HOCON to the admin's file (atomic), off the UI loop."""
        self.post_message(LabFileWritten("HOCON", *attempt_write(path, lambda p: [write_text(p, text)])))

    def show_outcome(self, config: VmConfig, outcome: CurveOutcome, width: int) -> None:
        """A curve-lab result: costs and ranking (or why not), the HOCON, the curve, the diagnostics."""
        if outcome.result.ok:
            self.show_rerank(outcome.rerank)
        else:
            self.hide_costs("the edited config is refused (see the diagnostics below)")
        self.show_hocon(outcome.hocon)
        self.show_curve(edited_curve_lines(config, outcome, width))
        refusals = refusal_lines(outcome)
        if outcome.export_error:
            refusals.append(f"ERROR cannot write HOCON: {outcome.export_error}")
        self.show_diagnostics(refusals, None if outcome.hocon else [])

    def show_loader(self, outcome: CurveOutcome, loader: list[Diagnostic]) -> None:
        """The HOCON loader's verdict under the edit's own diagnostics; a load error hides the costs."""
        self.show_diagnostics(refusal_lines(outcome), loader)
        if any(d.severity.value == "error" for d in loader):
            self.hide_costs("the edited HOCON does not load (see the loader's diagnostics below)")

    def toggle_hocon(self) -> None:
        box = self.query_one("#curve-hocon-box")
        box.display = not box.display

    KIND = "curve"

    def compose_tables(self) -> ComposeResult:
        yield Static("", id="curve-plot", markup=False)
        yield Static("", id="curve-diag", markup=False)
        with Horizontal(id="curve-body"):
            yield lab_table("curve-params", [("Parameter", 24), ("Now", 9), ("Edited", 9)])
            with Vertical(id="curve-right"):
                yield lab_table(
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


def refusal_lines(outcome: CurveOutcome) -> list[str]:
    """The edited config's diagnostics, one line each (severity, key path, message)."""
    return [f"{d.severity.value.upper()} {d.path}: {d.message}" for d in outcome.result.diagnostics()]


def edited_curve_lines(config: VmConfig, outcome: CurveOutcome, width: int) -> list[str]:
    """The curve of the term being edited (the last edit), before and after."""
    edit = outcome.edits[-1] if outcome.edits else None
    edited = outcome.result.config
    cid = edit.cost_function if edit else next(iter(config.cost_functions), "")
    term = edit.term if edit and edit.term else "vcpus"
    if term not in RESOURCE_TERMS and not term.startswith("devices."):
        term = "vcpus"
    before = term_curve(config.cost_functions.get(cid), term)
    after = term_curve(edited.cost_functions.get(cid), term)
    head = f"{cid}.{term}" + (
        f"  (edit: {edit.to_text()})" if edit else "  (no edit yet: enter on a parameter)"
    )
    return [head, *curve_lines(before, after, capacity_of(config, cid, term), term == "memory", width)]
