"""What a table pane's mixins (tablemarks.py, tablesort.py) take from `TablePane` (base.py).

Declared once, for the type checker: the rows model and the few methods of TablePane and Textual's
Screen that the mixins call. Only annotations and `TYPE_CHECKING` stubs: at run time the class is
empty, so TablePane's and Screen's own definitions are the ones that run, whatever the order of the
bases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.console.widgets.table import FixedTable


class TableRows:
    """The model a table pane keeps: every row (filtered or not) by key, as display cells."""

    _rows: dict[str, tuple[str, ...]]

    if TYPE_CHECKING:

        @property
        def table(self) -> FixedTable: ...

        @property
        def is_mounted(self) -> bool: ...

        def selected_key(self) -> str | None: ...

        def update_header(self) -> None: ...

        def _load(self) -> None: ...

        def _shows_every_row(self) -> bool: ...
