"""A DataTable's per-frame drawing constants, computed once per `render_lines` call instead of per line.

Textual's DataTable draws each line with the table's Rich style (`rich_style`: a walk up every
ancestor's CSS that combines backgrounds and colours), the header's and the row's zebra style
(component styles: built, then the same walk), the ordered columns (a new list, three times a
line) and, per cell, half a dozen reactive reads (padding, fixed rows and columns, cursor flags).
None of it can change while the lines of one call are drawn (`render_lines` runs to the end
without yielding; styles and reactives change between frames), so here each is computed at most
once per call: a full redraw of the VMs table (37 lines, 7 columns) walked the ancestors 111 times
and read reactives about 3,500 times. Outside `render_lines` everything is computed as Textual does.

Only public names of Textual are overridden (`rich_style`, `get_component_styles`,
`ordered_columns`); the cells read `cell_flags` (FixedTable._render_cell).
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from rich.style import Style
from textual.css.styles import RenderStyles
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets._data_table import Column


class CellFlags(NamedTuple):
    """What FixedTable._render_cell reads from the table's reactives for every cell."""

    padding: int
    fixed_rows: int
    fixed_columns: int
    show_cursor: bool
    show_hover_cursor: bool
    css_foreground: bool  # cursor_foreground_priority == "css"
    css_background: bool  # cursor_background_priority == "css"


class FrameComponent:
    """A component's styles (`get_component_styles`) inside one frame: its Rich style, which
    DataTable reads for the header and zebra rows of every line, computed once; any other
    attribute is the component's own."""

    def __init__(self, styles: RenderStyles) -> None:
        self.styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self.styles, name)


class FrameStyles(DataTable[str]):
    """`rich_style`, component styles, the ordered columns and the cell flags memoised for the
    length of one `render_lines`."""

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

    def get_component_styles(self, *names: str) -> RenderStyles:
        frame = self._frame
        if frame is None:
            return super().get_component_styles(*names)
        found: RenderStyles | None = frame.get(names)
        if found is None:
            found = frame[names] = cast("RenderStyles", FrameComponent(super().get_component_styles(*names)))
        return found

    @property
    def ordered_columns(self) -> list[Column]:
        frame = self._frame
        if frame is None:
            return super().ordered_columns
        columns: list[Column] | None = frame.get("columns")
        if columns is None:
            columns = frame["columns"] = super().ordered_columns
        return columns

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
