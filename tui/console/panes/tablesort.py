"""Sorting a table pane's rows: `>` / `<` pick the column, `!` reverses, past either end the model's order.

Once for every table: `sort` is (column index, reversed) or None (the model's order). It is applied
whenever rows are loaded, so it holds across filters and poller refreshes. Rows sort on raw values
(`sort_value`, overridden by panes that have them; the rule: tui/console/sorting.py), not on their text:
each row's key for the sort column is computed when the row is (`_sort_keys`). A mixin of
`TablePane` (base.py), which owns the rows and reloads them in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    # column -> (its keys, rows changed since, whether text): columns sorted before (`_switch_keys`)
    _kept_keys: dict[int, tuple[dict[str, OrderKey], set[str], bool]]

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
        for those rows only: `>` `<` back and forth re-key no column of 100,000 rows."""
        kept = self._kept_keys
        if old is not None and self.KEEP_SORT_KEYS and self._sort_keys:
            kept[old] = (self._sort_keys, set(), self._sort_text)
            while len(kept) > KEPT_COLUMNS:
                del kept[next(iter(kept))]  # the longest unused
        self._sort_keys, self._sort_text = {}, False
        if new is None or new not in kept:
            return
        keys, touched, self._sort_text = kept.pop(new)
        self._sort_keys = keys  # before the updates: `_sort_key` may turn them into SortKeys
        for key in touched:
            if key in self._rows:
                keys[key] = self._sort_key(key, new)
            else:
                keys.pop(key, None)

    def _keys_touched(self, keys: Iterable[str] | None) -> None:
        """These rows changed (None: every row, a rebuild): the kept columns' keys are stale there."""
        if not self._kept_keys:
            return
        if keys is None:
            self._kept_keys.clear()
            return
        keys = list(keys)
        for _keys, touched, _text in self._kept_keys.values():
            touched.update(keys)

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
            return
        self._index_column(column)

    def _index_column(self, column: int) -> None:
        """Every row's key in `column`."""
        values = self.column_values(column)
        self._sort_text = False
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
        (column, reverse), sort_keys = self.sort, self._sort_keys
        try:  # a C-level key function: the sort makes no Python call per row
            return sorted(keys, key=sort_keys.__getitem__, reverse=reverse)
        except KeyError:  # a row added around the indexing paths: indexed now
            for key in keys:
                if key not in sort_keys:
                    sort_keys[key] = self._sort_key(key, column)
            return sorted(keys, key=sort_keys.__getitem__, reverse=reverse)

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
        # so only their count is checked. Every row shown (no filter): one C-level comparison of
        # the key sets instead of a lookup per row.
        keys = rows if shown == rows.keys() else filter(shown.__contains__, rows)
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
