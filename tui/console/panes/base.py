"""What every pane shares: a header line, the `/` filter, a status line, and redrawing only while visible.

Attributes down: the app calls `fleet_changed(names)` after each batch of changed snapshots. A pane
that is not on screen only notes which hosts changed and, when shown again (`on_screen_resume`),
updates just their rows. A table pane keeps its rows (and a lower-cased search text per row) as its
model, so a new `/` filter re-filters what it has instead of recomputing every row. A pane with
KEEP_UNSHOWN (the VMs pane: ten rows a host) keeps that model current batch by batch even before it
is first shown, so showing it is a table load (tui/console/widgets/table.py keeps 100,000 rows cheaply).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from operator import itemgetter
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import Static

from tui.console.activity import Activity
from tui.console.fleetview import FleetView
from tui.console.keymap import MARK_BINDINGS, SORT_BINDINGS
from tui.console.modewarm import closing, css_is_current
from tui.console.panes.tablemarks import MarkableRows
from tui.console.panes.tablesort import Order, SortableRows
from tui.console.panes.tablesync import SyncedRows
from tui.console.session import Session
from tui.console.sorting import OrderKey
from tui.console.text import TextFilter, haystack, safe_cells
from tui.console.widgets.keybar import KeyBar
from tui.console.widgets.table import FixedTable
from tui.core.printable import printable

# Above this share of changed rows, rebuilding the table is cheaper than cell-by-cell updates.
REBUILD_SHARE = 0.3
MAX_WIDTH = 40
# Rows changed while a kept pane was hidden above which showing it reloads the table from its rows
# (tens of ms for 10,000 hosts) instead of syncing them one by one (a few tenths of a ms each).
RESYNC_ROWS = 300


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
        if closing(self.app):
            return
        css_is_current(self.app, self)  # shown by Textual itself (the first pane): see modewarm.py
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
        self._show("#pane-header", self.header_line())

    def header_line(self) -> str:
        # Marks come second: a long header is cut at the right edge, and what an action key acts on
        # must stay in view (at 80 columns too).
        parts = [f"vmdeck · {self.TITLE_TEXT}", self.marks_text(), self.header_text(), self.session.source]
        if self.filter.text:
            parts.append(self.filter.describe())
        if self.session.read_only:
            parts.append("READ-ONLY: changes blocked")
        return " · ".join(p for p in parts if p)

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
            # Both lines are one row high and the screen's width (styles/vmdeck.tcss): their size
            # never depends on the text, so no layout of the screen (it was one per poll batch).
            self.query_one(selector, Static).update(text, layout=False)


class TablePane(MarkableRows, SyncedRows, SortableRows, Pane):
    """A pane whose body is one DataTable keyed by a string (host name, VM UUID, profile id).

    It keeps every row (filtered or not) as its model and loads the ones the filter keeps, in the
    sort order; a poller refresh touches only the rows that changed, and on a sorted table a row
    whose sort key changed (or that appeared) is taken out and put back where the order puts it
    (`_reposition`, a binary search over the shown rows), never a reload. Sorting (`sort`, `>` `<`
    `!`, on raw values) is `SortableRows` (tablesort.py), marks (`marks`, space `*` esc) are
    `MarkableRows` (tablemarks.py): both once for every table, on this model.
    """

    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = ()
    KEEP_UNSHOWN: ClassVar[bool] = False  # keep the rows current before the pane is first shown
    BINDINGS: ClassVar[list[BindingType]] = [*SORT_BINDINGS, *MARK_BINDINGS]
    MARKABLE: ClassVar[bool] = True  # whether rows can be marked (a pane with bulk actions)

    def __init__(self, view: FleetView, session: Session, activity: Activity | None = None) -> None:
        super().__init__(view, session, activity)
        self._rows: dict[str, tuple[str, ...]] = {}  # every row, filtered or not: the pane's model
        self._hay: dict[str, str] = {}  # key -> the row's search text (TextFilter.matches_text)
        self.sort: tuple[int, bool] | None = None  # (column, reversed); None: the model's order
        self._kept = False  # rows kept current before the first draw (KEEP_UNSHOWN, `_keep`)
        self._kept_moved = False  # a row appeared in `_keep`: not in the model's order any more
        self._kept_seq = 0  # `_seq` values from here on were given after the last rebuild
        self._reload_table = False  # the model was rebuilt while hidden: reload the table when shown
        self._pending: dict[str, None] = {}  # keys changed while hidden (ordered), for `_sync_table`
        self._pending_gone: set[str] = set()  # keys gone while hidden
        self._sort_keys: dict[str, OrderKey] = {}  # key -> its sort key in the sort column (when sorted)
        self._sort_text = False  # those keys are lower-case texts (tablesort.py, `_index_column`)
        self._kept_keys: dict[int, tuple[dict[str, OrderKey], set[str], bool, dict[bool, Order]]] = {}
        self._orders: dict[bool, Order] = {}  # the sort column's cached orders (tablesort._ordered_all)
        self._resorted: set[str] = set()  # keys whose sort key changed since the table last placed them
        self.marks: set[str] = set()  # mark names of the marked rows
        self._seq: dict[str, int] = {}  # key -> place in the model's order (`_put`, `_renumber`)
        self._next_seq = 0

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

    def model_order(self) -> list[str]:
        """Every row's key in the order `all_rows` gives them (panes with KEEP_UNSHOWN make it cheap)."""
        return list(self.all_rows())

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        """(rows now, keys that belonged to these hosts before) for an incremental update; a row a
        pane knows to be unchanged may be left out of both (VmsPane leaves out the VMs that did not
        change): what is in the second and not the first is gone."""
        raise NotImplementedError

    def fleet_changed(self, names: list[str]) -> None:
        if self.KEEP_UNSHOWN and not (self.is_mounted and self.is_current):
            self._keep(names)  # the model is kept current; the table catches up when shown
            self.stale.update(names)
            return
        super().fleet_changed(names)

    def _keep(self, names: list[str]) -> None:
        """Keep the rows of a pane not on screen current, batch by batch: showing it is then a table
        load (never mounted) or a sync of the rows changed meanwhile (mounted: its table was loaded
        in the background), never every row computed again (100,000 VMs took about a second)."""
        if (
            not self._kept
            and not self.is_mounted
            or len(names) > REBUILD_SHARE * max(1, len(self.view.records))
        ):
            self._rows = {key: safe_cells(cells) for key, cells in self.all_rows().items()}
            self._hay = {key: haystack(cells) for key, cells in self._rows.items()}
            self._renumber()
            self._index_sort()
            self._kept, self._kept_moved = not self.is_mounted, False
            self._reload_table = self.is_mounted
            self._pending, self._pending_gone = {}, set()
        else:
            changed, gone = self._model_update(names)
            if not self.is_mounted:
                self._kept_moved |= any(self._seq[key] >= self._kept_seq for key in changed)
                return
            self._pending.update(dict.fromkeys(changed))
            self._pending_gone |= gone
        if self._reload_table:
            # Mounted (shown before, or in the background: tui/console/modewarm.py) and hidden, the
            # model rebuilt (the first poll): the table is loaded now, so no show is a load of
            # 100,000 rows. Later changes wait for the show (a sync of at most RESYNC_ROWS rows,
            # else a reload): catching up in the background cost more idle CPU than it saved.
            self._catch_up()

    def on_screen_resume(self) -> None:
        # Runs before Pane.on_screen_resume (Textual calls each class's handler, this one first).
        if not self.KEEP_UNSHOWN:
            return
        self.stale.clear()  # the model is current: only the table is brought up to date
        self._catch_up()

    def _catch_up(self) -> None:
        """Bring the table of a KEEP_UNSHOWN pane up to date with its kept model."""
        if self._reload_table:
            self._reload_table = False
            self._pending, self._pending_gone = {}, set()
            self._size_columns(self._rows.values())
            self._load()
        elif len(self._pending) + len(self._pending_gone) > RESYNC_ROWS:
            self._pending, self._pending_gone = {}, set()
            self._load()  # many rows changed meanwhile: one reload beats as many cell updates
        elif self._pending or self._pending_gone:
            changed = [key for key in self._pending if key in self._rows]
            gone = {key for key in self._pending_gone if key not in self._rows}
            self._pending, self._pending_gone = {}, set()
            self._sync_table(changed, gone)

    def _shows_every_row(self) -> bool:
        """Whether the table shows every row of the model, by what the pane knows: no filter and
        nothing left for the table to catch up with (`_keep`'s pending rows or reload, a first
        load not done yet). `_load`, `_sync_table` and `_catch_up` keep the table so otherwise; a
        hidden pane without KEEP_UNSHOWN lags in its model and its table alike (`stale`)."""
        pending = self._kept or self._reload_table or self._pending or self._pending_gone
        return not self.filter.text and not pending

    def refresh_all(self) -> None:
        """Recompute every row from the view, then show those the filter keeps."""
        if self._kept:  # the first draw of a pane whose rows were kept current (`_keep`)
            self._kept = False
            if self._kept_moved:  # rows that appeared meanwhile go where a rebuild puts them
                order = self.model_order()
                self._rows = {key: self._rows[key] for key in order}
                self._hay = {key: self._hay[key] for key in order}
                self._renumber()
            self._size_columns(self._rows.values())
            self._load()
            return
        rows = self.all_rows()
        # The one place a table pane's cells become display text (names from libvirt included).
        self._rows = {key: safe_cells(cells) for key, cells in rows.items()}
        self._hay = {key: haystack(cells) for key, cells in self._rows.items()}
        self._renumber()
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
        rows = self._rows
        if not self.filter.text and self.sort is None:
            table.load_rows(rows)  # every row in the model's order: the table copies the dict
        else:
            keys = self.ordered(self.filter.kept(self._hay))
            table.load_rows(dict(zip(keys, map(rows.__getitem__, keys), strict=True)))  # built in C
        self._resorted.clear()  # every shown row is where the order puts it
        row = table.find_row(selected) if selected is not None else None
        if row is not None:  # found by one scan: no index of 100,000 rows built under the key
            table.move_cursor(row=row)
        self._show_marks()

    # --- the header with the sort, column widths, poller updates -----------------------------------
    def header_line(self) -> str:
        # One text, set once: set without the sort and then with it, the header was drawn (and the
        # whole screen composed) on every batch even when nothing in it changed.
        text = super().header_line()
        return f"{text} · {self.sort_text()}" if self.sort is not None else text

    def _size_columns(self, rows: Iterable[tuple[str, ...]]) -> None:
        """Data-sized columns: the longest text (len, not a Rich measurement), capped at MAX_WIDTH."""
        auto = [i for i, (_label, width) in enumerate(self.COLUMNS) if width is None]
        if not auto:
            return
        rows = rows if isinstance(rows, Collection) else list(rows)
        widest = {i: len(self.COLUMNS[i][0]) + 1 for i in auto}  # + the sort arrow
        for i in auto:  # map/itemgetter: one C loop per column over 100,000 rows
            widest[i] = max(widest[i], max(map(len, map(itemgetter(i), rows)), default=0))
        columns = self.table.ordered_columns
        for i in auto:
            columns[i].width = min(widest[i], MAX_WIDTH)

    def update_rows(self, names: list[str]) -> None:
        """Apply changed hosts: only rows that appeared, went or changed are touched, cell by cell;
        marks whose rows went are dropped, new rows of marked names show their mark."""
        if len(names) > REBUILD_SHARE * max(1, len(self.view.records)):
            self.refresh_all()
        else:
            self._sync_table(*self._model_update(names))
        if self.marks:
            self._prune_marks()
            self._show_marks()

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
