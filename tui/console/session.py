"""What the console was opened on: the source's label and whether changes are allowed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    source: str  # "demo" or the config path, shown in every pane's header
    read_only: bool = False
    db: str | None = None
