"""What every lab view is: a widget with a summary line and tables that owns its parameter line,
its thread job and its last result, and gets the lab's shared state handed down.

Attributes down, messages up: the Simulation pane sets `lab_state` on every view when it changes;
a view that changes the set-up or shows a result posts a message (`LabView.ResultShown`, a view's own
`EditKept`, `Opened`, …) and the pane replaces the state. A view's job runs in a thread worker of the
view (`@work(exclusive=True)`, its own group), posts its result as the view's own `Computed` message,
and the view draws it. Tables have fixed column widths (FixedTable: no per-cell measuring, so 1,000
rows redraw in milliseconds), and every meaning is in the characters: ∞, ▲/▼/=, →.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.console.fleetview import FleetView
from tui.console.lab import compute
from tui.console.lab.compute import LabInputs
from tui.console.lab.params import ParamError, WorkloadParams
from tui.console.lab.state import LabState
from tui.console.session import Session
from tui.console.text import safe_cells
from tui.console.widgets.table import FixedTable
from tui.core.fleet import FleetError

# What a job may raise on bad input found in its thread (a file, an unknown host, a parameter).
JOB_ERRORS = (ValueError, FleetError, OSError)  # ValueError includes ParamError, ScenarioFileError


def lab_table(table_id: str, columns: Sequence[tuple[str, int]]) -> FixedTable:
    table = FixedTable(id=table_id, cursor_type="row", zebra_stripes=True)
    for label, width in columns:
        table.add_column(label, key=label, width=width)
    return table


def fill(table: DataTable[str], rows: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Replace every row (keyed, so tests and the cursor find a host or VM by name)."""
    table.clear()
    for key, row in rows:
        table.add_row(*safe_cells(row), key=key)  # VM and host names from outside: no markup


def pct(share: float) -> str:
    return f"{share:.0%}"


class LabView(Vertical):
    """A lab view. Subclasses set KIND (its id `lab-KIND`), PLACEHOLDER (its parameter line's hint;
    None: no line) and `compute_now` (start its job), and add their tables.

    `generation` counts the view's jobs: a job overtaken by a newer one (a keystroke later) still
    finishes in its thread, and its result is dropped.
    """

    KIND: ClassVar[str] = ""
    PLACEHOLDER: ClassVar[str | None] = None
    DEFAULT_PARAMS: ClassVar[str] = ""

    lab_state: var[LabState] = var(LabState, always_update=True)  # handed down by the pane

    @dataclass
    class Failed(Message):
        """A job of the view could not run (bad input found in the thread: a file, an unknown host)."""

        generation: int
        error: str

    @dataclass
    class ResultShown(Message):
        """The view drew a result: its JSON (what a scenario saves) and the workload it ran, if any."""

        kind: str
        data: Any
        workload: WorkloadParams | None = None

    @dataclass
    class FileWritten(Message):
        """A save of the view's (scenario, HOCON, export) finished; `error` says why it did not."""

        what: str
        paths: list[str]
        error: str | None = None

    def __init__(self, fleet: FleetView, session: Session) -> None:
        super().__init__(id=f"lab-{self.KIND}", classes="lab-view")
        self.fleet = fleet  # the console's live fleet (read on the UI loop only)
        self.session = session
        self.params = self.DEFAULT_PARAMS  # the view's parameter line as last submitted
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Static("", id=f"{self.KIND}-summary", classes="lab-summary", markup=False)
        yield from self.compose_tables()

    def compose_tables(self) -> ComposeResult:
        return iter(())

    # --- what the pane asks of the view on screen ------------------------------------------------------
    def home(self) -> Widget:
        """What has focus when no field does: the view's first table. With nothing focused, Textual
        would focus the request line on the next screen resume, and the lab's letter keys would be
        typed into it."""
        return self.query(DataTable).first()

    @property
    def placeholder(self) -> str | None:
        """The parameter line's hint (None: the view has no parameter line)."""
        return self.PLACEHOLDER

    def params_text(self) -> str:
        """What the parameter line shows when the view comes on screen."""
        return self.params

    def shown(self) -> None:
        """The view came on screen: compute it with its parameters."""
        self.recompute()

    def typed(self, text: str) -> None:
        """The parameter line changed (as you type): only the curve lab recomputes on it."""

    def submitted(self, text: str) -> LabState | None:
        """enter on the parameter line: the view recomputes with it. A view whose line changes the
        lab's shared state (the curve lab's edits) returns the new state instead of posting it, so
        that the next key of a burst already sees it; the others return None."""
        self.params = text.strip()
        self.recompute()
        return None

    def recompute(self) -> None:
        try:
            self.compute_now()
        except ParamError as exc:
            self.say(f"Cannot read the parameters: {exc}")

    def compute_now(self) -> None:
        """Start the view's job (ParamError: the parameter line does not read)."""

    # --- jobs ------------------------------------------------------------------------------------------
    def inputs(self) -> LabInputs:
        return compute.lab_inputs(self.fleet, self.lab_state)

    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    @contextmanager
    def failures(self, generation: int) -> Iterator[None]:
        """In a job's thread: bad input becomes the view's `Failed` message instead of a traceback."""
        try:
            yield
        except JOB_ERRORS as exc:
            self.post_message(self.Failed(generation, str(exc)))

    @on(FileWritten)
    def _file_written(self, message: FileWritten) -> None:
        message.stop()
        if message.error:
            self.notify(f"{message.what}: {message.error}", title="Not saved", severity="error")
        else:
            self.notify(f"{message.what}: wrote {', '.join(message.paths)}", title="Saved")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        message.stop()
        if self.is_current(message.generation):
            self.say(f"Cannot compute: {message.error}")

    def shown_result(self, kind: str, data: Any, workload: WorkloadParams | None = None) -> None:
        """Tell the pane what the view now shows (it keeps it in the lab state, for a scenario)."""
        self.post_message(self.ResultShown(kind, data, workload))

    # --- drawing ---------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.query_one(f"#{self.KIND}-summary", Static).update(text)

    def summary_text(self) -> str:
        return str(self.query_one(f"#{self.KIND}-summary", Static).render())
