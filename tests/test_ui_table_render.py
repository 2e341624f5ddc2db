"""FixedTable's own cell drawing and row storage give what Textual's DataTable gives.

The fast cell path (tui/console/widgets/cellrender.py) is compared with DataTable's `_render_cell`, character
by character with styles, over cut, padded, wide, empty and markup cells, with and without the
cursor; the row storage (tui/console/widgets/rowstore.py) is compared with a plain DataTable fed the same
rows and changes.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui.console.widgets.table import FixedTable

WIDTHS = (1, 3, 4, 7, 12)
TEXTS = (
    "",
    "up",
    "exactly",
    "a text longer than any column",
    "trailing   ",
    "日本語のホスト名",
    "ab日本",
    "vm-01 🙂 x",
    "9/8!",
    "∞",
    "[bold]not plain[/]",  # markup: Textual's own path
    "tab\there",  # not printable: Textual's own path
)


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield FixedTable(id="fixed", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="plain", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for i, width in enumerate(WIDTHS):
                table.add_column(f"c{i}", key=f"c{i}", width=width)
        rows = [
            (f"r{n}", tuple(TEXTS[(n + i) % len(TEXTS)] for i in range(len(WIDTHS))))
            for n in range(len(TEXTS))
        ]
        self.query_one("#fixed", FixedTable).load_rows(rows)
        plain = self.query_one("#plain", DataTable)
        for key, cells in rows:
            plain.add_row(*cells, key=key)


def chars(lines: list[list[Segment]]) -> list[tuple[str, Style | None]]:
    return [(ch, seg.style) for line in lines for seg in line for ch in seg.text]


async def test_fast_cells_draw_what_textual_draws() -> None:
    app = Tables()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        fixed = app.query_one("#fixed", FixedTable)
        compared = 0
        for row in range(len(TEXTS)):
            for column, width in enumerate(WIDTHS):
                for cursor in (False, True):
                    base = Style(color="red", bgcolor="black") if row % 2 else Style()
                    ours = fixed._render_cell(row, column, base, width + 2, cursor=cursor)
                    fixed._cell_render_cache.clear()
                    theirs = DataTable._render_cell(fixed, row, column, base, width + 2, cursor=cursor)
                    fixed._cell_render_cache.clear()
                    assert chars(ours) == chars(theirs), (TEXTS, row, column, cursor)
                    compared += 1
        assert compared == len(TEXTS) * len(WIDTHS) * 2


def _shown(table: DataTable[str]) -> list[tuple[str | None, list[str]]]:
    return [(key.value, [str(c) for c in table.get_row(key)]) for key in table.rows]


async def test_row_storage_behaves_like_datatable() -> None:
    app = Tables()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        fixed = app.query_one("#fixed", FixedTable)
        plain = app.query_one("#plain", DataTable)
        for table in (fixed, plain):
            table.remove_row("r3")
            table.remove_row("r0")
            table.add_row(*("new",) * len(WIDTHS), key="added")
            table.update_cell("r5", "c2", "changed")
            table.move_cursor(row=4)
        await pilot.pause()
        assert _shown(fixed) == _shown(plain)
        assert fixed.row_count == plain.row_count == len(TEXTS) - 1
        assert fixed.get_row_index("added") == plain.get_row_index("added") == len(TEXTS) - 2
        assert fixed.cursor_row == plain.cursor_row == 4
        for row in (0, 4, fixed.row_count - 1):
            assert fixed.coordinate_to_cell_key(Coordinate(row, 1)) == plain.coordinate_to_cell_key(
                Coordinate(row, 1)
            )
            assert fixed._get_row_region(row) == plain._get_row_region(row)
            assert fixed._get_cell_region(Coordinate(row, 3)) == plain._get_cell_region(Coordinate(row, 3))
        fixed.action_page_down()
        plain.action_page_down()
        assert fixed.cursor_row == plain.cursor_row
        assert fixed.virtual_size == plain.virtual_size
        # Lines on screen are the same text (the fast cell path included).
        for y in range(fixed.size.height):
            assert fixed.render_line(y).text == plain.render_line(y).text


def test_row_store_place_keeps_the_order_a_sort_gives() -> None:
    """Rows taken out and put back by binary search end where a stable sort of every row puts them."""
    import random

    from tui.console.widgets.rowstore import RowStore

    rng = random.Random(14)
    value = {f"k{i}": rng.randrange(6) for i in range(300)}
    seq = {key: i for i, key in enumerate(value)}

    def after(shown: str, new: str) -> bool:
        return (value[shown], seq[shown]) > (value[new], seq[new])

    store = RowStore()
    store.load({k: (str(value[k]),) for k in sorted(value, key=lambda k: (value[k], seq[k]))}, [])
    for step in range(40):
        taken = set(rng.sample(sorted(store.index), 7))
        for key in list(taken)[:4]:
            value[key] = rng.randrange(6)  # changed: taken out and put back
        back = {key: (str(value[key]),) for key in list(taken)[:4]}
        fresh = f"new{step}"
        value[fresh], seq[fresh] = rng.randrange(6), len(seq)
        back[fresh] = (str(value[fresh]),)
        store.place(taken, back, after)
        want = sorted((k for k in value if k in store.cells), key=lambda k: (value[k], seq[k]))
        assert store.order == want
        assert store.index == {key: i for i, key in enumerate(want)}
        assert set(store.cells) == set(want)
