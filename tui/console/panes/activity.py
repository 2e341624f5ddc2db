"""The Activity pane (`6`, `:activity`): what this console did, what libvirt said, what the store recorded.

One list, newest first, of the app's `ActivityLog` (tui/console/activitylog.py): every action this console
ran with its whole result and duration, every lifecycle event the poller heard, and the store's audit
log (other admins' changes too) as it grows. An action of this console and the audit entries it
wrote are one row (tui/console/activitylog.py `joined`). `/` filters it like every pane (text or regex over
every column and the whole message); Enter shows an entry whole (`ActivityDetailScreen`).

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

from tui.console.activity import Activity
from tui.console.activitydetail import detail_fields
from tui.console.activitylog import ACTION, AUDIT, EVENT, ActivityLog, LogEntry
from tui.console.activitysearch import LogSearch
from tui.console.fleetview import FleetView
from tui.console.keymap import ACTIVITY_BINDINGS
from tui.console.panes.base import Pane
from tui.console.session import Session
from tui.console.widgets.keybar import KeyBar
from tui.console.widgets.loglist import Column, LogList
from tui.core.printable import printable

# The filter's first step (shown at once: a substring over 100,000 entries ends in it, a regex finds
# its first screenful) and the pause between later ones, in which keys are handled and the list drawn.
FIRST_STEP_S = 0.010
STEP_GAP_S = 0.002

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
    _keep: str | None = None  # the selected entry's key while the filter has not found it yet
    _stepping = False  # the filter's next step (`_search_on`) is due

    _again = False  # the log changed during a search: filter again when it ends

    def __init__(self, view: FleetView, session: Session, activity: Activity | None = None) -> None:
        super().__init__(view, session, activity)
        self.search = LogSearch()  # the `/` filter's rows, found in steps

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
        """The log's entries the filter keeps, newest first (the selected entry stays selected).

        The filter runs in bounded steps (tui/console/activitysearch.py): the first one here, the rest
        between keys (`_search_on`) while the list shows what was found so far."""
        self._drawn, self._again = self.entries.version, False
        listing = self.listing
        selected = listing.selected
        # On the newest entry the cursor follows new ones (like `tail -f`); elsewhere it stays on its entry.
        keep = selected.key if selected is not None and listing.cursor > 0 else None
        search = self.search
        search.start(self.entries, self.filter)
        search.step(FIRST_STEP_S)
        listing.set_rows(search.rows, keep=keep)
        found = listing.selected
        self._keep = keep if keep is not None and (found is None or found.key != keep) else None
        if not search.done and not self._stepping:
            # The next step once the first rows are on screen (then one every STEP_GAP_S).
            self._stepping = self.call_after_refresh(self._search_on)

    def _search_on(self) -> None:
        """One more step of the filter; the list grows by what it found."""
        self._stepping = False
        search, listing = self.search, self.listing
        if not self.is_mounted or search.done:
            return
        before = len(search.rows)
        if listing.cursor != 0:
            self._keep = None  # the cursor was moved meanwhile: it stays where it was put
        if search.step():
            listing.rows_added()
            if self._keep is not None:  # the selected entry was not found yet: it may be among these
                for index in range(before, len(search.rows)):
                    if search.rows[index].key == self._keep:
                        self._keep, listing.cursor = None, index
                        break
        if search.done:
            self._keep = None
            if self._again:  # what arrived meanwhile, filtered too
                self._again = False
                self.refresh_all()
        else:
            self._stepping = True
            self.set_timer(STEP_GAP_S, self._search_on)
        self.update_header()

    def update_rows(self, names: list[str]) -> None:
        return  # polls change no entry: the log does (`log_changed`)

    def log_changed(self) -> None:
        """The app added entries: redraw now if shown, else when shown."""
        if self.is_mounted and self.is_current:
            if not self.search.done:  # restarting on every change could never end under a stream
                self._again = True
                return
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
        so_far = "" if self.search.done else " so far"
        text = (
            f"{shown}{so_far} of {len(self.entries)}: {counts[ACTION]} actions, "
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
