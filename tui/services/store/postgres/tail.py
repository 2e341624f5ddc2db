"""The PostgreSQL store's audit cursor: the last sequence number read, and the recent ones missing.

`seq` is a bigserial: numbers are handed out when a row is inserted but become visible when its
transaction commits, so a transaction that took number 7 may commit after one that took 8. A reader
that only asked for "seq > 8" would never see 7. The cursor therefore also remembers the numbers
below its mark that were not seen yet (a transaction still in flight, or one rolled back, which
leaves a hole for ever) and asks for them again, as long as they are within GAP_WINDOW of the mark
and at most MAX_GAPS of them: a commit later than that many newer entries is not waited for.

Form: "pg:LAST" or "pg:LAST:G1,G2,…". Anything else (another store's cursor) parses as None.
"""

from __future__ import annotations

from collections.abc import Sequence

GAP_WINDOW = 1000
MAX_GAPS = 200

Cursor = tuple[int, frozenset[int]]


def parse_cursor(text: str) -> Cursor | None:
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] != "pg" or not parts[1].isdigit():
        return None
    gaps: set[int] = set()
    if len(parts) == 3 and parts[2]:
        for item in parts[2].split(","):
            if not item.isdigit():
                return None
            gaps.add(int(item))
    return int(parts[1]), frozenset(gaps)


def follow_cursor(seqs: Sequence[int], previous: Cursor | None) -> str:
    """The cursor after reading rows numbered `seqs` (ascending) from `previous` (None: a tail read,
    whose first row is where the reader's history begins)."""
    if previous is None:
        if not seqs:
            return "pg:0"
        last, gaps, floor = seqs[-1], set(), seqs[0]
    else:
        last, gaps, floor = previous[0], set(previous[1]), previous[0]
        last = max([last, *seqs])
    seen = set(seqs)
    gaps -= seen
    gaps.update(n for n in range(max(floor, last - GAP_WINDOW) + 1, last) if n not in seen)
    gaps = {n for n in gaps if n > last - GAP_WINDOW}
    kept = sorted(gaps)[-MAX_GAPS:]
    return f"pg:{last}:{','.join(map(str, kept))}" if kept else f"pg:{last}"
