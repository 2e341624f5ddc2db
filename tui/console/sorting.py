"""How a table row sorts: by the raw value its cell was built from, numbers as numbers.

A table pane sorts on the values its rows were made of (`TablePane.sort_value`: a host's allocated
vCPUs, its memory in bytes, its cost as a float with ∞, a state by its rank), through `value_key`:
numbers first in numeric order (∞ after every finite cost), then text case-insensitively, then
unknown values (None, NaN) last. Parsing the shown text lost precision ("12.3" for 12.345), units
and order (a state's label is not its rank) and cost a regex per row.

`cell_sort_key` is the fallback for a table whose pane has no raw values: the leading number of the
text ("9/8!" sorts as 9, "10" after "9", "∞" after every cost), then "-", "?" or text after all
numbers (then by text, case-insensitively).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from itertools import repeat

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

SortKey = tuple[int, float, str]
# A row's key in a sorted column: a SortKey, or in a column of text only (`text_keys`) the text in
# lower case, which orders as its SortKey (1, 0.0, text) does among the others.
OrderKey = SortKey | str
SortValue = float | int | str | None  # a cell's raw value; None: unknown
UNKNOWN: SortKey = (2, 0.0, "")


def value_key(value: SortValue) -> SortKey:
    """(0, number, "") for a number (±∞ included), (1, 0, lower-case text) for text, UNKNOWN for
    None or NaN: numbers, then text, then what is not known."""
    if value is None:
        return UNKNOWN
    if isinstance(value, str):
        return (1, 0.0, value.lower())
    number = float(value)
    return UNKNOWN if math.isnan(number) else (0, number, "")


def value_keys(values: Iterable[SortValue]) -> Iterable[SortKey]:
    """`value_key` of every value, in order, for a sort over a whole column (100,000 rows): a column
    of text only is keyed in C (zip and str.lower build the same tuples; text repeated in most
    rows, such as a VM's host, is keyed once per distinct text); any other column goes
    through `value_key` memoised for this call (C-level lookups; a column of states, sizes or mostly
    unknown devices has a few distinct values), so each distinct value is keyed once."""
    values = values if isinstance(values, list) else list(values)
    if set(map(type, values)) == {str}:
        distinct = set(values)
        if 2 * len(distinct) <= len(values):  # repeated text (a VM's host): each text keyed once
            keyed = {value: (1, 0.0, value.lower()) for value in distinct}
            return map(keyed.__getitem__, values)
        return zip(repeat(1), repeat(0.0), map(str.lower, values))
    return map(functools.lru_cache(maxsize=None)(value_key), values)


def text_keys(values: list[SortValue]) -> Iterable[str] | None:
    """The keys of a column of text only, as plain lower-case strings (None when any value is not
    text). A sort of 100,000 rows compares strings rather than tuples (a third faster) and makes
    no tuple per row. Texts already in lower case (VM and host names) are their own keys: one
    join and one `lower` of it tell, in C; text repeated in most rows (a VM's host) is lowered
    once per distinct text."""
    try:
        joined = "\0".join(values)  # type: ignore[arg-type]
    except TypeError:  # a value that is not text
        return None
    texts: list[str] = values  # type: ignore[assignment]
    if joined.lower() == joined:  # no character with a lower-case form: each text is its key
        return texts
    distinct = set(texts)
    if 2 * len(distinct) <= len(texts):
        lowered = {text: text.lower() for text in distinct}
        return map(lowered.__getitem__, texts)
    return map(str.lower, texts)


def cell_sort_key(text: str) -> SortKey:
    """(0, number, text) for a cell that starts with a number or ∞; (1, 0, lower-case text) else."""
    stripped = text.strip()
    if stripped.startswith("-∞"):
        return (0, float("-inf"), stripped.lower())
    if stripped.startswith("∞"):
        return (0, float("inf"), stripped.lower())
    match = NUMBER.match(stripped)
    if match is not None:
        return (0, float(match.group()), stripped.lower())
    return (1, 0.0, stripped.lower())


def arrow(reverse: bool) -> str:
    return "▼" if reverse else "▲"
