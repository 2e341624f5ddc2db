"""The local store's bounded audit reads: the last N entries, and the entries appended after a cursor.

A reader that follows the log (the console's Activity pane) must never read the whole file on each
change: at 100,000 entries that is seconds of JSON. `read_tail` reads the file backwards in chunks
until it has N complete lines; `read_after` seeks to the cursor and reads forward, bounded in bytes
and entries. The cursor is "INODE:OFFSET" (the end of the last complete line read): appends happen
under the store lock and only ever add whole lines, so an offset stays valid until the file is
replaced (another inode) or cut (smaller than the offset), which reads as `reset`.

An unterminated last line is an append in progress: left for the next read. A damaged line is
skipped here (`vmdeck audit` names it with its number); an entry without an id (written before ids
existed) gets one from its byte offset, stable across reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from tui.services.store.audit import _MAX_LINE, AuditEntry, AuditPage
from tui.services.store.files import StoreError, os_error

CHUNK = 1 << 20
# Bytes read by one `read_after`: a burst of appends is taken over several reads (`more`).
READ_LIMIT = 16 << 20


def _cursor(ino: int, offset: int) -> str:
    return f"{ino}:{offset}"


def _parse_cursor(cursor: str) -> tuple[int, int] | None:
    ino, sep, offset = cursor.partition(":")
    if not sep or not ino.isdigit() or not offset.isdigit():
        return None
    return int(ino), int(offset)


def _entries(data: bytes, base: int) -> list[AuditEntry]:
    """Complete lines of `data` (which starts at file offset `base`) as entries."""
    out: list[AuditEntry] = []
    offset = base
    for line in data.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        if len(line) > _MAX_LINE or not line.strip():
            continue
        try:
            entry = AuditEntry.from_json(json.loads(line))
        except (ValueError, RecursionError):
            continue
        if not entry.id:
            entry = replace(entry, id=f"offset-{start}")
        out.append(entry)
    return out


def _open(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(os_error(path, "cannot read", exc)) from None


def read_tail(path: Path, limit: int) -> AuditPage:
    """The last `limit` complete entries, oldest first; the cursor follows the last of them."""
    fd = _open(path)
    if fd is None:
        return AuditPage([], _cursor(0, 0))
    try:
        st = os.fstat(fd)
        end = st.st_size
        # Only complete lines: an unterminated tail is an append in progress.
        tail = os.pread(fd, min(end, CHUNK), max(0, end - CHUNK))
        end -= len(tail) - (tail.rfind(b"\n") + 1)
        chunks: list[bytes] = []
        pos, lines = end, 0
        while pos > 0 and lines <= limit:
            start = max(0, pos - CHUNK)
            chunk = os.pread(fd, pos - start, start)
            chunks.append(chunk)
            lines += chunk.count(b"\n")
            pos = start
    except OSError as exc:
        raise StoreError(os_error(path, "cannot read", exc)) from None
    finally:
        os.close(fd)
    data = b"".join(reversed(chunks))
    cut = 0
    if lines > limit:  # drop the oldest lines beyond the limit (and any partial first line)
        for _ in range(lines - limit):
            cut = data.index(b"\n", cut) + 1
    entries = _entries(data[cut:], pos + cut)
    return AuditPage(entries[-limit:] if limit else [], _cursor(st.st_ino, end))


def read_after(path: Path, cursor: str, limit: int) -> AuditPage:
    """At most `limit` entries appended after `cursor`; `reset` when the file is no longer the same."""
    parsed = _parse_cursor(cursor)
    fd = _open(path)
    if fd is None:
        return AuditPage([], _cursor(0, 0), reset=parsed is None or parsed != (0, 0))
    try:
        st = os.fstat(fd)
        if parsed is None or (parsed[0] != 0 and parsed[0] != st.st_ino) or parsed[1] > st.st_size:
            os.close(fd)
            fd = -1
            page = read_tail(path, limit)
            return AuditPage(page.entries, page.cursor, reset=True)
        offset = parsed[1] if parsed[0] == st.st_ino else 0  # (0, 0): no file yet when last read
        data = os.pread(fd, min(st.st_size - offset, READ_LIMIT), offset)
    except OSError as exc:
        raise StoreError(os_error(path, "cannot read", exc)) from None
    finally:
        if fd >= 0:
            os.close(fd)
    complete = data[: data.rfind(b"\n") + 1]
    if limit <= 0:
        return AuditPage([], _cursor(st.st_ino, offset), more=bool(complete))
    # Cut after `limit` lines, so the cursor says exactly where the next read starts.
    stop, count = 0, 0
    while count < limit and stop < len(complete):
        stop = complete.index(b"\n", stop) + 1
        count += 1
    more = stop < len(complete) or offset + len(data) < st.st_size
    return AuditPage(_entries(complete[:stop], offset), _cursor(st.st_ino, offset + stop), more=more)
