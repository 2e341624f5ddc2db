"""Plain-text renderings shared by the panes: costs, sizes, sparklines (tui.core.sparkline), filters.

Everything here returns text with its meaning in the characters themselves (∞, !, ?), never only in
colour, so the console reads the same over ssh in a 16-colour terminal or in a screenshot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.markup import escape

from tui.core.printable import printable
from tui.core.sparkline import BLOCKS, INFINITY, UNKNOWN, spark
from tui.core.wording import plural

# The sparkline and plural rules are the CLI's too, so they live in tui.core; the panes import them here.
__all__ = [
    "BLOCKS",
    "INFINITY",
    "UNKNOWN",
    "TextFilter",
    "cell_text",
    "fmt_gib",
    "haystack",
    "plural",
    "safe_cells",
    "spark",
]


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

    def matcher(self) -> Callable[[str], bool]:
        """`matches_text` with the regex-or-text choice made once: for filtering 100,000 rows."""
        if not self.text:
            return lambda _hay: True
        pattern = self.pattern
        if pattern is not None:
            search = pattern.search
            return lambda hay: search(hay) is not None
        needle = self.text.lower()
        return lambda hay: needle in hay

    def kept(self, hay: Mapping[str, str]) -> list[str]:
        """The keys whose haystack matches, in order (`matcher`'s one rule; a `/` over 100,000 rows)."""
        if not self.text:
            return list(hay)
        pattern = self.pattern  # `matcher`'s choice, inlined: no Python call per row
        if pattern is not None:
            search = pattern.search
            return [key for key, text in hay.items() if search(text) is not None]
        needle = self.text.lower()
        return [key for key, text in hay.items() if needle in text]

    def describe(self) -> str:
        return f"filter /{self.text}/ ({self.kind})" if self.text else ""
