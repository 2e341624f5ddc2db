"""The curves pane: every cost function's curves, drawn over a range up to and past capacity.

Each term (vms, vcpus, memory, devices.*) is one `CurvePlot`: the curve as a sparkline with ∞ drawn
where it refuses, the soft knee (^), the point where the cost turns infinite (×), the profile's
capacity (|) and every host's current input on that term (▲). The `/` filter keeps cost functions
whose id, name, profiles or hosts match.

Every host's inputs are kept per cost function and term (`_inputs`), with the hosts refusing now
(`_refusing`): a poll batch updates only the hosts that changed, and a plot is drawn again only
when its spec changed, never a walk over every host (10,000 of them) per batch or pane switch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.console.fleetview import FleetView
from tui.console.panes.base import Pane
from tui.console.text import TextFilter
from tui.console.widgets.curveplot import CurvePlot, CurveSpec, input_range
from tui.core.costs import CostFunction, format_cost
from tui.core.curves import Curve


class CurvesPane(Pane):
    PANE = "curves"
    TITLE_TEXT = "Curves"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cf_of: dict[str, str] = {}  # profile -> its cost function
        self._inputs: dict[str, dict[str, dict[str, float]]] = {}  # cf -> term -> host -> input
        self._host_cf: dict[str, str] = {}  # host -> the cost function whose plots show it
        self._refusing: set[str] = set()  # hosts whose cost is infinite now (the header)
        self._indexed = False

    def compose_body(self) -> ComposeResult:
        yield VerticalScroll(id="curves-body")

    def build(self) -> None:
        self._index_hosts(self.view)
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

    # --- every host's inputs, kept host by host ------------------------------------------------------
    def _index_hosts(self, view: FleetView) -> None:
        """Every host's inputs from scratch (the first draw, a refresh of everything)."""
        config = view.config
        self._cf_of = {p.id: p.cost_function for p in config.hardware_profiles.values()}
        self._inputs = {cf: {} for cf in config.cost_functions}
        self._host_cf, self._refusing = {}, set()
        self._index(view.records)
        self._indexed = True

    def _index(self, names: Iterable[str]) -> set[str]:
        """Bring these hosts' inputs up to date; returns the cost functions whose plots changed."""
        view, touched = self.view, set()
        for name in names:
            old = self._host_cf.pop(name, None)
            if old is not None:
                touched.add(old)
                for inputs in self._inputs[old].values():
                    inputs.pop(name, None)
            self._refusing.discard(name)
            record = view.records.get(name)
            if record is None:
                continue  # removed from the store
            breakdown = view.breakdown(name)
            if breakdown is not None and math.isinf(breakdown.total):
                self._refusing.add(name)
            cf = self._cf_of.get(record.profile)
            if cf is None or cf not in self._inputs:
                continue
            self._host_cf[name] = cf
            touched.add(cf)
            terms = self._inputs[cf]
            for term in breakdown.terms if breakdown is not None else ():
                terms.setdefault(term.name, {})[name] = term.input
        return touched

    def specs(self, cf: CostFunction) -> dict[str, CurveSpec]:
        """One spec per term; capacity is the largest among the profiles using this cost function."""
        profiles = self.view.config.profiles_using(cf.id)
        cores = max((p.cores for p in profiles), default=0)
        memory = max((p.memory for p in profiles), default=0)
        inputs = self._inputs.get(cf.id, {})
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
                tuple(inputs.get(key, {}).items()),
            )
        return specs

    # --- drawing -------------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        self._index_hosts(self.view)
        self._draw(self.view.config.cost_functions)

    def update_rows(self, names: list[str]) -> None:
        touched = self._index(names)
        self._draw([cf for cf in self.view.config.cost_functions if cf in touched])

    def set_filter(self, text: str) -> None:
        self.filter = TextFilter(text)
        if self.is_mounted:
            self._draw(self.view.config.cost_functions)  # the inputs are the same: only what shows
        self.update_header()

    def _draw(self, cf_ids: Iterable[str]) -> None:
        functions = self.view.config.cost_functions
        for cf_id in cf_ids:
            cf = functions[cf_id]
            visible = self._matches(cf)
            self.query_one(f"#cf-{cf_id}", Static).display = visible
            for term, spec in self.specs(cf).items():
                plot = self.query_one(f"#{_plot_id(cf_id, term)}", CurvePlot)
                plot.display = visible
                plot.set_spec(spec)

    def _matches(self, cf: CostFunction) -> bool:
        if not self.filter.text:
            return True  # an empty filter keeps everything: no walk over the hosts
        profiles = [p.id for p in self.view.config.profiles_using(cf.id)]
        hosts = [n for n, r in self.view.records.items() if r.profile in profiles]
        return self.filter.matches([cf.id, cf.name, *profiles, *hosts])

    def header_text(self) -> str:
        cfs = self.view.config.cost_functions
        refusing = len(self._refusing) if self._indexed else self._count_refusing()
        return f"{len(cfs)} cost functions · {refusing} hosts at ∞ now"

    def _count_refusing(self) -> int:
        return sum(1 for n in self.view.records if _infinite(self.view.breakdown(n)))


def _plot_id(cf_id: str, term: str) -> str:
    return "plot-" + f"{cf_id}-{term}".replace(".", "_")


def _infinite(breakdown: object) -> bool:
    total = getattr(breakdown, "total", None)
    return total is not None and math.isinf(total)
