"""What every pane shares: a header line, the `/` filter, and redrawing only while visible.

Attributes down: the app calls `fleet_changed(names)` after each feed batch. A pane that is not on
screen only marks itself dirty and redraws when it is shown again (`on_screen_resume`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.ui.activity import Activity
from tui.ui.fleetview import FleetView
from tui.ui.session import Session
from tui.ui.text import TextFilter
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
        self.dirty = False

    def compose(self) -> ComposeResult:
        yield Static("", id="pane-header", markup=False)
        yield from self.compose_body()
        yield Static("", id="pane-status", markup=False)
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses extend `build`, not on_mount.
        self.build()
        self.refresh_all()
        self.dirty = False  # changes that arrived before the mount are in this first draw
        self.update_header()
        self.update_status()

    def build(self) -> None:
        """Create what the body needs before the first draw (columns, plots)."""

    def on_screen_resume(self) -> None:
        if self.dirty:
            self.dirty = False
            self.refresh_all()
        self.update_header()
        self.update_status()

    # --- attributes down -------------------------------------------------------------------------
    def fleet_changed(self, names: list[str]) -> None:
        if not self.is_mounted or not self.is_current:
            self.dirty = True
            return
        self.update_rows(names)
        self.update_header()

    def set_filter(self, text: str) -> None:
        self.filter = TextFilter(text)
        self.refresh_all()
        self.update_header()

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
        parts = [f"vmdeck · {self.TITLE_TEXT}", self.header_text(), self.session.source]
        if self.filter.text:
            parts.append(self.filter.describe())
        if self.session.read_only:
            parts.append("READ-ONLY: changes blocked")
        if self.is_mounted:
            self.query_one("#pane-header", Static).update(" · ".join(p for p in parts if p))

    def update_status(self) -> None:
        """The status bar: actions running and the last result (the app's Activity)."""
        if self.is_mounted:
            self.query_one("#pane-status", Static).update(self.activity.line())


class TablePane(Pane):
    """A pane whose body is one DataTable keyed by a string (host name, VM UUID, profile id)."""

    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = ()

    def compose_body(self) -> ComposeResult:
        yield FixedTable(id=f"{self.PANE}-table", cursor_type="row", zebra_stripes=True)

    @property
    def table(self) -> DataTable[str]:
        return self.query_one(DataTable)

    def build(self) -> None:
        # Every column gets a width (None: sized from the data by `refresh_all`), so the table never
        # measures cells one by one (see widgets/table.py).
        for label, width in self.COLUMNS:
            self.table.add_column(label, key=label, width=width or len(label))

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        raise NotImplementedError

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        """(rows now, keys that belonged to these hosts before) for an incremental update."""
        raise NotImplementedError

    def refresh_all(self) -> None:
        table = self.table
        selected = self.selected_key()
        table.clear()
        all_rows = self.all_rows()
        self._size_columns(all_rows.values())
        rows = [(key, cells) for key, cells in all_rows.items() if self.filter.matches(cells)]
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))

    def _size_columns(self, rows: Iterable[tuple[str, ...]]) -> None:
        """Data-sized columns: the longest text (len, not a Rich measurement), capped at MAX_WIDTH."""
        auto = [i for i, (_label, width) in enumerate(self.COLUMNS) if width is None]
        if not auto:
            return
        widest = {i: len(self.COLUMNS[i][0]) for i in auto}
        for cells in rows:
            for i in auto:
                widest[i] = max(widest[i], len(cells[i]))
        columns = self.table.ordered_columns
        for i in auto:
            columns[i].width = min(widest[i], MAX_WIDTH)

    def update_rows(self, names: list[str]) -> None:
        table = self.table
        if len(names) > REBUILD_SHARE * max(1, len(self.view.records)):
            self.refresh_all()
            return
        rows, before = self.rows_of_hosts(names)
        labels = [label for label, _ in self.COLUMNS]
        for key in before - set(rows):
            if key in table.rows:
                table.remove_row(key)
        for key, cells in rows.items():
            visible = self.filter.matches(cells)
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

    def selected_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        row = min(table.cursor_row, table.row_count - 1)
        return table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
