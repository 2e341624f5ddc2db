"""Marks on a table pane's rows: what the pane's action keys act on when rows are marked.

A mark names its row (`mark_name`: a host's name, a VM's) rather than holding its row key, so it
survives refreshes, sorting, filtering and a VM's move to another host; a mark whose row is gone is
dropped. Marked rows show ✓ in the table's label column; the header counts them. The action keys
of a marking pane act on the marked rows (tui/console/bulk/). A mixin of `TablePane` (base.py), which
owns the rows and the `marks` set.
"""

from __future__ import annotations

from typing import ClassVar

from tui.console.panes.tablemodel import TableRows


class MarkableRows(TableRows):
    """space, `*` / ctrl+a and esc on a table pane's rows (the bindings: keymap.MARK_BINDINGS)."""

    MARKABLE: ClassVar[bool]
    marks: set[str]  # mark names of the marked rows

    def mark_name(self, key: str) -> str:
        """What a mark on row `key` names (default: the key itself, e.g. a host's name)."""
        return key

    def marked_keys(self) -> list[str]:
        """The keys of every marked row, shown or hidden by the filter, in the model's order."""
        if not self.marks:
            return []
        marks, name = self.marks, self.mark_name
        if type(self).mark_name is MarkableRows.mark_name:  # rows marked by their own key: no calls
            return [key for key in self._rows if key in marks]
        return [key for key in self._rows if name(key) in marks]

    def _show_marks(self) -> None:
        if self.is_mounted:
            self.table.show_marks(self.marked_keys())

    def _prune_marks(self) -> None:
        """Drop the marks whose rows are gone (a host removed, a VM undefined)."""
        if self.marks:
            self.marks &= {self.mark_name(key) for key in self._rows}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_mark", "mark_all"):
            return self.MARKABLE
        return True

    def action_toggle_mark(self) -> None:
        """space: mark or unmark the selected row, then move down (mark a run of rows key by key)."""
        key = self.selected_key()
        if key is None:
            return
        self.marks ^= {self.mark_name(key)}
        self._show_marks()
        self.table.action_cursor_down()
        self.update_header()

    def action_mark_all(self) -> None:
        """`*` / ctrl+a: mark every row the filter shows; when all of them are marked, unmark them."""
        shown = {self.mark_name(str(key.value)) for key in self.table.rows}
        self.marks = self.marks - shown if shown <= self.marks else self.marks | shown
        self._show_marks()
        self.update_header()

    def clear_marks(self) -> bool:
        """esc: drop every mark first (before the filter). Returns False when there was none."""
        if not self.marks:
            return False
        self.marks = set()
        self._show_marks()
        self.update_header()
        return True

    def marks_text(self) -> str:
        keys = self.marked_keys()
        if not keys:
            return ""
        hidden = sum(1 for key in keys if key not in self.table.rows) if self.is_mounted else 0
        more = f", {hidden} hidden by the filter" if hidden else ""
        return f"{len(self.marks)} marked{more} (esc clears)"
