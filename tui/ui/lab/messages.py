"""The message every lab view's file job posts (past tense: it happened). A view's own results are
nested in it (`LabView.Computed`, `ScenarioView.Opened`, `CurveLabView.HoconChecked`)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class LabFileWritten(Message):
    """A save (scenario, HOCON, export) finished; `error` says why it did not."""

    what: str
    paths: list[str]
    error: str | None = None
