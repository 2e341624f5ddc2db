"""The rows of a FixedTable kept as three plain containers, seen by DataTable through read-only views.

Textual's DataTable keeps, per row, a `RowKey`, a `Row`, a dict of cells and two index entries, and
recomputes its list of rows and of line offsets (O(rows) Python objects) after every change: with
100,000 VMs a load took about a second and a cursor move at the bottom of the table hundreds of ms
(`_get_row_region` sums the heights of every row above). A FixedTable's rows are all one line high,
so a row's line is its index and all a table needs is:

    order: list[str]                 the keys in display order
    index: dict[str, int]            key -> position in `order`
    cells: dict[str, tuple[str, …]]  key -> the row's cells, in column order

built with C-level calls only (a load of 100,000 rows is a few `dict`/`list` constructions). The
index is built when first asked for, not by a load or a sort (`index`): 100,000 rows take 10-17 ms
to index, and what a sort or a filter's load needs right away — the rows drawn and the cursor's —
is known without it (`row_position`, `find`). The poller's next change builds it, off the key. The
views below give DataTable's own code (rendering, cursor, `get_row`, `coordinate_to_cell_key`, …)
the mappings it reads — `rows`, `_data`, `_row_locations`, `ordered_rows`, `_y_offsets` — building a
`RowKey`/`Row`/cell dict only for the row asked for, which is a visible one or the cursor's.
Textual's string-keyed lookups work unchanged: a `RowKey` hashes and compares as its string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast, overload

from rich.text import Text
from textual.widgets._data_table import ColumnKey, Row, RowKey

# The row label a marked row shows (tui/console/panes/tablemarks.py): text, never only a colour.
MARK = "✓"
MARKED = Text(MARK)
UNMARKED = Text(" ")
# Rows removed at once above which one pass over the tail beats a list `del` per row.
REMOVE_ONE_BY_ONE = 64


def _plain(key: object) -> str:
    # A RowKey looks up as its string; anything else (None, the header's key) simply finds nothing.
    return cast(str, key.value if isinstance(key, RowKey) else key)


class RowStore:
    """The rows: order, index and cells (see the module docstring)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self._index: dict[str, int] | None = {}  # None: not built since the order last changed
        # While there is no index: positions of the rows handed out by place (drawn) or found.
        self._seen: dict[str, int] = {}
        self.cells: dict[str, tuple[str, ...]] = {}
        self.columns: list[ColumnKey] = []  # the cells' column order (set with `set_columns`)
        self.position: dict[str, int] = {}  # column key's text -> its place in a row's cells
        self.marked: set[str] | None = None  # rows labelled ✓; None: no label column at all

    @property
    def index(self) -> dict[str, int]:
        """key -> its position, built here if the order changed since it last was (C-level)."""
        index = self._index
        if index is None:
            index = self._index = dict(zip(self.order, range(len(self.order)), strict=True))
            self._seen = {}
        return index

    def _moved(self) -> None:
        """The order changed as a whole: the index is built again when next needed."""
        self._index, self._seen = None, {}

    def key_at(self, position: int) -> str:
        """The key at `position` (a row drawn, the cursor's): its place is noted while unindexed."""
        key = self.order[position]
        if self._index is None and position >= 0:
            self._seen[key] = position
        return key

    def row_position(self, key: str) -> int | None:
        """`key`'s place: a row drawn since the order changed is known without the index."""
        index = self._index
        if index is None:
            seen = self._seen.get(key)
            if seen is not None:
                return seen
            index = self.index
        return index.get(key)

    def find(self, key: str) -> int | None:
        """`key`'s place for one lookup (the selected row after a sort): one C-level scan of the
        order while unindexed, a fraction of building the index."""
        if self._index is not None:
            return self._index.get(key)
        if key not in self.cells:
            return None
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self.order.index(key)
        return found

    def load(self, rows: dict[str, tuple[str, ...]], columns: list[ColumnKey]) -> None:
        self.cells = rows
        self.order = list(rows)
        self._moved()
        self.set_columns(columns)

    def set_columns(self, columns: list[ColumnKey]) -> None:
        self.columns = columns
        # Keyed by the plain string: a ColumnKey hashes and compares in Python, a str in C.
        self.position = {str(key.value): i for i, key in enumerate(columns)}

    def clear(self) -> None:
        self.order, self.cells = [], {}
        self._index, self._seen = {}, {}
        self.marked = None  # DataTable.clear() drops the label column too

    def reorder(self, order: list[str], *, distinct_rows: bool = False) -> None:
        """The same rows in a new order (a sort): ValueError unless `order` has every row once
        (`distinct_rows`: the caller knows each is a row, once; then the count is enough)."""
        if len(order) != len(self.order) or not distinct_rows and set(order) != self.cells.keys():
            raise ValueError("reorder takes every row of the table once")
        self.order = order
        self._moved()

    def append(self, key: str, cells: tuple[str, ...]) -> int:
        position = len(self.order)
        self.order.append(key)
        if self._index is not None:
            self._index[key] = position
        else:  # the rows before keep their places
            self._seen[key] = position
        self.cells[key] = cells
        return position

    def remove(self, keys: set[str]) -> int:
        """Drop these rows; returns the first position that changed (len(order) if none did)."""
        order, index = self.order, self.index
        positions = sorted((index.pop(k) for k in keys), reverse=True)
        for key in keys:
            del self.cells[key]
        if len(positions) > REMOVE_ONE_BY_ONE:
            first = positions[-1]
            order[first:] = [k for k in order[first:] if k in index]
        else:  # a poll batch's few: each `del` is one memmove, not a Python loop over the tail
            for position in positions:
                del order[position]
        first = positions[-1] if positions else len(order)
        index.update(zip(order[first:], range(first, len(order)), strict=True))  # the tail, in C
        return first

    def place(
        self, taken: set[str], placed: dict[str, tuple[str, ...]], after: Callable[[str, str], bool]
    ) -> None:
        """Take rows out and put rows in, each where `after(shown, new)` (the shown row comes after
        the new one; the order is kept sorted by it) first holds: a binary search, no full rebuild."""
        order, index, cells = self.order, self.index, self.cells
        first = len(order)
        for position in sorted((index.pop(key) for key in taken), reverse=True):
            del order[position]
            first = position
        for key in taken:
            del cells[key]
        for key, row in placed.items():
            low, high = 0, len(order)
            while low < high:
                middle = (low + high) // 2
                if after(order[middle], key):
                    high = middle
                else:
                    low = middle + 1
            order.insert(low, key)
            cells[key] = row
            first = min(first, low)
        index.update(zip(order[first:], range(first, len(order)), strict=True))

    def row(self, key: str) -> Row:
        """DataTable's Row for `key`: one line, labelled ✓ / blank only while rows are marked."""
        marked = self.marked
        if marked is None:
            return Row(RowKey(key), 1)
        return Row(RowKey(key), 1, MARKED if key in marked else UNMARKED)

    def set_cell(self, key: str, column: int, value: str) -> None:
        cells = self.cells[key]
        self.cells[key] = (*cells[:column], value, *cells[column + 1 :])

    def row_dict(self, key: str) -> dict[ColumnKey, str]:
        return dict(zip(self.columns, self.cells[key], strict=True))


