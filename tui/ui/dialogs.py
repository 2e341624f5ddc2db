"""Screens pushed over a pane: the host state change (reason, then confirm), help, host details."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static

from tui.core.fleet import HostState
from tui.core.live import DomainFacts
from tui.core.scheduling.explain import term_reason
from tui.core.units import format_size
from tui.ui.fleetview import FleetView
from tui.ui.keymap import BUILTIN_KEYS
from tui.ui.text import fmt_cost, fmt_gib

SHOWN_VMS = 8

EFFECTS = {
    HostState.ENABLED: "vmdeck connects to the host and new VMs may be placed on it.",
    HostState.NO_SCHEDULING: "No new VMs are placed here; its VMs keep running and stay manageable.",
    HostState.DISABLED: "vmdeck disconnects: its VMs keep running but are no longer watched or managed.",
}


class StateChangeScreen(ModalScreen[str | None]):
    """Ask why, then confirm; returns the reason when confirmed, None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="state.cancel"),
        Binding("y", "confirm", "Confirm", id="state.confirm", show=False),
        Binding("n", "cancel", "No", id="state.no", show=False),
    ]

    def __init__(self, host: str, current: HostState, target: HostState, vms: Sequence[DomainFacts]) -> None:
        super().__init__()
        self.host, self.current, self.target = host, current, target
        self.vms = list(vms)
        self.reason: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="state-dialog"):
            yield Static(
                f"Set {self.host}: {self.current.label} → {self.target.label}", id="state-title", markup=False
            )
            yield Static(EFFECTS[self.target], id="state-effect", markup=False)
            yield Static(self._vm_lines(), id="state-vms", markup=False)
            yield Input(placeholder="reason (required, written to the audit log)", id="state-reason")
            yield Static("enter: continue · esc: cancel", id="state-status", markup=False)

    def _vm_lines(self) -> str:
        if not self.vms:
            return "VMs affected: none (no VM holds resources on this host)"
        lines = [f"VMs affected: {len(self.vms)}"]
        for dom in self.vms[:SHOWN_VMS]:
            lines.append(f"  {dom.name}  {dom.state.value}  {dom.vcpus} vCPU  {fmt_gib(dom.memory)} GiB")
        if len(self.vms) > SHOWN_VMS:
            lines.append(f"  … and {len(self.vms) - SHOWN_VMS} more")
        return "\n".join(lines)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        status = self.query_one("#state-status", Static)
        if not event.value.strip():
            status.update("A reason is required (it goes to the audit log). esc: cancel")
            return
        self.reason = event.value.strip()
        event.input.disabled = True
        self.set_focus(None)
        status.update(
            f"Confirm: set {self.host} to {self.target.label} because “{self.reason}”? y: yes · n/esc: no"
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # y/n only answer the confirmation; before that they are letters typed into the reason.
        if action == "confirm":
            return self.reason is not None
        return True

    def action_confirm(self) -> None:
        self.dismiss(self.reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key of the current pane and of the app, with what it does."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", id="help.close2", show=False),
    ]

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = Text()
        for title, keys in [*self.sections, ("Textual", BUILTIN_KEYS)]:
            text.append(f"{title}\n", style="bold")
            for key, description in keys:
                text.append(f"  {key:<14} {description}\n")
            text.append("\n")
        text.append("Commands (:)  hosts profiles curves vms sim help quit\n")
        text.append("Filter (/)    plain text matches as a substring; text with regex syntax as a regex\n")
        text.append("esc closes this help.")
        with VerticalScroll(id="help-body"):
            yield Static(text, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)


class HostDetailScreen(Screen[None]):
    """One host: its record, allocation against its profile, and the cost breakdown per term."""

    BINDINGS = [Binding("escape", "close", "Back", id="detail.back")]

    def __init__(self, view: FleetView, host: str) -> None:
        super().__init__()
        self.view, self.host = view, host

    def compose(self) -> ComposeResult:
        yield Static(self._summary(), id="detail-summary", markup=False)
        table: DataTable[str] = DataTable(id="detail-terms", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(self._vms(), id="detail-vms", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#detail-terms", DataTable)
        table.add_columns("Term", "Input", "Curve", "Value", "Why")
        breakdown = self.view.breakdown(self.host)
        if breakdown is None:
            table.add_row("-", "-", "-", "-", "unknown profile: no cost function")
            return
        for term in breakdown.terms:
            shown = format_size(term.input) if term.name == "memory" else f"{term.input:g}"
            curve = (
                term.curve.kind if term.curve is not None else ("unavailable" if term.implicit else "none")
            )
            why = term_reason(term) if term.infinite else ""
            table.add_row(term.name, shown, curve, fmt_cost(term.value), why)
        table.add_row("× scale", "", "", fmt_cost(breakdown.scale), "")
        table.add_row("+ offset", "", "", fmt_cost(breakdown.offset), "")
        table.add_row(
            "= total",
            "",
            "",
            fmt_cost(breakdown.total),
            "infinite: nothing more fits" if not breakdown.feasible else "",
        )

    def _summary(self) -> str:
        record = self.view.records[self.host]
        snap = self.view.snapshots.get(self.host)
        status = self.view.status(self.host).value
        nat = f"{record.nat.ip} base port {record.nat.base_port}" if record.nat else "none"
        lines = [
            f"Host {record.name} — state {record.state.label}, connection {status}",
            f"URI {record.uri}",
            f"Profile {record.profile} · realm {record.realm} · static address translation: {nat}",
        ]
        if snap is not None and snap.error:
            lines.append(f"Last error: {snap.error}")
        alloc = self.view.allocation(self.host)
        if alloc is not None:
            lines.append(
                f"Allocated: {alloc.vms} VMs, {alloc.vcpus}/{alloc.cores} vCPUs, "
                f"{format_size(alloc.memory)} of {format_size(alloc.memory_capacity)}"
            )
            for reason in alloc.over():
                lines.append(f"Over capacity (!): {reason}")
        lines.append("Cost breakdown (current load):")
        return "\n".join(lines)

    def _vms(self) -> str:
        doms = self.view.domains(self.host)
        if not doms:
            return "No VMs reported."
        shown = ", ".join(f"{d.name} ({d.state.value})" for d in doms[:20])
        more = f" … +{len(doms) - 20}" if len(doms) > 20 else ""
        return f"VMs: {shown}{more}"

    def action_close(self) -> None:
        self.dismiss(None)
