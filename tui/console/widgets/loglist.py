"""A list of 100,000 rows that only draws what is on screen: the Activity pane's body.

DataTable keeps a Row object and a cell dict per row and sizes itself from all of them: 100,000 rows
take seconds to load (bench/bench_activity.py compares). Here the rows are any sequence of objects
with `cells()`; the widget is a Line API ScrollView (Textual's way for large content), so a load,
a filter or a scroll costs the rows visible, not the rows held. Columns have fixed widths; the last
one takes the rest of the line, and columns are dropped from the right of `droppable` first when the
terminal is narrow (80 columns keeps time, who, what, target, result and the message).

The selected row is marked with `▶` as well as the cursor colour: it reads the same without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class ListRow(Protocol):
    @property
    def key(self) -> str: ...

    def cells(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Column:
    label: str
    width: int  # the last column: its minimum width
    drop: int = 0  # dropped when narrow: higher first; 0 never


MARK = "▶ "


class LogList(ScrollView, can_focus=True, inherit_bindings=False):
    # Styles live in styles/vmdeck.tcss, not DEFAULT_CSS: a widget class's first DEFAULT_CSS makes
    # Textual parse the whole stylesheet again (~100 ms, most of the pane's first open).
    COMPONENT_CLASSES: ClassVar[set[str]] = {"loglist--header", "loglist--cursor", "loglist--odd"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.rows: Sequence[ListRow] = ()
        self._lines: dict[int, str] = {}  # row index -> its text at the current width (visible only)
        self._layout: tuple[int, tuple[tuple[int, int], ...]] = (-1, ())
        self._styles: tuple[Style, Style, Style, Style] | None = None  # base, header, cursor, odd

    # --- data ---------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[ListRow], keep: str | None = None) -> None:
        """Show these rows; the cursor stays on the row keyed `keep` when it is among them (a
        linear search, only as far as that row: most often the first rows, newest first)."""
        self.rows = rows
        self._lines.clear()
        index = 0
        if keep is not None:
            for i, row in enumerate(rows):
                if row.key == keep:
                    index = i
                    break
        self.virtual_size = Size(self.size.width, len(rows) + 1)  # + the header line
        self.cursor = min(index, max(0, len(rows) - 1))
        self.refresh()

    def rows_added(self) -> None:
        """Rows were appended to the sequence given to `set_rows` (a filter finding more)."""
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self.refresh()

    @property
    def selected(self) -> ListRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # --- keys ---------------------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, step: int) -> None:
        self.action_move(step * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else max(0, len(self.rows) - 1)

    def watch_cursor(self, cursor: int) -> None:
        # Keep the cursor's row in view: line 0 is the header, row i is line i + 1.
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    # --- drawing ------------------------------------------------------------------------------------
    def _widths(self, width: int) -> tuple[tuple[int, int], ...]:
        """(column index, width) of the columns shown at this width; the last gets the rest."""
        if self._layout[0] == width:
            return self._layout[1]
        shown = list(range(len(self.columns)))
        for drop in sorted({c.drop for c in self.columns if c.drop}, reverse=True):
            if self._needed(shown, width) <= 0:
                break
            shown = [i for i in shown if self.columns[i].drop != drop]
        fixed = sum(self.columns[i].width + 1 for i in shown[:-1]) + len(MARK)
        last = max(self.columns[shown[-1]].width, width - fixed)
        layout = tuple((i, self.columns[i].width) for i in shown[:-1]) + ((shown[-1], last),)
        self._layout = (width, layout)
        self._lines.clear()
        return layout

    def _needed(self, shown: list[int], width: int) -> int:
        return sum(self.columns[i].width + 1 for i in shown) + len(MARK) - 1 - width

    @staticmethod
    def _fit(text: str, width: int) -> str:
        return text[: width - 1] + "…" if len(text) > width else text.ljust(width)

    def _line(self, cells: Sequence[str], layout: tuple[tuple[int, int], ...]) -> str:
        return " ".join(self._fit(cells[i] if i < len(cells) else "", w) for i, w in layout)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._widths(width)
        if y == 0:  # the header stays on the first line whatever the scroll
            head = "  " + self._line([c.label for c in self.columns], layout)
            return Strip(
                [Segment(head[:width].ljust(width), self.get_component_rich_style("loglist--header"))]
            )
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip([Segment(" " * width, self.rich_style)])
        text = self._lines.get(index)
        if text is None:
            if len(self._lines) > 4096:  # scrolled far: keep only what is drawn now
                self._lines.clear()
            text = self._lines[index] = self._line(self.rows[index].cells(), layout)
        if index == self.cursor:
            line, style = MARK + text, self.rich_style + self.get_component_rich_style("loglist--cursor")
        else:
            line = "  " + text
            style = self.rich_style + (
                self.get_component_rich_style("loglist--odd") if index % 2 else Style()
            )
        return Strip([Segment(line[:width].ljust(width), style)])

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._lines.clear()
