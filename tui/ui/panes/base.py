"""What every pane shares: a header line, the `/` filter, a status line, and redrawing only while visible.

Attributes down: the app calls `fleet_changed(names)` after each batch of changed snapshots. A pane
that is not on screen only notes which hosts changed and, when shown again (`on_screen_resume`),
updates just their rows. A table pane keeps its rows (and a lower-cased search text per row) as its
model, so a new `/` filter re-filters what it has instead of recomputing every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import Static

from tui.core.printable import printable
from tui.ui.activity import Activity
from tui.ui.fleetview import FleetView
from tui.ui.keymap import MARK_BINDINGS, SORT_BINDINGS
from tui.ui.panes.tablemarks import MarkableRows
from tui.ui.panes.tablesort import SortableRows
from tui.ui.session import Session
from tui.ui.sorting import SortKey
from tui.ui.text import TextFilter, haystack, safe_cells
from tui.ui.widgets.keybar import KeyBar
from tui.ui.widgets.table import FixedTable

# Above this share of changed rows, rebuilding the table is cheaper than cell-by-cell updates.
REBUILD_SHARE = 0.3
MAX_WIDTH = 40


class Pane(Screen[None]):
    PANE: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""
    PANE_BINDINGS: ClassVar[list[Binding]] = []

    def __init__(self, view: FleetView, session: Session, activity: Activity | None = None) -> None:
        super().__init__(id=f"pane-{self.PANE}")
        self.view = view
        self.session = session
        self.activity = activity or Activity()
        self.filter = TextFilter()
        self.stale: set[str] = set()  # hosts that changed while the pane was not on screen
        self._shown: dict[str, str] = {}  # selector -> text last set
        self._notice: str | None = None  # the newest notification, shown instead of the status

    def compose(self) -> ComposeResult:
        yield Static("", id="pane-header", markup=False)
        yield from self.compose_body()
        yield Static("", id="pane-status", markup=False)
        yield KeyBar(read_only=self.session.read_only)

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses extend `build`, not on_mount.
        self.build()
        self.refresh_all()
        self.stale.clear()  # changes that arrived before the mount are in this first draw
        self.update_header()
        self.update_status()

    def build(self) -> None:
        """Create what the body needs before the first draw (columns, plots)."""

    def on_screen_resume(self) -> None:
        if self.stale:
            names, self.stale = sorted(self.stale), set()
            self.update_rows(names)
        self.update_header()
        self.update_status()

    # --- attributes down -------------------------------------------------------------------------
    def fleet_changed(self, names: list[str]) -> None:
        if not self.is_mounted or not self.is_current:
            self.stale.update(names)  # skip drawing a hidden pane; catch up when it is shown
            return
        self.update_rows(names)
        self.update_header()

    def set_filter(self, text: str) -> None:
        self.filter = TextFilter(text)
        self.refresh_all()
        self.update_header()

    def leave_field(self) -> None:
        """esc in one of the pane's text fields: give the keys back to the pane."""
        self.set_focus(None)

    def clear_filter(self) -> bool:
        """esc on a pane: drop the filter first. Returns False when there was none."""
        if not self.filter.text:
            return False
        self.set_filter("")
        return True

    # --- drawing ---------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        raise NotImplementedError

    def update_rows(self, names: list[str]) -> None:
        self.refresh_all()

    def header_text(self) -> str:
        return self.view.summary()

    def update_header(self) -> None:
        # Marks come second: a long header is cut at the right edge, and what an action key acts on
        # must stay in view (at 80 columns too).
        parts = [f"vmdeck · {self.TITLE_TEXT}", self.marks_text(), self.header_text(), self.session.source]
        if self.filter.text:
            parts.append(self.filter.describe())
        if self.session.read_only:
            parts.append("READ-ONLY: changes blocked")
        self._show("#pane-header", " · ".join(p for p in parts if p))

    def marks_text(self) -> str:
        """ "3 marked" on a pane whose rows can be marked (TablePane)."""
        return ""

    def update_status(self) -> None:
        """The status bar: actions running and the last result (the app's Activity), or while it
        lasts the newest notification (`show_notice`)."""
        width = self.size.width - 2 if self.size.width > 20 else None  # the status line's padding
        self._show("#pane-status", self._notice or printable(self.activity.line(width)))

    def show_notice(self, text: str | None, severity: str = "information") -> None:
        """Show a notification (one printable line) on the status line, or None to end it.

        Notifications live here rather than in toasts so that they never cover a table row (at
        80x24 a toast hid the selected row); the status line returns when the notice expires."""
        self._notice = text
        if self.is_mounted:
            status = self.query_one("#pane-status", Static)
            status.set_class(text is not None, "-notice")
            for level in ("warning", "error"):
                status.set_class(text is not None and severity == level, f"-notice-{level}")
        self.update_status()

    def _show(self, selector: str, text: str) -> None:
        # Static.update re-lays-out the whole screen: on a pane switch in front of a large table
        # that was a second full repaint, so unchanged text is not set again.
        if self.is_mounted and self._shown.get(selector) != text:
            self._shown[selector] = text
            self.query_one(selector, Static).update(text)


