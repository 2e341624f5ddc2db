"""The curve lab's view: edit a cost-function parameter and see, as you type, every parameter (now
and edited), the engine's costs and ranking for the request under the edits, the edited term's curve
before and after, the diagnostics (the edit's, then the HOCON loader's) and the edited HOCON.

The view owns the edit being typed, its jobs (the recompute, the loader's check of the HOCON, saving
the HOCON to a file) and the last outcome; the kept edits are the lab's shared state (the pane's).
The text it draws is tui/console/lab/curvetext.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import DataTable, Static

from tui.console.fleetview import FleetView
from tui.console.lab import compute
from tui.console.lab.base import LabView, fill, lab_table
from tui.console.lab.compute import CurveOutcome, LabInputs
from tui.console.lab.curvetext import edited_curve_lines, parameter_rows, rank_text, refusal_lines
from tui.console.lab.state import LabState
from tui.console.session import Session
from tui.console.text import plural
from tui.console.widgets.prompt import PromptScreen
from tui.core.costs import format_cost
from tui.core.diagnostics import Diagnostic
from tui.core.model import VmConfig
from tui.core.whatif import CurveLab, Edit, EditError, Rerank
from tui.services.scenarios import attempt_write, write_text

HOCON_PAUSE_S = 0.15  # the loader checks the HOCON once typing pauses this long


class CurveLabView(LabView):
    KIND = "curve"
    PLACEHOLDER = "COST_FUNCTION.TERM.PARAM=VALUE, e.g. pool1.vcpus.soft=10 (as you type; enter: keep)"

    @dataclass
    class Computed(Message):
        generation: int
        outcome: CurveOutcome

    @dataclass
    class HoconChecked(Message):
        """The loader's diagnostics for the curve lab's HOCON text (file/line/message)."""

        generation: int
        diagnostics: list[Diagnostic]

    @dataclass
    class ParamChosen(Message):
        """enter on a parameter: its `key=value`, for the edit line (the pane's)."""

        text: str

    def __init__(self, fleet: FleetView, session: Session) -> None:
        super().__init__(fleet, session)
        self.pending: Edit | None = None  # the edit being typed
        self.outcome: CurveOutcome | None = None  # the last outcome shown
        self.base: CurveLab | None = None  # base costs, reused while the fleet and request stay
        self._refused: str | None = None  # why the edit being typed does not read, if it does not
        self._hocon_timer: Timer | None = None
        self._hocon_generation = 0

    def suggester(self) -> SuggestFromList:
        """Completion of every parameter's edit key for the edit line."""
        config = self.fleet.config
        return SuggestFromList(
            [f"{k}=" for k, _now, _new in parameter_rows(config, config)], case_sensitive=False
        )

    def watch_lab_state(self, old: LabState, new: LabState) -> None:
        if old.request != new.request or old.model is not new.model:
            self.base = None  # other loads or another request: the base costs are recomputed
        if new.scenario is not old.scenario and new.scenario is not None:
            self.pending = None

    def fleet_moved(self) -> None:
        if self.lab_state.scenario is None:
            self.base = None  # new loads: the base costs are recomputed on the next change

    # --- the edit line -----------------------------------------------------------------------------------
    def params_text(self) -> str:
        return self.pending.to_text() if self.pending is not None else ""

    def typed(self, text: str) -> None:
        text = text.strip()
        try:
            self.pending = Edit.parse(text) if text else None
        except EditError as exc:
            # The edit as typed is refused (units and messages as `validate`'s): nothing of it is
            # applied, and no costs are shown for it — not even those of a shorter prefix typed before.
            self.pending = None
            self._refused = f"edit: {exc.message}"
            self.refuse(exc.message)
            return
        self._refused = None
        self.recompute()

    def submitted(self, text: str) -> LabState | None:
        """enter: the edit is kept (the new shared state, returned at once so that a key typed after
        enter in the same burst already sees it), or refused and nothing changes."""
        try:
            edit = Edit.parse(text.strip()) if text.strip() else None
        except EditError as exc:
            self.notify(f"edit: {exc.message}", title="Edit not kept", severity="error")
            self.refuse(exc.message)
            return None
        self._refused, self.pending = None, None
        return self.lab_state.with_edit(edit) if edit is not None else self.lab_state

    def refuse(self, message: str) -> None:
        self.show_diagnostics([f"ERROR edit: {message}"], [])
        self.hide_costs(f"the edit does not read ({message})")

    @on(DataTable.RowSelected, "#curve-params")
    def _param_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        chosen = self.selected_param()
        if chosen is not None:
            self.post_message(self.ParamChosen(f"{chosen[0]}={chosen[1]}"))

    # --- the recompute ------------------------------------------------------------------------------------
    def compute_now(self) -> None:
        pending = self.pending
        edits = [e for e in self.lab_state.edits if pending is None or e.key != pending.key]
        if pending is not None:
            edits.append(pending)
        self.run_job(self.next_generation(), self.inputs(), self.base, edits)

    @work(thread=True, exclusive=True, group="lab-curve", exit_on_error=False)
    def run_job(self, generation: int, inputs: LabInputs, base: CurveLab | None, edits: list[Edit]) -> None:
        with self.failures(generation):
            self.post_message(self.Computed(generation, compute.curve(inputs, base, edits)))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if not self.is_current(message.generation):
            return  # overtaken by a newer job
        outcome = message.outcome
        self.outcome, self.base = outcome, outcome.lab
        config = self.fleet.config
        self.show_params(config, outcome.result.config)
        if self._refused is not None:
            return  # typed on since this job started: the refusal stands
        self.show_outcome(config, outcome, max(16, min(120, self.screen.size.width - 40)))
        data = outcome.result.to_json()
        data["rerank"], data["hocon"] = outcome.rerank.to_json(), outcome.hocon
        self.shown_result("curve", data)
        if self._hocon_timer is not None:
            self._hocon_timer.stop()
        if outcome.hocon:
            # The loader (pyhocon, tens of ms of CPU) runs once typing pauses, not on every keystroke:
            # on a shared 2-core machine it would otherwise slow the recompute the admin is waiting for.
            hocon = outcome.hocon
            self._hocon_timer = self.set_timer(HOCON_PAUSE_S, lambda: self._check_soon(hocon))

    def _check_soon(self, text: str) -> None:
        self._hocon_generation += 1
        self.check_hocon(self._hocon_generation, text)

    @work(thread=True, exclusive=True, group="lab-hocon", exit_on_error=False)
    def check_hocon(self, generation: int, text: str) -> None:
        self.post_message(self.HoconChecked(generation, compute.check_hocon(text)))

    @on(HoconChecked)
    def _hocon_checked(self, message: HoconChecked) -> None:
        message.stop()
        if message.generation == self._hocon_generation and self.outcome is not None:
            self.show_loader(self.outcome, message.diagnostics)

    # --- the keys of the curve lab ----------------------------------------------------------------------
    def toggle_hocon(self) -> None:
        box = self.query_one("#curve-hocon-box")
        box.display = not box.display

    def ask_save_hocon(self) -> None:
        hocon = self.outcome.hocon if self.outcome is not None else ""
        if not hocon:
            self.notify("no edited cost function to save yet (e: curve lab)", severity="warning")
            return

        def save_to(path: str | None) -> None:
            if path:
                self.save_hocon(path, hocon)

        self.app.push_screen(
            PromptScreen("save HOCON to ", hint="a path, e.g. /tmp/cost-functions.conf"), save_to
        )

    @work(thread=True, exclusive=True, group="lab-write-HOCON", exit_on_error=False)
    def save_hocon(self, path: str, text: str) -> None:
        """The edited HOCON to the admin's file (atomic), off the UI loop."""
        self.post_message(self.FileWritten("HOCON", *attempt_write(path, lambda p: [write_text(p, text)])))

    # --- drawing ------------------------------------------------------------------------------------------
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
