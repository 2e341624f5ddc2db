"""Reconcile in the console: the adopt / forget candidates listed first, chosen with space, then a
reason and y/n; the same adopt/forget service as `vmdeck reconcile`."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.app import App
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Checkbox, Input, SelectionList
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from tui.console.dialogs import ActionScreen, reason_ask
from tui.console.fleetview import FleetView
from tui.console.hostadmin.common import admin_job
from tui.console.messages import ActionRequested
from tui.console.session import Session
from tui.console.text import plural
from tui.core.live import ManagedVm
from tui.core.live.reconcile import ReconcileFinding, ReconcileKind, reconcile
from tui.core.printable import printable
from tui.services.actions import Deck, Outcome, Result
from tui.services.hostadmin import (
    reconcile_changes,
)

SHOWN_FINDINGS = 200  # the reconcile list; more are listed by `vmdeck reconcile`
ADOPTABLE = (ReconcileKind.UNMANAGED, ReconcileKind.LEFTOVER, ReconcileKind.MOVED)
FORGETTABLE = (ReconcileKind.MISSING,)


def candidate_label(finding: ReconcileFinding) -> str:
    verb = "adopt" if finding.kind in ADOPTABLE else "forget"
    where = f"{finding.host}" + (
        f" (recorded on {finding.recorded_host})"
        if finding.recorded_host and finding.recorded_host != finding.host
        else ""
    )
    return printable(f"{verb:<6} {finding.kind.value:<9} {finding.name}  on {where}  {finding.uuid}")


class MarkedSelectionList(SelectionList[str]):
    """A SelectionList whose toggle shows X only when selected: Textual's draws X either way and
    tells them apart by colour alone, which a terminal without colour (or NO_COLOR) cannot show."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 2 or segments[1].text != Checkbox.BUTTON_INNER:
            return strip
        mark = Checkbox.BUTTON_INNER if option.value in self.selected else " "
        segments[1] = Segment(mark, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)


class ReconcileScreen(ActionScreen):
    """The reconcile candidates first (space selects), then a reason and y/n."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("a", "select_all", "Select all", id="reconcile.all", show=False),
    ]

    def __init__(self, candidates: list[ReconcileFinding], others: list[ReconcileFinding]) -> None:
        self.candidates = candidates[:SHOWN_FINDINGS]
        lines = [
            f"{plural(len(candidates), 'candidate')}: space selects, a selects all, tab moves to the reason.",
            "adopt: record a domain vmdeck did not start as vmdeck's; forget: drop the record of a VM "
            "no connected host reports.",
        ]
        if len(candidates) > SHOWN_FINDINGS:
            lines.append(f"… {len(candidates) - SHOWN_FINDINGS} more: `vmdeck reconcile` lists them all")
        if others:
            lines.append(
                f"Not actionable here: {plural(len(others), 'VM')} on hosts that cannot be reached "
                "(`vmdeck reconcile --forget UUID` once you know they are gone)"
            )
        super().__init__(
            "Reconcile vmdeck's records with the hosts",
            [("what", "\n".join(lines))],
            [reason_ask()],
            self._question,
            prefix="reconcile",
        )

    def on_mount(self) -> None:
        selections = [Selection(candidate_label(f), f.uuid, False) for f in self.candidates]
        listing = MarkedSelectionList(*selections, id="reconcile-list")
        dialog = self.query_one("#reconcile-dialog", Vertical)
        dialog.mount(listing, before=self.query_one("#reconcile-reason", Input))
        self.call_after_refresh(self.set_focus, listing)

    def chosen(self) -> tuple[list[str], list[str]]:
        selected = set(self.query_one("#reconcile-list", SelectionList).selected)
        adopt = [f.uuid for f in self.candidates if f.uuid in selected and f.kind in ADOPTABLE]
        forget = [f.uuid for f in self.candidates if f.uuid in selected and f.kind in FORGETTABLE]
        return adopt, forget

    def _question(self, values: dict[str, str]) -> str:
        adopt, forget = self.chosen()
        if not adopt and not forget:
            raise ValueError("select at least one candidate with space (shift+tab goes back to the list)")
        return f"adopt {len(adopt)} and forget {len(forget)} because “{values['reason']}”"

    def action_select_all(self) -> None:
        if self.values is None and isinstance(self.focused, SelectionList):
            self.focused.select_all()

    def action_move(self, step: int) -> None:
        """tab / shift+tab between the list and the reason."""
        if self.values is not None:
            return
        order = [self.query_one("#reconcile-list", SelectionList), self.query_one("#reconcile-reason", Input)]
        position = order.index(self.focused) if self.focused in order else -step
        self.set_focus(order[(position + step) % len(order)])


def ask_reconcile(app: App[None], view: FleetView, session: Session, managed: list[ManagedVm]) -> None:
    """`managed`: vmdeck's VM records, read from the store by the pane's worker."""
    findings = reconcile(managed, view.snapshots)
    candidates = [f for f in findings if f.kind in ADOPTABLE or f.kind in FORGETTABLE]
    others = [f for f in findings if f.kind is ReconcileKind.UNKNOWN]
    if not candidates:
        extra = f"; {plural(len(others), 'VM')} on unreachable hosts cannot be told" if others else ""
        app.notify(
            f"nothing to reconcile: every domain is vmdeck's and every VM it started is present{extra}",
            title="Reconcile",
        )
        return
    screen = ReconcileScreen(candidates, others)

    def done(values: dict[str, str] | None) -> None:
        if values:
            adopt, forget = screen.chosen()
            reason = values["reason"]

            def act(deck: Deck) -> Outcome:
                lines = reconcile_changes(deck.store, deck.snapshots(), adopt, forget, reason)
                return Outcome("vm.reconcile", "fleet", None, Result.OK, "; ".join(lines))

            app.post_message(ActionRequested(admin_job("reconcile", "vm.reconcile", None, reason, act)))

    app.push_screen(screen, done)