class TablePane(MarkableRows, SortableRows, Pane):
    """A pane whose body is one DataTable keyed by a string (host name, VM UUID, profile id).

    It keeps every row (filtered or not) as its model and loads the ones the filter keeps, in the
    sort order; a poller refresh touches only the rows that changed. Sorting (`sort`, `>` `<` `!`)
    is `SortableRows` (tablesort.py), marks (`marks`, space `*` esc) are `MarkableRows`
    (tablemarks.py): both once for every table, on this model.
    """

    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [*SORT_BINDINGS, *MARK_BINDINGS]
    MARKABLE: ClassVar[bool] = True  # whether rows can be marked (a pane with bulk actions)

    def __init__(self, view: FleetView, session: Session, activity: Activity | None = None) -> None:
        super().__init__(view, session, activity)
        self._rows: dict[str, tuple[str, ...]] = {}  # every row, filtered or not: the pane's model
        self._hay: dict[str, str] = {}  # key -> the row's search text (TextFilter.matches_text)
        self.sort: tuple[int, bool] | None = None  # (column, reversed); None: the model's order
        self._sort_keys: dict[str, SortKey] = {}  # key -> its sort key in the sort column (when sorted)
        self.marks: set[str] = set()  # mark names of the marked rows

    def compose_body(self) -> ComposeResult:
        yield FixedTable(id=f"{self.PANE}-table", cursor_type="row", zebra_stripes=True)

    @property
    def table(self) -> FixedTable:
        return self.query_one(FixedTable)

    def build(self) -> None:
        # Every column gets a width (None: sized from the data by `refresh_all`), so the table never
        # measures cells one by one (see widgets/table.py).
        for label, width in self.COLUMNS:
            # One column more than the label: room for the sort arrow.
            self.table.add_column(label, key=label, width=max(width or 0, len(label) + 1))

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        raise NotImplementedError

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        """(rows now, keys that belonged to these hosts before) for an incremental update."""
        raise NotImplementedError

    def refresh_all(self) -> None:
        """Recompute every row from the view, then show those the filter keeps."""
        rows = self.all_rows()
        # The one place a table pane's cells become display text (names from libvirt included).
        self._rows = {key: safe_cells(cells) for key, cells in rows.items()}
        self._hay = {key: haystack(cells) for key, cells in self._rows.items()}
        self._index_sort()
        self._prune_marks()
        self._size_columns(self._rows.values())
        self._load()

    def set_filter(self, text: str) -> None:
        self.filter = TextFilter(text)
        if self.is_mounted:
            self._load()  # the rows are the same: only which of them show changed
        self.update_header()

    def _load(self) -> None:
        table = self.table
        selected = self.selected_key()
        keep = self.filter.matches_text
        hay = self._hay
        table.load_rows(self.ordered((key, cells) for key, cells in self._rows.items() if keep(hay[key])))
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_marks()

    # --- the header with the sort, column widths, poller updates -----------------------------------
    def update_header(self) -> None:
        super().update_header()
        if self.sort is not None and self.is_mounted:
            text = self._shown.get("#pane-header", "")
            self._show("#pane-header", f"{text} · {self.sort_text()}")

    def _size_columns(self, rows: Iterable[tuple[str, ...]]) -> None:
        """Data-sized columns: the longest text (len, not a Rich measurement), capped at MAX_WIDTH."""
        auto = [i for i, (_label, width) in enumerate(self.COLUMNS) if width is None]
        if not auto:
            return
        widest = {i: len(self.COLUMNS[i][0]) + 1 for i in auto}  # + the sort arrow
        for cells in rows:
            for i in auto:
                widest[i] = max(widest[i], len(cells[i]))
        columns = self.table.ordered_columns
        for i in auto:
            columns[i].width = min(widest[i], MAX_WIDTH)

    def update_rows(self, names: list[str]) -> None:
        """Apply changed hosts: only rows that appeared, went or changed are touched, cell by cell;
        marks whose rows went are dropped, new rows of marked names show their mark."""
        self._apply_rows(names)
        if self.marks:
            self._prune_marks()
            self._show_marks()

    def _apply_rows(self, names: list[str]) -> None:
        if len(names) > REBUILD_SHARE * max(1, len(self.view.records)):
            self.refresh_all()
            return
        table = self.table
        rows, before = self.rows_of_hosts(names)
        if self.sort is not None:
            self._apply_sorted(rows, before)
            return
        labels = [label for label, _ in self.COLUMNS]
        for key in before - set(rows):
            self._rows.pop(key, None)
            self._hay.pop(key, None)
            if key in table.rows:
                table.remove_row(key)
        for key, raw in rows.items():
            cells = safe_cells(raw)
            self._rows[key] = cells
            self._hay[key] = hay = haystack(cells)
            visible = self.filter.matches_text(hay)
            if key not in table.rows:
                if visible:
                    table.add_row(*cells, key=key)
                continue
            if not visible:
                table.remove_row(key)
                continue
            old = table.get_row(key)
            for label, new, was in zip(labels, cells, old, strict=True):
                if new != was:
                    table.update_cell(key, label, new)  # never update_width on live data

    def _apply_sorted(self, rows: Mapping[str, tuple[str, ...]], before: set[str]) -> None:
        """update_rows on a sorted table: a row that appeared, or whose sort value changed, may move,
        so the shown rows are reloaded in order; other changes are applied cell by cell."""
        assert self.sort is not None
        column = self.sort[0]
        moved = bool(before - set(rows))
        changed: dict[str, tuple[str, ...]] = {}
        for key in before - set(rows):
            self._rows.pop(key, None)
            self._hay.pop(key, None)
            self._sort_keys.pop(key, None)
        keep = self.filter.matches_text
        for key, raw in rows.items():
            cells = safe_cells(raw)
            old = self._rows.get(key)
            hay = haystack(cells)
            self._rows[key] = cells
            sort_key = self._sort_key(key, column)
            if old is None or self._sort_keys.get(key) != sort_key or keep(self._hay[key]) != keep(hay):
                moved = True  # a new row, a new place, or in or out of the filter
            self._sort_keys[key] = sort_key
            self._hay[key] = hay
            changed[key] = cells
        if moved:
            self._load()
            return
        table = self.table
        labels = [label for label, _ in self.COLUMNS]
        for key, cells in changed.items():
            if key not in table.rows:
                continue
            for label, new, was in zip(labels, cells, table.get_row(key), strict=True):
                if new != was:
                    table.update_cell(key, label, new)

    def open_detail(self, screen: Screen[None]) -> None:
        """Show a detail screen over this pane, once: enter arrives as a key and as the table's
        RowSelected, and in a burst the second must not stack a second detail on the first."""
        if self.app.screen is self:
            self.app.push_screen(screen)

    def selected_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        row = min(table.cursor_row, table.row_count - 1)
        return table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
