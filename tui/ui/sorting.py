"""How a table cell sorts: by the value it shows, numbers as numbers.

Every numeric cell of the console's tables is printed in one fixed unit per column ("12.5 GiB",
"9/8!" used/capacity with an over-commit mark, a cost by `format_cost`, "3?" last known), so the
leading number of the text is the row model's value: "9/8!" sorts as 9, "10" after "9", "∞" after
every cost, and "-", "?" or text after all numbers (then by text, case-insensitively).
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

SortKey = tuple[int, float, str]


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
