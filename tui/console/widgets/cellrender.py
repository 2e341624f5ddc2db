"""A one-line text cell drawn as segments directly, with the result Rich gives for it.

DataTable draws every cell through Rich: markup parsing (`Text.from_markup`), `Padding`, `Styled`
and `render_lines`, about 0.1-0.3 ms a cell on these machines, so a page of a 11-column table (400+
cells, drawn again after a page down, a sort, a filter or a pane switch) cost 50-150 ms. For the
console's cells — one line high, plain text (no "[" so no markup; escaped names keep Textual's
path) — Rich's result is known: `padding` spaces, the text cut to the cell's width in terminal
cells (`set_cell_size`, so wide characters are cut as Rich cuts them), spaces up to the width and
`padding` spaces, all in one style (the pre style, the padding's null style and the post style
combined as `Styled` combines them). `tests/test_ui_table_render.py` checks that this gives the same
text and styles as Textual's own `_render_cell` for a range of cells, widths and styles.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style


def plain_cell(text: object) -> bool:
    """A cell this module draws: a string Rich would show as it is (no markup, one printable line)."""
    return isinstance(text, str) and "[" not in text and text.isprintable()


def cell_lines(text: str, width: int, padding: int, style: Style) -> list[list[Segment]]:
    """The cell's one line: what `render_lines(Styled(Padding(Text(text), (0, padding)), ...))` gives."""
    inner = max(0, width - 2 * padding)
    shown = set_cell_size(text, inner) if cell_len(text) > inner else text
    fill = inner - cell_len(shown)
    return [[Segment(" " * padding + shown + " " * (fill + padding), style)]]
