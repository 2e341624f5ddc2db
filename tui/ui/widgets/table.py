"""A DataTable for live data: no per-cell measuring, and whole-table loads in one step.

Textual's DataTable measures each cell of every new row on idle (`_update_dimensions`) to size auto
columns: 70,000 measurements for 10,000 VMs, seconds of a frozen UI. With fixed widths and one-line
rows there is nothing to measure, so only the virtual size is recomputed.

`load_rows` replaces every row at once. `add_row` re-assigns the cursor reactive (validation and
watchers) and checks idle once per row, which is most of a 10,000-row rebuild; here that happens
once per load.

`update_cell` redraws only the rows it changed. Textual's version bumps a table-wide counter that is
part of every render-cache key, so one changed cell re-renders every visible cell through Rich on
the next frame (most of a live table's redraw cost when a poll batch lands); here the changed rows'
cache entries are dropped (once per batch, before the next line is drawn) and only their regions
are refreshed.

All of this overrides or fills private parts of Textual 8.2's DataTable (pinned < 9 in pyproject);
any auto-width column falls back to the public path.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets._data_table import CellDoesNotExist, ColumnKey, Row, RowKey


class FixedTable(DataTable[str]):
    _stale_rows: set[RowKey] | None = None  # rows changed by update_cell since the last draw

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if self._fixed():
            new_rows = ()  # fixed widths, one-line rows: only the virtual size needs recomputing
        super()._update_dimensions(new_rows)

    def _fixed(self) -> bool:
        return bool(self.columns) and not any(column.auto_width for column in self.columns.values())

    def update_cell(
        self, row_key: RowKey | str, column_key: ColumnKey | str, value: str, *, update_width: bool = False
    ) -> None:
        """Change one cell; only its row is drawn again (see the module docstring)."""
        if update_width or not self._fixed():
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        row = RowKey(row_key) if isinstance(row_key, str) else row_key
        column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if row not in self._row_locations or column not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row!r}, column_key={column!r}.")
        self._data[row][column] = value
        if self._stale_rows is None:
            self._stale_rows = set()
        self._stale_rows.add(row)
        index = self._row_locations.get(row)
        if index is not None:
            self.refresh_row(index)

    def render_line(self, y: int) -> Strip:
        if self._stale_rows:
            self._forget_rows(self._stale_rows)
            self._stale_rows = None
        return super().render_line(y)

    def _forget_rows(self, rows: set[RowKey]) -> None:
        """Drop the render caches' entries of these rows (keys start with the row key, the row
        index or the line, depending on the cache)."""
        indices = {self._row_locations.get(key) for key in rows} - {None}
        lines = {self._get_row_region(index).y for index in indices if index is not None}
        _drop(self._cell_render_cache, 0, rows)
        _drop(self._row_render_cache, 0, rows)
        _drop(self._row_renderable_cache, 1, indices)
        _drop(self._line_cache, 0, lines)

    def load_rows(self, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Replace all rows with (key, cells) pairs, in order (what clear() + add_row() each do)."""
        self.clear()
        if not self._fixed():
            for key, cells in rows:
                self.add_row(*cells, key=key)
            return
        keys = [column.key for column in self.ordered_columns]
        locations: dict[RowKey, int] = {}
        for index, (key, cells) in enumerate(rows):
            row_key = RowKey(key)
            if row_key in locations:
                raise ValueError(f"duplicate row key {key!r}")
            locations[row_key] = index
            self._data[row_key] = dict(zip(keys, cells, strict=True))
            self.rows[row_key] = Row(row_key, 1, None, False)
        self._place(locations)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # once: clamps the cursor
        if locations and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.refresh()
        self.check_idle()

    def reorder(self, keys: Iterable[str]) -> None:
        """Show the same rows in a new order (a sort): their cells and metadata stay, only their
        places change — a third of a full `load_rows` at 10,000 rows."""
        by_value = {key.value: key for key in self.rows}
        order = [by_value[key] for key in keys if key in by_value]
        if len(order) != len(by_value) or len(set(order)) != len(order) or not self._fixed():
            raise ValueError("reorder takes every row of a fixed-width table once")
        self._clear_caches()
        self._place({key: index for index, key in enumerate(order)})
        self._highlight_cursor()
        self.refresh()

    def _place(self, locations: dict[RowKey, int]) -> None:
        """Put the rows at these indices, and fill Textual's per-update caches of the row order
        (ordered_rows, y offsets) from it: otherwise each is rebuilt by a walk over every row, up
        to three times per load. Valid for one-line rows, which every fixed table has."""
        self._row_locations = TwoWayDict(locations)
        self._update_count += 1
        ordered = [self.rows[key] for key in locations]  # built in index order by both callers
        self._ordered_row_cache[(len(ordered), self._update_count)] = ordered
        self._offset_cache[self._update_count] = [(row.key, 0) for row in ordered]

    # --- marks: a row label column "✓" shown while any row is marked (tui/ui/marks.py) -------------
    def show_marks(self, marked: Collection[str]) -> None:
        """Label the marked rows ✓ and the others blank; no label column at all while none is.

        Row labels are DataTable's fixed first column: it stays in view when the table scrolls
        sideways, and the row's cells (what `get_row`, sorting and filtering see) are untouched.
        The mark is text, never only a colour."""
        wanted = set(marked)
        shown = self._labelled_row_exists
        if not wanted and not shown:
            return
        changed: list[RowKey] = []
        any_marked = False
        for key, row in self.rows.items():  # str lookups: cheaper than hashing 10,000 RowKeys
            label = MARKED if key.value in wanted else UNMARKED
            any_marked = any_marked or label is MARKED
            if row.label is not label:
                row.label = label
                changed.append(key)
        if not any_marked:
            for row in self.rows.values():
                row.label = None
        if any_marked != shown:  # the label column appears or goes: every line moves sideways
            self._labelled_row_exists = any_marked
            self._label_column.content_width = len(MARK) if any_marked else 0
            self._require_update_dimensions = True
            self._update_count += 1
            self.refresh()
            self.check_idle()
            return
        for key in changed:
            if self._stale_rows is None:
                self._stale_rows = set()
            self._stale_rows.add(key)
            index = self._row_locations.get(key)
            if index is not None:
                self.refresh_row(index)


MARK = "✓"
MARKED = Text(MARK)
UNMARKED = Text(" ")


def _drop(cache: LRUCache[Any, Any], position: int, match: Collection[object]) -> None:
    """Discard the entries whose key has one of `match` at `position`."""
    keys = list(cache.keys())  # an LRUCache, not a dict: it has no iterator of its own
    for key in keys:
        if key[position] in match:
            cache.discard(key)
