"""The load response view: each host's cost as identical VMs are added (a sparkline, ∞ where it
refuses), how many more the fleet takes, and where the next ones would go."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from tui.console.lab import compute
from tui.console.lab.base import LabView, fill, lab_table
from tui.console.lab.compute import LabInputs
from tui.console.lab.params import ResponseParams
from tui.console.text import plural
from tui.core.costs import format_cost
from tui.core.sparkline import INFINITY, spark
from tui.core.units import format_size
from tui.core.whatif import LoadResponse


class ResponseView(LabView):
    KIND = "response"
    PLACEHOLDER = "steps=16 next=10 (enter: recompute)"

    @dataclass
    class Computed(Message):
        generation: int
        response: LoadResponse

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

    def compute_now(self) -> None:
        params = ResponseParams.parse(self.params)
        self.say("Computing the load response …")
        self.run_job(self.next_generation(), self.inputs(), params)

    @work(thread=True, exclusive=True, group="lab-response", exit_on_error=False)
    def run_job(self, generation: int, inputs: LabInputs, params: ResponseParams) -> None:
        with self.failures(generation):
            self.post_message(self.Computed(generation, compute.response(inputs, params)))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if self.is_current(message.generation):
            self.show(message.response, len(self.lab_state.edits))
            self.shown_result("response", message.response.to_json())

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
