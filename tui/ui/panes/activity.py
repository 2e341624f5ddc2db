"""The Activity pane (`6`, `:activity`): what this console did, what libvirt said, what the store recorded.

One list, newest first, of the app's `ActivityLog` (tui/ui/activitylog.py): every action this console
ran with its whole result and duration, every lifecycle event the poller heard, and the store's audit
log (other admins' changes too) as it grows. `/` filters it like every pane (text or regex over every
column and the whole message); Enter shows an entry whole (`ActivityDetailScreen`).

The list is drawn by `LogList`, which only renders the visible rows: 100,000 entries open, filter
and scroll in milliseconds (bench/bench_activity.py). While hidden the pane draws nothing; when
shown it redraws if the log moved on (`ActivityLog.version`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.core.printable import printable
from tui.ui.activitylog import ACTION, AUDIT, EVENT, ActivityLog, LogEntry, detail_fields
from tui.ui.keymap import ACTIVITY_BINDINGS
from tui.ui.panes.base import Pane
from tui.ui.widgets.keybar import KeyBar
from tui.ui.widgets.loglist import Column, LogList

COLUMNS = (
    Column("When (UTC)", 11),
    Column("Source", 6, drop=2),
    Column("Who", 8),
    Column("What", 12),
    Column("Target", 12, drop=1),
    Column("Result", 8),
    Column("Took", 5, drop=3),
    Column("Message", 20),
)


class ActivityPane(Pane):
    PANE = "activity"
    TITLE_TEXT = "Activity"
    BINDINGS: ClassVar[list[BindingType]] = [*ACTIVITY_BINDINGS]
    PANE_BINDINGS = ACTIVITY_BINDINGS

    _drawn = -1  # the log's version last drawn

    @property
    def entries(self) -> ActivityLog:
        return self.activity.log

    def compose_body(self) -> ComposeResult:
        yield LogList(COLUMNS, id="activity-list")

    @property
    def listing(self) -> LogList:
        return self.query_one(LogList)

    def build(self) -> None:
        self.listing.focus()

    # --- drawing ------------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        """The log's entries the filter keeps, newest first (the selected entry stays selected)."""
        self._drawn = self.entries.version
        listing = self.listing
        selected = listing.selected
        rows = self.entries.newest_first()
        if self.filter.text:
            matches = self.filter.matcher()
            rows = [e for e in rows if matches(e.hay)]
        # On the newest entry the cursor follows new ones (like `tail -f`); elsewhere it stays on its entry.
        keep = selected.key if selected is not None and listing.cursor > 0 else None
        listing.set_rows(rows, keep=keep)

    def update_rows(self, names: list[str]) -> None:
        return  # polls change no entry: the log does (`log_changed`)

    def log_changed(self) -> None:
        """The app added entries: redraw now if shown, else when shown."""
        if self.is_mounted and self.is_current:
            self.refresh_all()
            self.update_header()

    def on_screen_resume(self) -> None:
        if self.entries.version != self._drawn:
            self.refresh_all()
        super().on_screen_resume()
        self.listing.focus()

    def header_text(self) -> str:
        counts = self.entries.counts
        shown = len(self.listing.rows) if self.is_mounted else len(self.entries)
        text = (
            f"{shown} of {len(self.entries)}: {counts[ACTION]} actions, "
            f"{counts[EVENT]} events, {counts[AUDIT]} audit"
        )
        if self.entries.events_dropped:
            text += f" · {self.entries.events_dropped} events not kept (a burst)"
        if self.entries.audit_error:
            text += f" · audit unreadable: {printable(self.entries.audit_error)}"
        return text

    # --- keys ---------------------------------------------------------------------------------------
    def action_details(self) -> None:
        row = self.listing.selected
        if isinstance(row, LogEntry) and self.app.screen is self:
            self.app.push_screen(ActivityDetailScreen(row))


class ActivityDetailScreen(Screen[None]):
    """One entry whole: every field, before/after, reason, the full result or error text."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back", id="activitydetail.back")]

    def __init__(self, entry: LogEntry) -> None:
        super().__init__(id="activity-detail")
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        yield Static(
            f"vmdeck · Activity · {entry.source}: {entry.what} {entry.target}", id="pane-header", markup=False
        )
        with VerticalScroll(id="activity-detail-body"):
            yield Static(self.text(), id="activity-detail-text", markup=False)
        yield KeyBar()

    def text(self) -> str:
        lines = []
        for label, value in detail_fields(self.entry):
            if "\n" in value:
                lines.append(f"{label}:")
                lines.extend(f"  {line}" for line in value.splitlines())
            else:
                lines.append(f"{label + ':':<10} {value}")
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.query_one("#activity-detail-body", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
