"""Marks on a FixedTable: a row label column "✓" shown while any row is marked.

Row labels are DataTable's fixed first column: it stays in view when the table scrolls sideways,
and a row's cells (what `get_row`, sorting and filtering see) are untouched. On the table's own row
store (tui/console/widgets/rowstore.py) the store keeps the marked keys and its views label the rows; on
DataTable's containers (a table that fell back to them) each Row's label is set. The marks are
chosen by the pane (tui/console/panes/tablemarks.py); the mark is text, never only a colour.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

from tui.console.widgets.rowstore import MARK, MARKED, UNMARKED, RowStore


class MarkLabels(DataTable[str]):
    """The marking part of FixedTable (tui/console/widgets/table.py), which sets these attributes."""

    _virtual: bool  # rows in `_store` (True) or in DataTable's own containers
    _store: RowStore
    _stale_rows: set[RowKey] | None  # rows to draw again (their render caches are dropped)

    def show_marks(self, marked: Collection[str]) -> None:
        """Label the marked rows ✓ and the others blank; no label column at all while none is.

        Row labels are DataTable's fixed first column: it stays in view when the table scrolls
        sideways, and the row's cells (what `get_row`, sorting and filtering see) are untouched."""
        if not self._virtual:
            self._show_marks_materialised(set(marked))
            return
        store = self._store
        wanted = {key for key in marked if key in store.cells}
        before = store.marked
        new = wanted or None
        if new == before:
            return
        store.marked = new
        if (before is None) != (new is None):  # the label column appears or goes: every line moves
            self._label_column_shown(new is not None)
            return
        assert before is not None
        assert new is not None
        self._restyle_rows(RowKey(key) for key in before ^ new)

    def _show_marks_materialised(self, wanted: set[str]) -> None:
        shown = self._labelled_row_exists
        if not wanted and not shown:
            return
        changed: list[RowKey] = []
        any_marked = False
        for key, row in self.rows.items():
            label = MARKED if key.value in wanted else UNMARKED
            any_marked = any_marked or label is MARKED
            if row.label is not label:
                row.label = label
                changed.append(key)
        if not any_marked:
            for row in self.rows.values():
                row.label = None
        if any_marked != shown:
            self._label_column_shown(any_marked)
            return
        self._restyle_rows(changed)

    def _label_column_shown(self, shown: bool) -> None:
        self._labelled_row_exists = shown
        self._label_column.content_width = len(MARK) if shown else 0
        self._require_update_dimensions = True
        self._update_count += 1
        self.refresh()
        self.check_idle()

    def _restyle_rows(self, keys: Iterable[RowKey]) -> None:
        for key in keys:
            if self._stale_rows is None:
                self._stale_rows = set()
            self._stale_rows.add(key)
            index = self._row_locations.get(key)
            if index is not None:
                self.refresh_row(index)
