"""Screens pushed over a pane: the action dialog (fields, then confirm) and its host-state form, help,
host details."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Input, Static

from tui.console.activity import Running
from tui.console.fleetview import FleetView
from tui.console.hostchecks import detail_lines
from tui.console.keymap import BUILTIN_KEYS, PANES
from tui.console.keyorder import Dialog
from tui.console.text import fmt_gib, plural, spark
from tui.core.costs import format_cost
from tui.core.fleet import HostState
from tui.core.live import DomainFacts
from tui.core.printable import printable
from tui.core.scheduling.explain import term_reason
from tui.core.units import format_size

SHOWN_VMS = 8

EFFECTS = {
    HostState.ENABLED: "vmdeck connects to the host and new VMs may be placed on it.",
    HostState.NO_SCHEDULING: "No new VMs are placed here; its VMs keep running and stay manageable.",
    HostState.DISABLED: "vmdeck disconnects: its VMs keep running but are no longer watched or managed.",
}


@dataclass(frozen=True)
class Ask:
    """One text field of an action dialog; `label` names it on the field's border (a prefilled
    value alone, like `libvirt1`, does not say what it is)."""

    key: str
    placeholder: str
    value: str = ""
    required: bool = True
    suggestions: tuple[str, ...] = ()
    label: str = ""
    # Checked when the admin leaves the field (enter/tab) and again before the question: raises
    # ValueError with what is wrong, so a refusal comes before the reason is asked, not after.
    check: Callable[[dict[str, str]], object] | None = None

    @property
    def title(self) -> str:
        return self.label or self.key


Confirmation = Callable[[dict[str, str]], str]


class ActionScreen(Dialog[dict[str, str] | None]):
    """The one dialog every change goes through: what it does, the fields it needs, then y/n.

    `confirm(values)` returns the confirmation question, or raises ValueError with what is wrong
    (the dialog then stays open on its fields). Returns the values when confirmed, None when cancelled.
    Ids are `{prefix}-dialog`, `{prefix}-title`, `{prefix}-{section}`, `{prefix}-{ask.key}` and
    `{prefix}-status`, so tests and the stylesheet can find each part.
    """

    # Keys are handled in order (tui/console/keyorder.py). enter and tab are priority bindings so they win
    # over the field's own enter (submit) and the screen's tab: each moves on at once.
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="action.cancel", key_display="esc"),
        Binding("enter", "next_field", "Next", id="action.next", show=False, priority=True),
        Binding("tab", "move(1)", "Next field", id="action.tab", show=False, priority=True),
        Binding("shift+tab", "move(-1)", "Previous field", id="action.backtab", show=False, priority=True),
        Binding("y", "confirm", "Confirm", id="action.confirm", show=False),
        Binding("n", "no", "No", id="action.no", show=False),
    ]

    def __init__(
        self,
        title: str,
        sections: Sequence[tuple[str, str]],
        asks: Sequence[Ask],
        confirm: Confirmation,
        *,
        prefix: str = "action",
    ) -> None:
        super().__init__(classes="action-screen")
        self.title_text, self.sections, self.asks = title, list(sections), list(asks)
        self.confirm, self.prefix = confirm, prefix
        self.values: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        p = self.prefix
        with Vertical(id=f"{p}-dialog", classes="action-dialog"):
            # Titles and sections carry VM names and libvirt messages: no markup, controls escaped.
            yield Static(printable(self.title_text), id=f"{p}-title", classes="action-title", markup=False)
            for name, text in self.sections:
                yield Static(
                    printable(text, keep_newlines=True),
                    id=f"{p}-{name}",
                    classes="action-section",
                    markup=False,
                )
            for ask in self.asks:
                suggester = (
                    SuggestFromList(ask.suggestions, case_sensitive=False) if ask.suggestions else None
                )
                field = Input(
                    ask.value, placeholder=ask.placeholder, id=f"{p}-{ask.key}", suggester=suggester
                )
                field.border_title = ask.title
                yield field
            yield Static(
                "enter: continue · esc: cancel", id=f"{p}-status", classes="action-status", markup=False
            )

    def on_mount(self) -> None:
        if not self.asks:
            self._validate()  # nothing to type: straight to the question

    def _fields(self) -> list[Input]:
        return list(self.query(Input))

    def action_next_field(self) -> None:
        """enter: on to the next field (a required one must be filled first); the last one submits."""
        if self.values is not None:
            return  # the question is shown: y or n
        inputs = self._fields()
        focused = self.focused
        position = inputs.index(focused) if isinstance(focused, Input) and focused in inputs else -1
        if 0 <= position < len(inputs) - 1 and not (
            self.asks[position].required and not inputs[position].value.strip()
        ):
            if self._check(position):
                self.set_focus(inputs[position + 1])  # at once: the keys after enter go there
            return
        self._validate()

    def _values(self) -> dict[str, str]:
        return {
            ask.key: self.query_one(f"#{self.prefix}-{ask.key}", Input).value.strip() for ask in self.asks
        }

    def _check(self, position: int) -> bool:
        """Run the field's own check; on failure say why and keep the cursor there."""
        ask = self.asks[position]
        if ask.check is None:
            return True
        try:
            ask.check(self._values())
        except ValueError as exc:
            self.query_one(f"#{self.prefix}-status", Static).update(
                printable(f"{ask.title}: {exc}. esc: cancel")
            )
            self.set_focus(self.query_one(f"#{self.prefix}-{ask.key}", Input))
            return False
        self.query_one(f"#{self.prefix}-status", Static).update("enter: continue · esc: cancel")
        return True

    def action_move(self, step: int) -> None:
        """tab / shift+tab: the next or previous field, wrapping around."""
        inputs = [field for field in self._fields() if not field.disabled]
        if not inputs:
            return
        focused = self.focused
        position = inputs.index(focused) if isinstance(focused, Input) and focused in inputs else -step
        if step > 0 and position >= 0 and not self._check(position):
            return
        self.set_focus(inputs[(position + step) % len(inputs)])

    def _validate(self) -> None:
        values = self._values()
        status = self.query_one(f"#{self.prefix}-status", Static)
        missing = [a for a in self.asks if a.required and not values[a.key]]
        if missing:
            what = (
                "A reason is required (it goes to the audit log)"
                if missing[0].key == "reason"
                else (f"{missing[0].placeholder}: required")
            )
            status.update(f"{what}. esc: cancel")
            self.set_focus(self.query_one(f"#{self.prefix}-{missing[0].key}", Input))
            return
        if not all(self._check(i) for i in range(len(self.asks))):
            return
        try:
            question = self.confirm(values)
        except ValueError as exc:
            status.update(printable(f"{exc}. esc: cancel"))
            return
        self.values = values
        for field in self.query(Input):
            field.disabled = True
        self.set_focus(None)
        status.update(printable(f"Confirm: {question}? y: yes · n/esc: no"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # y/n only answer the confirmation; before that they are letters typed into a field (or,
        # with no field focused, nothing: `n` must never cancel a dialog half-typed).
        if action in ("confirm", "no"):
            return self.values is not None
        return True

    def action_no(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        self.dismiss(self.values)

    def action_cancel(self) -> None:
        self.dismiss(None)


def reason_ask() -> Ask:
    return Ask("reason", "reason (required, written to the audit log)", label="reason")


def vm_lines(vms: Sequence[DomainFacts], heading: str = "VMs affected") -> str:
    if not vms:
        return f"{heading}: none (no VM holds resources on this host)"
    lines = [f"{heading}: {len(vms)}"]
    for dom in vms[:SHOWN_VMS]:
        lines.append(f"  {dom.name}  {dom.state.value}  {dom.vcpus} vCPU  {fmt_gib(dom.memory)} GiB")
    if len(vms) > SHOWN_VMS:
        lines.append(f"  … and {len(vms) - SHOWN_VMS} more")
    return "\n".join(lines)


class StateChangeScreen(ActionScreen):
    """Set a host's state: why, then confirm; returns {"reason": ...} when confirmed."""

    def __init__(self, host: str, current: HostState, target: HostState, vms: Sequence[DomainFacts]) -> None:
        super().__init__(
            f"Set {host}: {current.label} → {target.label}",
            [("effect", EFFECTS[target]), ("vms", vm_lines(vms))],
            [reason_ask()],
            lambda v: f"set {host} to {target.label} because “{v['reason']}”",
            prefix="state",
        )
        self.host, self.current, self.target = host, current, target


class QuitScreen(ActionScreen):
    """Quit while actions run: what is running, what quitting means, y/n."""

    def __init__(self, running: Sequence[Running]) -> None:
        listed = "\n".join(f"  {r.label} (since {r.since})" for r in running[:10])
        what = (
            "Their libvirt calls may already have been sent: quitting records each one as abandoned in "
            "the audit log; check the VMs afterwards."
        )
        count = len(running)
        super().__init__(
            f"Quit with {plural(count, 'action')} running?",
            [("running", listed), ("what", what)],
            [],
            lambda _v: f"quit and record {plural(count, 'abandoned action')}",
            prefix="quit",
        )


class HelpScreen(Dialog[None]):
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
        text.append(f"Commands (:)  {' '.join([*PANES, 'help', 'quit'])}\n")
        text.append("Filter (/)    plain text matches as a substring; text with regex syntax as a regex\n")
        text.append("esc closes this help.")
        with VerticalScroll(id="help-body"):
            yield Static(text, id="help-text")

    def reopened(self) -> HelpScreen:
        """This help, to be pushed again (it is kept installed: app_keys.help_screen): open, at
        its top, as a new one starts."""
        self.closed = False
        if self.is_mounted:
            self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)
        return self

    def action_close(self) -> None:
        self.dismiss(None)


class HostDetailScreen(Screen[None]):
    """One host: its record, allocation against its profile, and the cost breakdown per term."""

    BINDINGS = [Binding("escape", "close", "Back", id="detail.back")]

    def __init__(self, view: FleetView, host: str) -> None:
        super().__init__()
        self.view, self.host = view, host

    def compose(self) -> ComposeResult:
        yield Static(printable(self._summary(), keep_newlines=True), id="detail-summary", markup=False)
        table: DataTable[str] = DataTable(id="detail-terms", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(printable(self._vms()), id="detail-vms", markup=False)
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
            table.add_row(term.name, shown, curve, format_cost(term.value), why)
        table.add_row("× scale", "", "", format_cost(breakdown.scale), "")
        table.add_row("+ offset", "", "", format_cost(breakdown.offset), "")
        table.add_row(
            "= total",
            "",
            "",
            format_cost(breakdown.total),
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
        lines += detail_lines(self.view.checks.get(self.host), snap.error if snap is not None else None)
        lines += self._history()
        lines.append("Cost breakdown (current load):")
        return "\n".join(lines)

    def _history(self) -> list[str]:
        """CPU, memory and cost over time (the poller's last hour; the cost's recent polls)."""
        cpu, memory = self.view.load_series(self.host)
        costs = list(self.view.history.get(self.host, ()))
        lines = []
        for label, values, last in (
            ("CPU use", cpu, _percent(cpu)),
            ("Memory use", memory, _percent(memory)),
            ("Cost", costs, format_cost(costs[-1]) if costs else "-"),
        ):
            if values:
                lines.append(f"{label:<11}{spark(values, width=60)}  now {last}")
        return lines

    def _vms(self) -> str:
        doms = self.view.domains(self.host)
        if not doms:
            return "No VMs reported."
        shown = ", ".join(f"{d.name} ({d.state.value})" for d in doms[:20])
        more = f" … +{len(doms) - 20}" if len(doms) > 20 else ""
        return f"VMs: {shown}{more}"

    def action_close(self) -> None:
        self.dismiss(None)


def _percent(values: list[float | None]) -> str:
    last = values[-1] if values else None
    return "-" if last is None else f"{last:.0%}"
