"""Plain-text renderings shared by the panes: costs, sizes, mini sparklines, filters.

Everything here returns text with its meaning in the characters themselves (∞, !, ?), never only in
colour, so the console reads the same over ssh in a 16-colour terminal or in a screenshot.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.markup import escape

from tui.core.printable import printable

BLOCKS = "▁▂▃▄▅▆▇█"
INFINITY = "∞"
UNKNOWN = "·"


def fmt_gib(num_bytes: float) -> str:
    """Bytes as GiB with at most one decimal: compact enough for a used/total column."""
    gib = num_bytes / 1024**3
    return f"{gib:.0f}" if gib == int(gib) or gib >= 100 else f"{gib:.1f}"


def cell_text(text: str) -> str:
    """Text from outside for a table cell: terminal controls escaped (`printable`), and Rich markup
    escaped too, because DataTable reads a str cell as markup (`[bold]` in a VM name would style
    the row, an unbalanced `[/x]` would raise)."""
    text = printable(text)
    return escape(text) if "[" in text else text


def safe_cells(cells: Sequence[str]) -> tuple[str, ...]:
    """A row's cells through `cell_text`; one check for the whole row in the common clean case."""
    joined = "".join(cells)
    if "[" not in joined and joined.isprintable():
        return tuple(cells)
    return tuple(cell_text(c) for c in cells)


def plural(count: int, word: str) -> str:
    """`1 host`, `2 hosts`: English plural by adding s (every word the console counts takes it)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def spark(values: Sequence[float | None], width: int | None = None) -> str:
    """A one-line sparkline; infinite values are drawn as ∞ and unknown ones as ·, never as a bar."""
    data = list(values)[-width:] if width else list(values)
    finite = [v for v in data if v is not None and math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    out = []
    for v in data:
        if v is None:
            out.append(UNKNOWN)
        elif math.isinf(v):
            out.append(INFINITY)
        elif high == low:
            out.append(BLOCKS[0])
        else:
            out.append(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / (high - low) * len(BLOCKS)))])
    return "".join(out)


_REGEX_CHARS = set("^$.*+?[]()|{}\\")


def haystack(fields: Iterable[str]) -> str:
    """A row's fields as one lower-cased text, one field per line: a substring never spans two fields,
    and with MULTILINE a regex's ^ and $ still anchor to a field."""
    return "\n".join(fields).lower()


@functools.lru_cache(maxsize=64)
def _compiled(text: str) -> re.Pattern[str] | None:
    if not text or not (_REGEX_CHARS & set(text)):
        return None
    try:
        # Matched against the lower-cased haystack; IGNORECASE keeps upper-case classes like [A-Z] working.
        return re.compile(text, re.IGNORECASE | re.MULTILINE)
    except re.error:
        return None


@dataclass(frozen=True)
class TextFilter:
    """A `/` filter: plain text matches as a substring; text with regex syntax that compiles, as a regex.

    Both ignore case. A pattern that does not compile falls back to a substring, so typing `[` is never
    an error.
    """

    text: str = ""

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return _compiled(self.text)

    @property
    def kind(self) -> str:
        return "regex" if self.pattern is not None else "text"

    def matches(self, fields: Iterable[str]) -> bool:
        return self.matches_text(haystack(fields))

    def matches_text(self, hay: str) -> bool:
        """Match a row's `haystack` (one lower-cased line per field, computed once per row)."""
        if not self.text:
            return True
        pattern = self.pattern
        if pattern is not None:
            return pattern.search(hay) is not None
        return self.text.lower() in hay

    def kept(self, hay: Mapping[str, str]) -> list[str]:
        """The keys whose haystack `matches_text`, in order: one comprehension, the pattern or the
        lower-cased needle taken once (a `/` filter over 100,000 rows)."""
        if not self.text:
            return list(hay)
        pattern = self.pattern
        if pattern is not None:
            search = pattern.search
            return [key for key, text in hay.items() if search(text) is not None]
        needle = self.text.lower()
        return [key for key, text in hay.items() if needle in text]

    def describe(self) -> str:
        return f"filter /{self.text}/ ({self.kind})" if self.text else ""