class _KeysInOrder:
    """What the containers below share: a view of one store, its row keys in the store's order."""

    def __init__(self, store: RowStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store.order)

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(k) for k in self._store.order)


class _ClearableKeys(_KeysInOrder):
    def clear(self) -> None:
        """DataTable.clear() empties this container: the store it shows."""
        self._store.clear()


class Locations(_KeysInOrder):
    """DataTable's `_row_locations` (a TwoWayDict RowKey <-> index), read-only."""

    def get(self, key: RowKey | str) -> int | None:
        plain = _plain(key)
        return self._store.row_position(plain) if plain in self._store.cells else None

    def get_key(self, index: int) -> RowKey | None:
        store = self._store
        return RowKey(store.key_at(index)) if 0 <= index < len(store.order) else None

    def contains_value(self, index: int) -> bool:
        return 0 <= index < len(self._store.order)

    def __contains__(self, key: object) -> bool:
        return _plain(key) in self._store.cells  # the same keys as the index, which may be unbuilt


class RowsView(_ClearableKeys, Mapping[RowKey, Row]):
    """DataTable's `rows` (RowKey -> Row): every row is one line, labelled only while rows are marked."""

    def __getitem__(self, key: RowKey | str) -> Row:
        plain = _plain(key)
        if plain not in self._store.cells:
            raise KeyError(key)
        return self._store.row(plain)

    def __contains__(self, key: object) -> bool:
        return _plain(key) in self._store.cells


class DataView(_ClearableKeys, Mapping[RowKey, dict[ColumnKey, str]]):
    """DataTable's `_data` (RowKey -> {ColumnKey: cell}), each row's dict built when asked for."""

    def __getitem__(self, key: RowKey | str) -> dict[ColumnKey, str]:
        plain = _plain(key)
        if plain not in self._store.cells:
            raise KeyError(key)
        return self._store.row_dict(plain)

    def __contains__(self, key: object) -> bool:
        return _plain(key) in self._store.cells


class OrderedRows(Sequence[Row]):
    """DataTable's `ordered_rows`: a slice is lazy too (page up/down walk only a page of it)."""

    def __init__(self, store: RowStore, start: int = 0, stop: int | None = None) -> None:
        self._store = store
        self._range = range(len(store.order))[start:stop]

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, item: int) -> Row: ...
    @overload
    def __getitem__(self, item: slice) -> OrderedRows: ...
    def __getitem__(self, item: int | slice) -> Row | OrderedRows:
        if isinstance(item, slice):
            if item.step not in (None, 1):
                return list(self)[item]  # type: ignore[return-value]  # never used by DataTable
            sub = self._range[item]
            return OrderedRows(self._store, sub.start, sub.stop)
        return self._store.row(self._store.key_at(self._range[item]))

    def __iter__(self) -> Iterator[Row]:
        order, row = self._store.order, self._store.row
        return (row(order[i]) for i in self._range)


class Lines(Sequence[tuple[RowKey, int]]):
    """DataTable's `_y_offsets`: line y is row y's first (and only) line."""

    def __init__(self, store: RowStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store.order)

    @overload
    def __getitem__(self, item: int) -> tuple[RowKey, int]: ...
    @overload
    def __getitem__(self, item: slice) -> list[tuple[RowKey, int]]: ...
    def __getitem__(self, item: int | slice) -> Any:
        if isinstance(item, slice):
            return [(RowKey(k), 0) for k in self._store.order[item]]
        return RowKey(self._store.key_at(item)), 0

    def clear(self) -> None:
        """DataTable.clear() empties its offsets list; here they follow the store."""
