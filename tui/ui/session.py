"""What the console was opened on: the source's label and whether changes are allowed."""

from __future__ import annotations

from dataclasses import dataclass

# What the console says when it refuses a change before asking anything (the action path's own
# READ_ONLY_MESSAGE is the second guard, for a request that gets that far).
READ_ONLY_REFUSAL = "read-only mode: changes are blocked"


@dataclass(frozen=True)
class Session:
    source: str  # "demo" or the config path, shown in every pane's header
    read_only: bool = False
    db: str | None = None

    def badge(self) -> str:
        return "READ-ONLY" if self.read_only else ""
