"""Bringing a table pane's model and its table up to date, host by host, without a reload.

`_model_update` brings the rows of the changed hosts up to date in the model (keys new or changed,
keys gone); `_sync_table` shows them: a row in or out of the filter comes or goes, on a sorted table
a row whose sort key changed (or that appeared) is taken out and put back where the order puts it
(`_reposition`: a binary search over the shown rows, FixedTable.place_rows), other changes cell by
cell. `_seq` is every row's place in the model's order: the tie-break of equal sort keys. A mixin
of `TablePane` (base.py), which owns the model and calls these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

from tui.console.panes.tablemodel import TableRows
from tui.console.sorting import OrderKey
from tui.console.text import TextFilter, haystack, safe_cells


class SyncedRows(TableRows):
    """The incremental path of a table pane's rows (the full path is TablePane.refresh_all)."""

    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]]
    filter: TextFilter
    sort: tuple[int, bool] | None
    _hay: dict[str, str]
    _sort_keys: dict[str, OrderKey]
    _resorted: set[str]
    _seq: dict[str, int]
    _next_seq: int
    _kept_seq: int

    if TYPE_CHECKING:

        def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]: ...

        def _sort_key(self, key: str, column: int) -> OrderKey: ...

        def _order_touched(self, key: str) -> None: ...

        def _forget_orders(self) -> None: ...

    def _model_update(self, names: Iterable[str]) -> tuple[list[str], set[str]]:
        """Bring these hosts' rows of the model up to date: (keys new or changed, keys gone)."""
        rows, before = self.rows_of_hosts(names)
        gone = before - rows.keys()
        for key in gone:
            self._rows.pop(key, None)
            self._hay.pop(key, None)
            self._sort_keys.pop(key, None)
            self._order_touched(key)
        changed = []
        for key, raw in rows.items():
            cells = safe_cells(raw)
            if self._rows.get(key) != cells:
                self._put(key, cells)
                changed.append(key)
            elif self.sort is not None and self._resort(key):
                changed.append(key)  # the same text, another raw value (sizes are rounded): a new place
        return changed, gone

    def _sync_table(self, changed: list[str], gone: set[str]) -> None:
        """Show the model's rows `changed` (new or changed) and drop `gone`, against what the table
        shows: a row in or out of the filter comes or goes; on a sorted table a row whose sort cell
        changed is taken out and put back in order (`_reposition`); other changes cell by cell."""
        table = self.table
        column = self.sort[0] if self.sort is not None else None
        taken = {key for key in gone if key in table.rows}
        placed: list[str] = []
        keep = self.filter.matches_text
        updates: dict[str, tuple[str, ...]] = {}  # rows that stay where they are, new cells
        for key in changed:
            cells = self._rows[key]
            visible = keep(self._hay[key])
            if key not in table.rows:
                if visible:
                    placed.append(key)
                continue
            if not visible:
                taken.add(key)
                continue
            if column is not None and key in self._resorted:
                taken.add(key)  # a new place in the order
                placed.append(key)
                continue
            if table.row_cells(key) != cells:
                updates[key] = cells
        table.replace_cells(updates)  # one store update; only the rows on screen drawn again
        if column is None:
            for key in placed:
                table.add_row(*self._rows[key], key=key)  # unsorted: a new row comes last
            table.remove_rows(taken)  # at once: the rows after the first one are re-indexed once
        elif taken or placed:
            self._reposition(taken, placed)
        self._resorted.difference_update(changed)

    def _put(self, key: str, cells: tuple[str, ...]) -> None:
        """One row of the model changed or appeared (a new one comes last in the model's order)."""
        if key not in self._rows:
            self._seq[key] = self._next_seq
            self._next_seq += 1
        self._rows[key] = cells
        self._hay[key] = haystack(cells)
        if self.sort is not None:
            self._resort(key)

    def _resort(self, key: str) -> bool:
        """Recompute `key`'s sort key (its raw value may have changed); True if it did change."""
        assert self.sort is not None
        new = self._sort_key(key, self.sort[0])
        if self._sort_keys.get(key) == new:
            return False
        self._sort_keys[key] = new
        self._resorted.add(key)
        self._order_touched(key)
        return True

    def _renumber(self) -> None:
        """Every row's place in the model's order (the tie-break of a sort), after a rebuild."""
        self._seq = dict(zip(self._rows, range(len(self._rows)), strict=True))
        self._next_seq = self._kept_seq = len(self._rows)
        self._forget_orders()  # they break ties in the old order

    def _reposition(self, taken: set[str], placed: list[str]) -> None:
        """Take these rows out of the table and put `placed` back in sorted order."""
        seq = self._seq
        if any(key not in seq for key in placed):
            self._load()  # rows the model's order does not know: reload
            return
        assert self.sort is not None
        reverse = self.sort[1]
        keys, rows, column = self._sort_keys, self._rows, self.sort[0]

        def key_of(key: str) -> OrderKey:
            found = keys.get(key)
            if found is None:  # a row added around the indexing paths: indexed now
                found = keys[key] = self._sort_key(key, column)
            return found

        def after(shown: str, new: str) -> bool:
            mine = key_of(new)
            theirs = key_of(shown)
            if type(theirs) is not type(mine):  # indexing `shown` turned the text keys into SortKeys
                mine = key_of(new)
            if theirs == mine:
                return seq[shown] > seq[new]  # equal values keep the model's order
            # Both of one form (the column's keys are all text or all SortKeys).
            return theirs > mine if not reverse else theirs < mine  # type: ignore[operator]

        selected = self.selected_key()
        table = self.table
        if not table.place_rows(taken, {key: rows[key] for key in placed}, after):
            self._load()
            return
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
