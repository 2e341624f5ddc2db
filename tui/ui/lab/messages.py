"""Messages the lab's thread jobs post back to the Simulation pane (past tense: it happened).

`generation` is the pane's counter for that kind of result when the job started: a job that was
overtaken by a newer one (a keystroke later) still finishes in its thread, and its result is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class LabComputed(Message):
    """A lab result (kind: response, curve, replay-run, replay, ab, drain, rebalance, consolidate)."""

    kind: str
    generation: int
    result: Any
    elapsed_s: float = 0.0


@dataclass
class LabFailed(Message):
    """A lab job could not run (bad input found in the thread: a file, an unknown host)."""

    kind: str
    generation: int
    error: str


@dataclass
class LabFileWritten(Message):
    """A save (scenario, HOCON, export) finished; `error` says why it did not."""

    what: str
    paths: list[str]
    error: str | None = None
