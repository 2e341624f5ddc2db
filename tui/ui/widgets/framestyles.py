"""A DataTable's per-frame drawing constants, computed once per `render_lines` call instead of per line.

Textual's DataTable draws each line with the table's Rich style (`rich_style`: a walk up every
ancestor's CSS that combines backgrounds and colours), the row's zebra style (a component style:
the same walk) and, per cell, half a dozen reactive reads (padding, fixed rows and columns, cursor
flags). None of it can change while the lines of one call are drawn (`render_lines` runs to the end
without yielding; styles and reactives change between frames), so here each is computed at most
once per call: a full redraw of the VMs table (37 lines, 7 columns) walked the ancestors 111 times
and read reactives about 3,500 times. Outside `render_lines` everything is computed as Textual does.

`_get_row_style` is a Textual 8 private name (pinned < 9); a Textual without it never calls it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable


class CellFlags(NamedTuple):
    """What FixedTable._render_cell reads from the table's reactives for every cell."""

    padding: int
    fixed_rows: int
    fixed_columns: int
    show_cursor: bool
    show_hover_cursor: bool
    css_foreground: bool  # cursor_foreground_priority == "css"
    css_background: bool  # cursor_background_priority == "css"


class FrameStyles(DataTable[str]):
    """`rich_style`, row styles and the cell flags memoised for the length of one `render_lines`."""

    _frame: dict[object, Any] | None = None  # set while render_lines runs

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    @property
    def rich_style(self) -> Style:
        frame = self._frame
        if frame is None:
            return super().rich_style
        style: Style | None = frame.get("rich_style")
        if style is None:
            style = frame["rich_style"] = super().rich_style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        frame = self._frame
        if frame is None:
            return super()._get_row_style(row_index, base_style)
        # What Textual's choice depends on: header, fixed row, odd or even, the base style.
        key = (row_index == -1, row_index < self.fixed_rows, row_index % 2, base_style)
        style: Style | None = frame.get(key)
        if style is None:
            style = frame[key] = super()._get_row_style(row_index, base_style)
        return style

    def cell_flags(self) -> CellFlags:
        frame = self._frame
        flags: CellFlags | None = frame.get("cells") if frame is not None else None
        if flags is None:
            flags = CellFlags(
                self.cell_padding,
                self.fixed_rows,
                self.fixed_columns,
                self.show_cursor,
                self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
            if frame is not None:
                frame["cells"] = flags
        return flags
