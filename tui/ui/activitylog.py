"""The Activity pane's model: every action this console ran, libvirt lifecycle events, the store's audit.

One bounded list (`ActivityLog`) of display-ready `LogEntry`s, oldest first, at most `limit` of them
(the oldest dropped). Entries are built here, once, from their three sources:
- `action_entry`: an action this console started or refused (from `Activity`, tui/ui/activity.py),
  with its full result text and how long it took;
- `event_entry`: a `LifecycleEvent` the poller heard on a host's connection;
- `audit_entry`: a raw audit entry read from the store (`FleetStore.audit_tail` / `audit_after`); an
  outcome whose intent is in the log is merged into the intent's row (result, after, duration), as
  `vmdeck audit` folds them.

Every text from outside (VM names, reasons, libvirt and store messages) goes through `printable` here,
so the pane and the detail screen only ever draw safe text. Nothing here touches Textual: the app
feeds it on the UI loop, the pane draws it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from tui.core.lifecycle import LifecycleEvent
from tui.core.printable import printable
from tui.services.store.audit import AuditEntry

# At most this many entries are kept (actions, events and audit entries together): the oldest go.
MAX_ENTRIES = 100_000
# The audit entries read when the console opens (the newest ones), and per follow-up read.
AUDIT_WINDOW = 100_000
AUDIT_PAGE = 5_000
# A detail field longer than this is cut (an audit "after" can be a whole domain XML).
DETAIL_LIMIT = 20_000

ACTION, EVENT, AUDIT = "action", "event", "audit"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the Activity pane and what its detail screen shows (all text already printable)."""

    key: str  # unique: "action:N", "event:N", "audit:ID"
    source: str  # ACTION, EVENT or AUDIT
    at: float  # seconds since the epoch (UTC)
    who: str
    what: str
    target: str
    result: str
    message: str  # the whole result or error text (the row shows its first line)
    took: float | None = None  # seconds, for actions
    details: tuple[tuple[str, str], ...] = ()  # (label, text) shown by Enter (actions, events)
    # A stored entry as compact JSON (a tenth of the parsed entry's memory), and its outcome merged
    # into the intent's row: Enter parses them back (`detail_fields`).
    audit: str | None = None
    outcome: str | None = None
    hay: str = field(default="", compare=False)  # lower-cased search text for the `/` filter

    def cells(self) -> tuple[str, ...]:
        return (
            when_text(self.at),
            self.source,
            self.who,
            self.what,
            self.target,
            self.result,
            took_text(self.took),
            self.message.split("\n", 1)[0],
        )


def _hay(entry: LogEntry) -> LogEntry:
    """The entry with its search text, and its message bounded (a row never holds a megabyte)."""
    message = entry.message if len(entry.message) <= DETAIL_LIMIT else entry.message[:DETAIL_LIMIT] + " …"
    fields = (entry.source, entry.who, entry.what, entry.target, entry.result, message)
    return replace(entry, message=message, hay="\n".join(fields).lower() + "\n" + when_iso(entry.at))


def when_text(at: float) -> str:
    """Today (UTC): "23:41:02"; another day: "12-01 23:41"."""
    moment = time.gmtime(at)
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d", time.gmtime()):
        return time.strftime("%H:%M:%S", moment)
    return time.strftime("%m-%d %H:%M", moment)


def when_iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def took_text(took: float | None) -> str:
    if took is None:
        return ""
    if took < 10:
        return f"{took:.1f}s"
    if took < 3600:
        return f"{took / 60:.0f}m" if took >= 90 else f"{took:.0f}s"
    return f"{took / 3600:.1f}h"


