"""FixedTable redraws only the rows whose cells changed (issue 14 item 1: row-level redraw).

Counted, not timed: a spy on the table's per-cell renderer says how many cells were drawn again
after an update. Textual's own update_cell re-renders every visible cell; ours only the changed row's.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.console.widgets.table import FixedTable

COLUMNS = ("name", "state", "cost")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = FixedTable(id="t")
        for label in COLUMNS:
            table.add_column(label, width=10, key=label)
        yield table

    def on_mount(self) -> None:
        self.query_one(FixedTable).load_rows((f"r{i}", (f"host-{i}", "up", f"{i}.0")) for i in range(30))


def _line_text(table: FixedTable, y: int) -> str:
    return "".join(segment.text for segment in table.render_line(y))


async def test_update_cell_redraws_only_its_row() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(FixedTable)
        await pilot.pause()
        drawn: list[tuple[int, int]] = []
        original = table._render_cell

        def spy(row_index: int, column_index: int, *args: object, **kwargs: object) -> object:
            drawn.append((row_index, column_index))
            return original(row_index, column_index, *args, **kwargs)

        table._render_cell = spy  # type: ignore[method-assign]
        visible_rows = table.size.height - 1  # the header takes a line
        for y in range(table.size.height):
            table.render_line(y)
        drawn.clear()  # everything visible is cached now

        table.update_cell("r3", "state", "DOWN")
        table.update_cell("r3", "cost", "inf")
        table.update_cell("r5", "state", "wait")
        for y in range(table.size.height):
            table.render_line(y)
        redrawn_rows = {row for row, _ in drawn}
        assert redrawn_rows == {3, 5}, drawn
        assert len(drawn) <= 2 * len(COLUMNS)
        assert visible_rows > 5  # the test means something: many more rows were on screen
        # What is drawn is the new text, and the rows around it are unchanged.
        assert "DOWN" in _line_text(table, 1 + 3)
        assert "inf" in _line_text(table, 1 + 3)
        assert "wait" in _line_text(table, 1 + 5)
        assert "up" in _line_text(table, 1 + 4)
        assert "host-4" in _line_text(table, 1 + 4)
        assert table.get_row("r3") == ["host-3", "DOWN", "inf"]


async def test_cursor_row_and_auto_width_tables_keep_working() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(FixedTable)
        await pilot.pause()
        table.move_cursor(row=2)
        await pilot.pause()
        table.update_cell("r2", "name", "renamed")
        await pilot.pause()
        assert "renamed" in _line_text(table, 1 + 2)
        # An auto-width column takes Textual's own path (widths may change).
        table.add_column("auto", key="auto")
        table.update_cell("r2", "auto", "x")
        await pilot.pause()
        assert table.get_row("r2")[-1] == "x"


async def test_reorder_moves_rows_and_keeps_their_cells() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(FixedTable)
        await pilot.pause()
        for y in range(table.size.height):
            table.render_line(y)  # cache every visible line: the reorder must not show stale ones
        order = [f"r{i}" for i in reversed(range(30))]
        table.reorder(order)
        await pilot.pause()
        assert [str(row.key.value) for row in table.ordered_rows] == order
        assert "host-29" in _line_text(table, 1)
        assert "host-28" in _line_text(table, 2)
        assert table.get_row("r0") == ["host-0", "up", "0.0"]
        assert table.get_row_index("r0") == 29
        with pytest.raises(ValueError, match="every row"):
            table.reorder(order[:-1])  # not every row: refused, nothing changed
        assert [str(row.key.value) for row in table.ordered_rows] == order


async def test_marks_show_as_a_label_column_only_while_any_row_is_marked() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(FixedTable)
        await pilot.pause()
        before = _line_text(table, 1 + 2)
        assert "✓" not in before
        table.show_marks(["r2", "r4"])
        await pilot.pause()
        assert _line_text(table, 1 + 2).lstrip().startswith("✓")  # text, not only a colour
        assert _line_text(table, 1 + 4).lstrip().startswith("✓")
        assert "✓" not in _line_text(table, 1 + 3)
        assert "host-3" in _line_text(table, 1 + 3)  # the cells moved right, all still there
        assert table.get_row("r2") == ["host-2", "up", "2.0"]  # marks are not cells
        table.show_marks(["r4"])
        await pilot.pause()
        assert "✓" not in _line_text(table, 1 + 2)
        table.show_marks([])
        await pilot.pause()
        assert _line_text(table, 1 + 2) == before  # the label column is gone again
