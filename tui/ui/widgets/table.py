"""A DataTable for live data: no per-cell measuring, and whole-table loads in one step.

Textual's DataTable measures each cell of every new row on idle (`_update_dimensions`) to size auto
columns: 70,000 measurements for 10,000 VMs, seconds of a frozen UI. With fixed widths and one-line
rows there is nothing to measure, so only the virtual size is recomputed.

`load_rows` replaces every row at once. `add_row` re-assigns the cursor reactive (validation and
watchers) and checks idle once per row, which is most of a 10,000-row rebuild; here that happens
once per load. Both override or fill private parts of Textual 8.2's DataTable (pinned < 9 in
pyproject); any auto-width column falls back to the public path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets._data_table import Row, RowKey


class FixedTable(DataTable[str]):
    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if self._fixed():
            new_rows = ()  # fixed widths, one-line rows: only the virtual size needs recomputing
        super()._update_dimensions(new_rows)

    def _fixed(self) -> bool:
        return bool(self.columns) and not any(column.auto_width for column in self.columns.values())

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
        self._row_locations = TwoWayDict(locations)
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # once: clamps the cursor
        if locations and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.refresh()
        self.check_idle()
