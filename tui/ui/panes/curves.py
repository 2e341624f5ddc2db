"""The curves pane: every cost function's curves, drawn over a range up to and past capacity.

Each term (vms, vcpus, memory, devices.*) is one `CurvePlot`: the curve as a sparkline with ∞ drawn
where it refuses, the soft knee (^), the point where the cost turns infinite (×), the profile's
capacity (|) and every host's current input on that term (▲). The `/` filter keeps cost functions
whose id, name, profiles or hosts match.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.core.costs import CostFunction, format_cost
from tui.core.curves import Curve
from tui.ui.panes.base import Pane
from tui.ui.widgets.curveplot import CurvePlot, CurveSpec, input_range


class CurvesPane(Pane):
    PANE = "curves"
    TITLE_TEXT = "Curves"

    def compose_body(self) -> ComposeResult:
        yield VerticalScroll(id="curves-body")

    def build(self) -> None:
        body = self.query_one("#curves-body", VerticalScroll)
        for cf_id, cf in sorted(self.view.config.cost_functions.items()):
            body.mount(Static(self._title(cf), classes="curve-title", id=f"cf-{cf_id}", markup=False))
            for term, spec in self.specs(cf).items():
                body.mount(CurvePlot(spec, id=_plot_id(cf_id, term)))

    def _title(self, cf: CostFunction) -> str:
        profiles = [p.id for p in self.view.config.profiles_using(cf.id)] or ["no profile"]
        return (
            f"{cf.id} — {cf.name} · profiles: {', '.join(profiles)} · total = {format_cost(cf.scale)} × Σ terms"
            f" + {format_cost(cf.offset)}"
        )

    def specs(self, cf: CostFunction) -> dict[str, CurveSpec]:
        """One spec per term; capacity is the largest among the profiles using this cost function."""
        profiles = self.view.config.profiles_using(cf.id)
        cores = max((p.cores for p in profiles), default=0)
        memory = max((p.memory for p in profiles), default=0)
        inputs: dict[str, list[tuple[str, float]]] = {}
        profile_ids = {p.id for p in profiles}
        for name, record in self.view.records.items():
            if record.profile not in profile_ids:
                continue
            breakdown = self.view.breakdown(name)
            for term in breakdown.terms if breakdown is not None else ():
                inputs.setdefault(term.name, []).append((name, term.input))
        terms: dict[str, tuple[Curve | None, float]] = {
            "vms": (cf.vms, float(cores)),
            "vcpus": (cf.vcpus, float(cores)),
            "memory": (cf.memory, float(memory)),
        }
        for kind, curve in cf.devices.items():
            count = max((p.device_counts().get(kind, 0) for p in profiles), default=0)
            terms[f"devices.{kind}"] = (curve, float(count))
        specs = {}
        for key, (term_curve, capacity) in terms.items():
            specs[key] = CurveSpec(
                key,
                term_curve,
                input_range(term_curve, capacity),
                capacity,
                tuple(inputs.get(key, ())),
            )
        return specs

    def refresh_all(self) -> None:
        for cf_id, cf in self.view.config.cost_functions.items():
            visible = self._matches(cf)
            self.query_one(f"#cf-{cf_id}", Static).display = visible
            for term, spec in self.specs(cf).items():
                plot = self.query_one(f"#{_plot_id(cf_id, term)}", CurvePlot)
                plot.display = visible
                plot.set_spec(spec)

    def _matches(self, cf: CostFunction) -> bool:
        profiles = [p.id for p in self.view.config.profiles_using(cf.id)]
        hosts = [n for n, r in self.view.records.items() if r.profile in profiles]
        return self.filter.matches([cf.id, cf.name, *profiles, *hosts])

    def header_text(self) -> str:
        cfs = self.view.config.cost_functions
        refusing = sum(1 for n in self.view.records if _infinite(self.view.breakdown(n)))
        return f"{len(cfs)} cost functions · {refusing} hosts at ∞ now"


def _plot_id(cf_id: str, term: str) -> str:
    return "plot-" + f"{cf_id}-{term}".replace(".", "_")


def _infinite(breakdown: object) -> bool:
    total = getattr(breakdown, "total", None)
    return total is not None and math.isinf(total)
