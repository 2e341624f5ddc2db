"""A DataTable for live data: no per-cell measuring, and whole-table loads in one step.

Textual's DataTable measures each cell of every new row on idle (`_update_dimensions`) to size auto
columns: 70,000 measurements for 10,000 VMs, seconds of a frozen UI. With fixed widths and one-line
rows there is nothing to measure, so only the virtual size is recomputed.

`load_rows` replaces every row at once: `add_row` re-assigns the cursor reactive and checks idle
once per row, most of a 10,000-row rebuild; here that happens once per load.
`update_cell` (and `replace_cells`, many rows at once) redraws only the rows it changed. Textual's
version bumps a table-wide counter that is part of every render-cache key, so one changed cell
re-renders every visible cell through Rich on the next frame; here the changed rows' cache entries
are dropped (once per batch, before the next line is drawn) and only their regions are refreshed.

Rows live in a `RowStore` (tui/console/widgets/rowstore.py): a key list, a key -> index dict and a
key -> cells dict, which DataTable's own code reads through views. No per-row object is built for
rows off screen, so loading 100,000 rows is a few C-level container builds, a row's region is its
index, and a change never rebuilds a list of every row (Textual recomputes `ordered_rows` and
`_y_offsets` after each one). See "virtual row storage" below.

All of this overrides or fills private parts of Textual 8.2's DataTable (pinned < 9 in pyproject);
any auto-width column (or a labelled or multi-line row) falls back to the public path: the rows
are then handed to DataTable's own containers (`_materialise`) for the rest of the table's life.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Self

from rich.segment import Segment
from rich.style import Style
from textual._two_way_dict import TwoWayDict
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets._data_table import (
    CellDoesNotExist,
    ColumnKey,
    DuplicateKey,
    Row,
    RowDoesNotExist,
    RowKey,
)

from tui.console.widgets.cellrender import cell_lines, plain_cell
from tui.console.widgets.framestyles import FrameStyles
from tui.console.widgets.marklabels import MarkLabels
from tui.console.widgets.rowstore import DataView, Lines, Locations, OrderedRows, RowStore, RowsView
from tui.console.widgets.tablecaches import UnlinkedCaches

SegmentLines = list[list[Segment]]


class FixedTable(MarkLabels, UnlinkedCaches, FrameStyles):
    _stale_rows: set[RowKey] | None = None  # rows changed by update_cell since the last draw
    _virtual = False  # DataTable.__init__ runs on its own containers; ours are installed after it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._virtual = True  # rows in self._store; False once handed to DataTable's containers
        self._store = RowStore()
        self._install_views()

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
        if self._virtual:
            self._store.set_cell(str(row.value), self._store.position[str(column.value)], value)
        else:
            self._data[row][column] = value
        if self._stale_rows is None:
            self._stale_rows = set()
        self._stale_rows.add(row)
        index = self._row_locations.get(row)
        if index is not None:
            self.refresh_row(index)

    def row_cells(self, key: str) -> tuple[str, ...]:
        """A row's cells, from the store (`get_row` builds a dict per row)."""
        if self._virtual:
            return self._store.cells[key]
        return tuple(self.get_row(key))

    def replace_cells(self, rows: Mapping[str, tuple[str, ...]]) -> None:
        """New cells for rows the table has: `update_cell` of each cell that differs, as one store
        update that refreshes only the rows on screen (thousands of rows changed in a few ms)."""
        if not (self._virtual and self._fixed()):
            keys = [column.key for column in self.ordered_columns]
            for key, cells in rows.items():
                for column, value, was in zip(keys, cells, self.get_row(key), strict=True):
                    if value != was:
                        self.update_cell(key, column, value)
            return
        store, width = self._store, len(self.columns)
        if not rows.keys() <= store.cells.keys() or any(len(cells) != width for cells in rows.values()):
            raise CellDoesNotExist(f"rows to replace must exist and have {width} cells")
        store.cells.update(rows)
        self._stale_rows = (self._stale_rows or set()) | set(map(RowKey, rows))
        top, bottom = int(self.scroll_y), int(self.scroll_y) + self.size.height
        for key in rows:
            index = store.index[key]
            if top - 2 <= index <= bottom:  # the header's lines included: on screen
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
        if self._virtual:  # a row's line is its index below the header (`_get_row_region`)
            offset = self.header_height if self.show_header else 0
            lines = {index + offset for index in indices if index is not None}
        else:
            lines = {self._get_row_region(index).y for index in indices if index is not None}
        _drop(self._cell_render_cache, 0, rows)
        _drop(self._row_render_cache, 0, rows)
        _drop(self._row_renderable_cache, 1, indices)
        _drop(self._line_cache, 0, lines)

    def load_rows(self, rows: Mapping[str, Sequence[str]] | Iterable[tuple[str, Sequence[str]]]) -> None:
        """Replace all rows with (key, cells) pairs or a key -> cells mapping, in order (what clear()
        + add_row() each do). A mapping is copied (one C-level dict copy), never kept."""
        self.clear()
        if not self._fixed():
            for key, cells in rows.items() if isinstance(rows, Mapping) else rows:
                self.add_row(*cells, key=key)
            return
        if isinstance(rows, Mapping):
            loaded: dict[str, tuple[str, ...]] = dict(rows)  # type: ignore[arg-type]
            pairs: list[tuple[str, Sequence[str]]] | None = None
        else:
            pairs = rows if isinstance(rows, list) else list(rows)
            loaded = dict(pairs)  # type: ignore[arg-type]
        if pairs is not None and len(loaded) != len(pairs):
            seen: set[str] = set()
            duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
            raise ValueError(f"duplicate row key {duplicate!r}")
        width = len(self.columns)
        # map() over builtins: the checks of 100,000 rows run in C (a generator took ~10 ms).
        if set(map(len, loaded.values())) - {width}:
            raise ValueError(f"every row needs {width} cells")
        if set(map(type, loaded.values())) - {tuple}:
            loaded = {key: tuple(cells) for key, cells in loaded.items()}
        if self._virtual:
            self._store.load(loaded, [column.key for column in self.ordered_columns])
        else:
            self._load_materialised(loaded)
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # once: clamps the cursor
        if loaded and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.refresh()
        self.check_idle()

    def _load_materialised(self, loaded: dict[str, tuple[str, ...]]) -> None:
        keys = [column.key for column in self.ordered_columns]
        locations: dict[RowKey, int] = {}
        for index, (key, cells) in enumerate(loaded.items()):
            row_key = RowKey(key)
            locations[row_key] = index
            self._data[row_key] = dict(zip(keys, cells, strict=True))
            self.rows[row_key] = Row(row_key, 1, None, False)
        self._row_locations = TwoWayDict(locations)

    # --- drawing a plain one-line cell without Rich (tui/console/widgets/cellrender.py) -------------------
    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        # Textual's cache key, unchanged: the FixedTable update_cell bookkeeping drops these entries.
        flags = self.cell_flags()  # the reactives read once per frame (tui/console/widgets/framestyles.py)
        if not self._virtual or row_index < 0 or column_index < 0 or width < 2 * flags.padding + 1:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            flags.show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(key)
        if cached is not None:
            return cached
        cells = self._store.cells.get(row_key.value or "")
        text = cells[self._store.position[str(column_key.value)]] if cells is not None else None
        if not plain_cell(text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = row_index < flags.fixed_rows or column_index < flags.fixed_columns
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            hover,
            cursor,
            flags.show_cursor,
            flags.show_hover_cursor,
            flags.css_foreground,
            flags.css_background,
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
        lines = cell_lines(text, width, flags.padding, pre + post)  # type: ignore[arg-type]
        self._cell_render_cache[key] = lines
        return lines

    # --- virtual row storage (tui/console/widgets/rowstore.py) ------------------------------------------
    def _install_views(self) -> None:
        # DataTable declares these as dicts; the views are read-only mappings over the store.
        self._data = DataView(self._store)  # type: ignore[assignment]
        self.rows = RowsView(self._store)  # type: ignore[assignment]
        self._row_locations = Locations(self._store)  # type: ignore[assignment]
        self._lines = Lines(self._store)

    def _materialise(self) -> None:
        """Hand the rows to DataTable's own containers, for a column or row only it can handle."""
        if not self._virtual:
            return
        self._virtual = False
        store = self._store
        self._data, self.rows, self._row_locations = {}, {}, TwoWayDict({})
        self._load_materialised(store.cells)
        self._store = RowStore()
        self._update_count += 1

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        if self._virtual:
            return self._lines  # type: ignore[return-value]
        return DataTable._y_offsets.fget(self)  # type: ignore[attr-defined, no-any-return]

    @property
    def ordered_rows(self) -> list[Row]:
        if self._virtual:
            return OrderedRows(self._store)  # type: ignore[return-value]
        return DataTable.ordered_rows.fget(self)  # type: ignore[attr-defined, no-any-return]

    def _get_row_region(self, row_index: int) -> Region:
        if not self._virtual:
            return super()._get_row_region(row_index)
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        width = sum(column.get_render_width(self) for column in self.columns.values())
        width += self._row_label_column_width
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(0, y, max(self.size.width, width), 1)

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        if not self._virtual:
            return super()._get_cell_region(coordinate)
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        row_index, column_index = coordinate
        columns = self.ordered_columns
        x = sum(c.get_render_width(self) for c in columns[:column_index]) + self._row_label_column_width
        y = row_index + (self.header_height if self.show_header else 0)
        return Region(x, y, columns[column_index].get_render_width(self), 1)

    def clear(self, columns: bool = False) -> Self:
        self._store.clear()
        super().clear(columns)
        if self._virtual:
            self._row_locations = Locations(self._store)  # type: ignore[assignment]
        return self

    def add_column(
        self, label: Any, *, width: int | None = None, key: str | None = None, default: Any = None
    ) -> ColumnKey:
        if self._virtual and (width is None or self._store.order):
            self._materialise()  # a measured column, or a column added to rows that exist
        return super().add_column(label, width=width, key=key, default=default)

    def remove_column(self, column_key: ColumnKey | str) -> None:
        self._materialise()
        super().remove_column(column_key)

    def sort(self, *args: Any, **kwargs: Any) -> Self:
        self._materialise()  # the panes sort their own rows (TablePane.ordered); this is Textual's
        return super().sort(*args, **kwargs)

    def add_row(
        self, *cells: Any, height: int | None = 1, key: str | None = None, label: Any = None
    ) -> RowKey:
        fits = key is not None and height == 1 and label is None and len(cells) == len(self.columns)
        if not (self._virtual and fits and self._fixed()):
            self._materialise()
            return super().add_row(*cells, height=height, key=key, label=label)
        assert key is not None
        if key in self._store.cells:
            raise DuplicateKey(f"The row key {key!r} already exists.")
        if not self._store.order:
            self._store.set_columns([column.key for column in self.ordered_columns])
        self._store.append(key, tuple(cells))
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if self.row_count == 1 and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()
        return RowKey(key)

    def place_rows(
        self, taken: set[str], placed: dict[str, tuple[str, ...]], after: Callable[[str, str], bool]
    ) -> bool:
        """Take these rows out and put `placed` in where the table's order puts them: `after(shown,
        new)` says a shown row comes after a new one (the rows are kept in that order). The cursor
        stays on its line and the scroll where it is. False (nothing done) on DataTable's own
        containers, where the caller reloads instead."""
        if not self._virtual:
            return False
        self._store.place(taken, placed, after)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # clamps the cursor
        self._update_count += 1  # rows moved: every line on screen is drawn again
        self.refresh()
        self.check_idle()
        return True

    def row_keys(self) -> Collection[str]:
        """The shown rows' keys as plain strings (the store's index: no RowKey built per row)."""
        if self._virtual:
            return self._store.cells.keys()  # the index's keys (it may be unbuilt: rowstore.py)
        return {str(key.value) for key in self.rows}

    def find_row(self, key: str) -> int | None:
        """A row's index for one lookup (the selected row after a sort or a load), without
        building the store's index of every row (RowStore.find); None if the table lacks it."""
        if self._virtual:
            return self._store.find(key)
        return self._row_locations.get(RowKey(key))

    # --- a sort: the same rows in a new order -------------------------------------------------------
    def reorder(self, keys: Iterable[str], *, distinct_rows: bool = False) -> None:
        """Show the same rows in a new order: their cells stay, only their places change (a third
        of a full `load_rows`). ValueError unless it is every row once, on the table's own store
        (the caller then loads the rows whole). `distinct_rows`: the caller took `keys` from the
        table's rows, each once, so only their count needs checking."""
        if not self._virtual or not self._fixed():
            raise ValueError("reorder works on a fixed-width table's own rows only")
        self._store.reorder(list(keys), distinct_rows=distinct_rows)
        self._update_count += 1  # rows moved: every line on screen is drawn again
        self._clear_caches()
        self._highlight_cursor()
        self.refresh()

    def remove_row(self, row_key: RowKey | str) -> None:
        self.remove_rows([row_key])

    def remove_rows(self, row_keys: Iterable[RowKey | str]) -> None:
        """Remove these rows at once: the store re-indexes the rows after the first one once."""
        if not self._virtual:
            for key in row_keys:
                super().remove_row(key)
            return
        keys = {str(k.value) if isinstance(k, RowKey) else k for k in row_keys}
        missing = keys - self._store.cells.keys()
        if missing:
            raise RowDoesNotExist(f"Row key {sorted(missing)[0]!r} is not valid.")
        if not keys:
            return
        self._store.remove(keys)
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh()  # the virtual size follows on idle (_update_dimensions), as after add_row


def _drop(cache: LRUCache[Any, Any], position: int, match: Collection[object]) -> None:
    """Discard the entries whose key has one of `match` at `position`."""
    keys = list(cache.keys())  # an LRUCache, not a dict: it has no iterator of its own
    for key in keys:
        if key[position] in match:
            cache.discard(key)
