"""Sorting a table pane's rows: `>` / `<` pick the column, `!` reverses, past either end the model's order.

Once for every table: `sort` is (column index, reversed) or None (the model's order). It is applied
whenever rows are loaded, so it holds across filters and poller refreshes. Rows sort on raw values
(`sort_value`, overridden by panes that have them; the rule: tui/console/sorting.py), not on their text:
each row's key for the sort column is computed when the row is (`_sort_keys`). A mixin of
`TablePane` (base.py), which owns the rows and reloads them in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import filterfalse
from typing import ClassVar

from rich.text import Text

from tui.console.panes.tablemodel import TableRows
from tui.console.sorting import (
    OrderKey,
    SortKey,
    SortValue,
    arrow,
    cell_sort_key,
    text_keys,
    value_key,
    value_keys,
)

# Columns whose sort keys a KEEP_SORT_KEYS pane keeps besides the sort column (~10 MB each at
# 100,000 rows).
KEPT_COLUMNS = 2
# Rows changed since a cached order was made above which it is sorted afresh rather than patched
# (`_patched`: each row put back is a binary search and a list insert, in Python).
PATCH_ROWS = 2000

# A cached order of every row (tablesort.SortableRows._orders): the keys in order, and the rows
# changed since (their place in it is stale).
Order = tuple[list[str], set[str]]


class SortableRows(TableRows):
    """The sort order of a table pane's rows (the bindings: keymap.SORT_BINDINGS)."""

    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]]
    # Whether a column's keys may be kept while another column sorts: only for a pane whose raw
    # values change only with its rows, never behind them (the hosts' CPU trend), and which calls
    # `_keys_touched` with the rows whose raw values changed (VmsPane.rows_of_hosts).
    KEEP_SORT_KEYS: ClassVar[bool] = False
    sort: tuple[int, bool] | None  # (column, reversed); None: the model's order
    _sort_keys: dict[str, OrderKey]  # key -> its sort key in the sort column (when sorted)
    _sort_text: bool  # the sort column's keys are its texts in lower case (`text_keys`), not SortKeys
    # column -> (its keys, rows changed since, whether text, its cached orders): columns sorted
    # before (`_switch_keys`)
    _kept_keys: dict[int, tuple[dict[str, OrderKey], set[str], bool, dict[bool, Order]]]
    # With KEEP_SORT_KEYS: reversed -> every row's key in the sort column's order, made by a sort
    # of every row and patched since (`_ordered_all`). `_seq` is the model's order (tablesync.py).
    _orders: dict[bool, Order]
    _seq: dict[str, int]

    def sort_value(self, key: str, column: int) -> SortValue | SortKey:
        """The raw value row `key`'s cell in `column` was built from (a number, text or None).

        Panes override it with their model's values; this fallback parses the shown text."""
        return cell_sort_key(self._rows[key][column])

    def column_values(self, column: int) -> Iterable[SortValue] | None:
        """Every row's `sort_value` in `column`, in the model's order (`_rows`), computed at once:
        a pane whose rows keep their raw values gives them here, so a sort of 100,000 rows makes
        no method call per row. None: `sort_value` row by row."""
        return None

    def _switch_keys(self, old: int | None, new: int | None) -> None:
        """With KEEP_SORT_KEYS, the old column's keys are kept (at most KEPT_COLUMNS of them, rows
        changed since noted by `_keys_touched`) and the new column's taken back, brought up to date
        for those rows only: `>` `<` back and forth re-key no column of 100,000 rows. The column's
        cached orders (`_orders`) go and come back with its keys, the rows changed meanwhile noted
        as stale in them."""
        kept = self._kept_keys
        if old is not None and self.KEEP_SORT_KEYS and self._sort_keys:
            kept[old] = (self._sort_keys, set(), self._sort_text, self._orders)
            while len(kept) > KEPT_COLUMNS:
                del kept[next(iter(kept))]  # the longest unused
        self._sort_keys, self._sort_text, self._orders = {}, False, {}
        if new is None or new not in kept:
            return
        keys, touched, self._sort_text, orders = kept.pop(new)
        self._sort_keys = keys  # before the updates: `_sort_key` may turn them into SortKeys
        for key in touched:
            if key in self._rows:
                keys[key] = self._sort_key(key, new)
            else:
                keys.pop(key, None)
        for _order, stale in orders.values():
            stale.update(touched)
        self._orders = orders

    def _keys_touched(self, keys: Iterable[str] | None) -> None:
        """These rows changed (None: every row, a rebuild): the kept columns' keys are stale there."""
        if not self._kept_keys:
            return
        if keys is None:
            self._kept_keys.clear()
            return
        keys = list(keys)
        for _keys, touched, _text, _orders in self._kept_keys.values():
            touched.update(keys)

    def _order_touched(self, key: str) -> None:
        """Row `key`'s sort key changed, or it appeared or went: its place in the cached orders is stale."""
        for _order, stale in self._orders.values():
            stale.add(key)

    def _forget_orders(self) -> None:
        """The model's order changed (a rebuild, `_renumber`): no cached order holds, kept or not."""
        self._orders = {}
        for column, (keys, touched, text, _orders) in list(self._kept_keys.items()):
            self._kept_keys[column] = (keys, touched, text, {})

    def _sort_key(self, key: str, column: int) -> OrderKey:
        """Row `key`'s sort key in `column`, the sort column (in its keys' form: see `_sort_text`)."""
        value = self.sort_value(key, column)
        if self._sort_text:
            if isinstance(value, str):
                return value.lower()
            self._untext()  # the column holds something else than text now
        return value if isinstance(value, tuple) else value_key(value)

    def _untext(self) -> None:
        """The sort column's keys as SortKeys, in place (callers may hold the dict)."""
        keys = self._sort_keys
        for key, text in keys.items():
            keys[key] = (1, 0.0, text)  # type: ignore[assignment]
        self._sort_text = False

    def _index_sort(self, keys: Iterable[str] | None = None) -> None:
        """Compute the sort column's key of these rows (default: every row); none while unsorted."""
        if keys is None:
            self._keys_touched(None)  # the rows were rebuilt: no kept column is current
        if self.sort is None:
            self._sort_keys, self._sort_text = {}, False
            return
        column = self.sort[0]
        if keys is not None:
            for key in keys:
                self._sort_keys[key] = self._sort_key(key, column)
                self._order_touched(key)
            return
        self._index_column(column)

    def _index_column(self, column: int) -> None:
        """Every row's key in `column`."""
        values = self.column_values(column)
        self._sort_text, self._orders = False, {}
        if values is None:
            self._sort_keys = {key: self._sort_key(key, column) for key in self._rows}
            return
        values = values if isinstance(values, list) else list(values)
        texts = text_keys(values)
        self._sort_text = texts is not None
        # The loops run in C (text_keys, value_keys).
        keyed: Iterable[OrderKey] = texts if texts is not None else value_keys(values)
        self._sort_keys = dict(zip(self._rows, keyed, strict=True))

    def ordered(self, keys: Iterable[str]) -> list[str]:
        """These rows' keys in the pane's sort order (stable: equal values keep the model's order)."""
        keys = list(keys)
        if self.sort is None:
            return keys
        reverse = self.sort[1]
        if self.KEEP_SORT_KEYS and len(keys) == len(self._rows):
            # Every row (the callers give model keys, each once): the cached order, patched.
            return list(self._ordered_all(keys, reverse))
        return self._sorted(keys, reverse)

    def _sorted(self, keys: list[str], reverse: bool) -> list[str]:
        """A sort of these rows on the sort column's keys."""
        assert self.sort is not None
        column, sort_keys = self.sort[0], self._sort_keys
        try:  # a C-level key function: the sort makes no Python call per row
            return sorted(keys, key=sort_keys.__getitem__, reverse=reverse)
        except KeyError:  # a row added around the indexing paths: indexed now
            for key in keys:
                if key not in sort_keys:
                    sort_keys[key] = self._sort_key(key, column)
                    self._order_touched(key)
            return sorted(keys, key=sort_keys.__getitem__, reverse=reverse)

    def _ordered_all(self, keys: list[str], reverse: bool) -> list[str]:
        """Every row in the sort order, from the cache (`_orders`): sorting 100,000 rows afresh
        took 20-50 ms (each key a dict lookup and its comparisons, memory-bound), a sort key pressed
        again (`>` `<` back and forth, `!` twice) finds its order and puts back only the rows that
        changed since (`_patched`). The cache is the caller's to copy, never to keep."""
        cached = self._orders.get(reverse)
        order = (
            self._patched(*cached, reverse) if cached is not None and len(cached[1]) <= PATCH_ROWS else None
        )
        if order is None:
            order = self._sorted(keys, reverse)
        self._orders[reverse] = (order, set())
        return order

    def _patched(self, order: list[str], stale: set[str], reverse: bool) -> list[str] | None:
        """`order` with the `stale` rows taken out and those still in the model put back where a
        sort puts them: by sort key, equal keys in the model's order (`_seq`, as a stable sort).
        None when a row has no place in the model's order (the caller sorts afresh)."""
        if not stale:
            return order
        assert self.sort is not None
        column, sort_keys, seq, rows = self.sort[0], self._sort_keys, self._seq, self._rows
        back = [key for key in stale if key in rows]  # the others went
        if any(key not in seq for key in back):
            return None
        order = list(filterfalse(stale.__contains__, order))  # one C-level pass
        for key in back:
            mine = sort_keys.get(key)
            if mine is None:  # a row added around the indexing paths: indexed now
                mine = sort_keys[key] = self._sort_key(key, column)
            place = seq[key]
            low, high = 0, len(order)
            while low < high:  # the first row that comes after `key`
                middle = (low + high) // 2
                shown = order[middle]
                theirs = sort_keys[shown]
                # Equal keys keep the model's order; else both are of one form (all text or all SortKeys).
                if seq[shown] > place if theirs == mine else theirs < mine if reverse else theirs > mine:  # type: ignore[operator]
                    high = middle
                else:
                    low = middle + 1
            order.insert(low, key)
        return order

    def action_sort(self, step: int) -> None:
        """`>` / `<`: sort by the next / previous column; past either end, the model's order."""
        count = len(self.COLUMNS)
        if self.sort is None:
            column: int | None = 0 if step > 0 else count - 1
        else:
            column = self.sort[0] + step
            column = column if 0 <= column < count else None
        self.set_sort(None if column is None else (column, False))

    def action_sort_reverse(self) -> None:
        """`!`: reverse the sort (unsorted: sort by the first column, descending)."""
        self.set_sort((0, True) if self.sort is None else (self.sort[0], not self.sort[1]))

    def set_sort(self, sort: tuple[int, bool] | None) -> None:
        same_column = sort is not None and self.sort is not None and sort[0] == self.sort[0]
        if not same_column:  # a reversal keeps the keys
            self._switch_keys(None if self.sort is None else self.sort[0], None if sort is None else sort[0])
        self.sort = sort
        if sort is not None and not same_column and not self._sort_keys:
            self._index_column(sort[0])
        if self.is_mounted:
            for i, column in enumerate(self.table.ordered_columns):
                label = self.COLUMNS[i][0]
                marked = sort is not None and sort[0] == i
                column.label = Text(label + arrow(sort[1]) if marked and sort is not None else label)
            self._reorder()
            self.table.refresh()
        self.update_header()

    def _reorder(self) -> None:
        """The shown rows in the pane's order: the same rows as before, only their places change."""
        table = self.table
        selected = self.selected_key()
        shown, rows = table.row_keys(), self._rows
        # The model's keys the table shows, in the model's order (ties keep it): each a row, once,
        # so only their count is checked. Every row shown (no filter, nothing left to sync: what
        # the pane keeps, `_shows_every_row`): the model's keys as they are. Comparing the key sets
        # instead cost 10-20 ms at 100,000 rows (two hash probes a row, memory-bound) under the key.
        every = len(shown) == len(rows) and (self._shows_every_row() or shown == rows.keys())
        keys = rows if every else filter(shown.__contains__, rows)
        try:
            table.reorder(self.ordered(keys), distinct_rows=True)
        except ValueError:  # a table not in step with the model (an auto-width column): load it whole
            self._load()
            return
        row = table.find_row(selected) if selected is not None else None
        if row is not None:  # found by one scan: no index of 100,000 rows built under the key
            table.move_cursor(row=row)

    def sort_text(self) -> str:
        if self.sort is None:
            return ""
        column, reverse = self.sort
        return f"sorted by {self.COLUMNS[column][0]} {arrow(reverse)}"
