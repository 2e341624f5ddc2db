"""What the config scanner (locator.py) learns about a HOCON file and its includes: where each key is
written (file and line), the raw text of scalars, the includes, and the problems that keep a config
from being handed to pyhocon. Data only; diagnostics (reader.py, build.py) point through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Key = str | int
KeyPath = tuple[Key, ...]


@dataclass(frozen=True)
class Location:
    file: str
    line: int


@dataclass(frozen=True)
class IncludeRef:
    at: Location  # where the include statement is
    path: KeyPath  # the object it includes into
    target: str  # as written
    resolved: Path
    exists: bool
    empty: bool


@dataclass(frozen=True)
class MergedObjects:
    at: Location  # the line holding both objects
    path: KeyPath  # the array element they became


@dataclass(frozen=True)
class Problem:
    """Input vmdeck refuses to parse (an unsafe include, unbalanced brackets, nesting too deep)."""

    at: Location
    path: KeyPath
    message: str


@dataclass
class SourceIndex:
    """Everything the scanner learnt about a config and the files it includes."""

    keys: dict[KeyPath, Location] = field(default_factory=dict)
    raw: dict[KeyPath, str] = field(default_factory=dict)
    includes: list[IncludeRef] = field(default_factory=list)
    merged: list[MergedObjects] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # resolved path -> text, for pyhocon's includes
    total_bytes: int = 0
    substitutions: int = 0

    def locate(self, path: KeyPath) -> Location | None:
        """The definition of `path`, or of its nearest ancestor that is written somewhere."""
        for end in range(len(path), 0, -1):
            hit = self.keys.get(path[:end])
            if hit is not None:
                return hit
        return None


def format_path(path: KeyPath) -> str:
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            shown = f'"{key}"' if "." in key else key
            out += f".{shown}" if out else shown
    return out