def _text(value: Any) -> str:
    """A JSON-like value as indented text for the detail screen, bounded."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > DETAIL_LIMIT:
        text = text[:DETAIL_LIMIT] + f"\n… ({len(text) - DETAIL_LIMIT} more characters)"
    return printable(text, keep_newlines=True)


# --- the three sources -----------------------------------------------------------------------------
def action_entry(
    number: int,
    *,
    label: str,
    what: str,
    target: str,
    who: str,
    result: str,
    message: str,
    began: float,
    ended: float,
    reason: str | None = None,
    details: Sequence[tuple[str, Any]] = (),
) -> LogEntry:
    """An action this console ran (or refused): `result` is "ok", "FAILED", "REFUSED", ..."""
    took = max(0.0, ended - began) if began else None
    fields: list[tuple[str, str]] = [
        ("Source", "this console"),
        ("Action", printable(label)),
        ("What", printable(what or "-")),
        ("Target", printable(target or "-")),
        ("Who", printable(who)),
        ("Started", when_iso(began) if began else "-"),
        ("Ended", when_iso(ended)),
        ("Took", took_text(took) or "-"),
        ("Result", result),
        ("Reason", printable(reason or "-", keep_newlines=True)),
        ("Message", _text(message)),
    ]
    fields += [(printable(k), _text(v)) for k, v in details]
    return _hay(
        LogEntry(
            f"{ACTION}:{number}",
            ACTION,
            ended,
            printable(who),
            printable(what or label),
            printable(target),
            result,
            printable(message, keep_newlines=True),
            took,
            tuple(fields),
        )
    )


def event_entry(number: int, event: LifecycleEvent) -> LogEntry:
    vm, host = printable(event.vm), printable(event.host)
    fields = (
        ("Source", f"libvirt lifecycle event on host {host}"),
        ("VM", vm),
        ("Event", printable(event.event)),
        ("Detail", printable(event.detail or "-")),
        ("Heard", when_iso(event.at)),
    )
    return _hay(
        LogEntry(
            f"{EVENT}:{number}",
            EVENT,
            event.at,
            host,
            printable(event.event),
            vm,
            "",
            printable(event.detail),
            None,
            fields,
        )
    )


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _message(entry: AuditEntry) -> str:
    after = entry.after if isinstance(entry.after, dict) else {}
    message = after.get("message")
    if isinstance(message, str) and message:
        return message
    return entry.reason or ""


def audit_entry(entry: AuditEntry, intent: LogEntry | None = None) -> LogEntry:
    """A stored entry; with `intent` (its intent's row) the outcome `entry` merged into that row.

    Cheap on purpose (100,000 of these are built when the console opens): the detail screen's
    fields are made from the kept entries only when asked (`detail_fields`)."""
    at = _epoch(entry.when)
    result = entry.result or {"change": "done", "intent": "running", "event": ""}.get(entry.kind, "")
    target = printable(entry.target or entry.host or "")
    if intent is not None and intent.audit is not None:
        return _hay(
            replace(
                intent,
                result=printable(result),
                message=printable(_message(entry) or intent.message, keep_newlines=True),
                took=max(0.0, at - intent.at) if at and intent.at else None,
                target=intent.target or target,
                outcome=_compact(entry),
            )
        )
    return _hay(
        LogEntry(
            f"{AUDIT}:{entry.id}",
            AUDIT,
            at,
            printable(entry.who.user),
            printable(entry.what),
            target,
            printable(result),
            printable(_message(entry), keep_newlines=True),
            audit=_compact(entry),
        )
    )


def _compact(entry: AuditEntry) -> str:
    return json.dumps(entry.to_json(), separators=(",", ":"), default=str)


def _parsed(raw: str | None) -> AuditEntry | None:
    return None if raw is None else AuditEntry.from_json(json.loads(raw))


def detail_fields(entry: LogEntry) -> list[tuple[str, str]]:
    """What Enter shows of an entry, field by field (printable text)."""
    stored = _parsed(entry.audit)
    if stored is None:
        return list(entry.details)
    done = _parsed(entry.outcome)
    fields: list[tuple[str, str]] = [
        ("Source", "the store's audit log"),
        ("Kind", f"{stored.kind} + outcome" if done is not None else stored.kind),
        ("What", printable(stored.what)),
        ("Host", printable((done.host if done else None) or stored.host or "-")),
        ("Target", printable(stored.target or "-")),
        ("Who", printable(str(stored.who))),
        ("When", printable(stored.when)),
    ]
    if done is not None:
        fields += [("Ended", printable(done.when)), ("Took", took_text(entry.took) or "-")]
    fields += [
        ("Result", entry.result or "-"),
        ("Reason", printable(stored.reason or (done.reason if done else None) or "-", keep_newlines=True)),
        ("Before", _text(stored.before)),
        ("After", _text(done.after if done is not None else stored.after)),
        ("Message", _text(_message(done or stored) or None)),
        ("Entry id", printable(stored.id) + (f" (outcome {printable(done.id)})" if done else "")),
    ]
    return fields


# --- the list --------------------------------------------------------------------------------------
class ActivityLog:
    """Entries oldest first, bounded; `version` moves on every change (the pane redraws when it did)."""

    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self.limit = limit
        self._entries: dict[str, LogEntry] = {}
        self._numbers = 0
        self.version = 0
        self.audit_cursor: str | None = None  # where the next audit read continues (store's own form)
        self.audit_error: str | None = None  # the last audit read's failure, shown in the header
        self.events_dropped = 0  # lifecycle events not kept: more arrived at once than the inbox holds
        self.latest: LogEntry | None = None  # the newest action's row: the status line points at it
        self.counts: dict[str, int] = {ACTION: 0, EVENT: 0, AUDIT: 0}  # entries kept, by source

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self._entries.values())

    def get(self, key: str) -> LogEntry | None:
        return self._entries.get(key)

    def next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def add(self, entries: Iterable[LogEntry]) -> None:
        """Append (an entry whose key is present replaces it where it is)."""
        store, counts = self._entries, self.counts
        for entry in entries:
            if entry.key not in store:
                counts[entry.source] += 1
            store[entry.key] = entry
            if entry.source == ACTION:
                self.latest = entry
        self._trim()
        self.version += 1

    def add_history(self, entries: Sequence[LogEntry]) -> None:
        """Older entries (the audit read when the console opened) go before everything heard since."""
        newer = self._entries
        self._entries = {e.key: e for e in entries if e.key not in newer}
        self._entries.update(newer)
        self._trim()
        self._count()
        self.version += 1

    def clear_audit(self) -> None:
        """The store's log was replaced: what was read from it no longer describes it."""
        self._entries = {k: e for k, e in self._entries.items() if e.source != AUDIT}
        self._count()
        self.version += 1

    def _count(self) -> None:
        self.counts = {ACTION: 0, EVENT: 0, AUDIT: 0}
        for entry in self._entries.values():
            self.counts[entry.source] += 1

    def _trim(self) -> None:
        extra = len(self._entries) - self.limit
        if extra <= 0:
            return
        if extra > self.limit:  # a flood: rebuilding is cheaper than popping one by one
            self._entries = dict(list(self._entries.items())[-self.limit :])
            self._count()
            return
        keys = iter(self._entries)
        for old in [next(keys) for _ in range(extra)]:
            self.counts[self._entries.pop(old).source] -= 1

    def newest_first(self) -> list[LogEntry]:
        return list(reversed(self._entries.values()))

    # --- the audit, as read from the store ----------------------------------------------------------
    def audit_rows(self, entries: Sequence[AuditEntry]) -> list[LogEntry]:
        """Rows for raw stored entries: an outcome replaces its intent's row (found in this log or
        earlier in `entries`) with the merged one; an outcome whose intent is gone stands alone."""
        rows: dict[str, LogEntry] = {}
        for entry in entries:
            if entry.kind == "outcome" and entry.intent:
                key = f"{AUDIT}:{entry.intent}"
                intent = rows.get(key) or self._entries.get(key)
                if intent is not None:
                    rows[key] = audit_entry(entry, intent)
                    continue
            row = audit_entry(entry)
            rows[row.key] = row
        return list(rows.values())
