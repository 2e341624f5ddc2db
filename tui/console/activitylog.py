"""The Activity pane's model: every action this console ran, libvirt lifecycle events, the store's audit.

One bounded list (`ActivityLog`) of display-ready `LogEntry`s, oldest first, at most `limit` of them
(the oldest dropped). Entries are built here, once, from their three sources:
- `action_entry`: an action this console started or refused (from `Activity`, tui/console/activity.py),
  with its full result text and how long it took;
- `event_entry`: a `LifecycleEvent` the poller heard on a host's connection;
- `audit_entry`: a raw audit entry read from the store (`FleetStore.audit_tail` / `audit_after`); an
  outcome whose intent is in the log is merged into the intent's row (result, after, duration), as
  `vmdeck audit` folds them.

One change, one row: an action of this console that wrote an audit intent is keyed like that
intent's row ("audit:ID", from `Outcome.intent`), so the log finds the two by the same dict lookup
whichever arrives first (`joined`: the action's result, message and duration, the audit's who and
stored facts). The row stands where the action ended, as every action's row does. After a restart
the console has no action row: the audit's row alone, as for other admins' changes.

Every text from outside (VM names, reasons, libvirt and store messages) goes through `printable` here,
so the pane and the detail screen only ever draw safe text. Nothing here touches Textual: the app
feeds it on the UI loop, the pane draws it.
"""

from __future__ import annotations

import json
import threading
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
AUDITED = "this console; audited in the store"  # the detail's "Source" of a joined row


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
    # into the intent's row: Enter parses them back (tui/console/activitydetail.py). An action's row
    # holds them too once its audit entries were read (`joined`).
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


def detail_text(value: Any) -> str:
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
    intent: str | None = None,
) -> LogEntry:
    """An action this console ran (or refused): `result` is "ok", "FAILED", "REFUSED", ...

    With `intent` (the audit intent the action path wrote for it) the row is keyed as that
    intent's row, so the log joins the two (`joined`)."""
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
        ("Message", detail_text(message)),
    ]
    fields += [(printable(k), detail_text(v)) for k, v in details]
    if intent:  # replaced by the stored entry's ids once it is read (`joined`)
        fields.append(("Entry id", f"{printable(intent)} (the store's audit intent, not read yet)"))
    return _hay(
        LogEntry(
            f"{AUDIT}:{intent}" if intent else f"{ACTION}:{number}",
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


def audit_message(entry: AuditEntry) -> str:
    after = entry.after if isinstance(entry.after, dict) else {}
    message = after.get("message")
    if isinstance(message, str) and message:
        return message
    return entry.reason or ""


def audit_entry(entry: AuditEntry, intent: LogEntry | None = None) -> LogEntry:
    """A stored entry; with `intent` (its intent's row) the outcome `entry` merged into that row.

    Cheap on purpose (100,000 of these are built when the console opens): the detail screen's
    fields are made from the kept entries only when asked (`detail_fields`)."""
    if intent is not None and intent.source == ACTION:
        # This console's own action: the outcome alone, under the action's key; `joined` adds it.
        alone = audit_entry(entry)
        return replace(alone, key=intent.key, audit=intent.audit, outcome=alone.audit)
    at = _epoch(entry.when)
    result = entry.result or {"change": "done", "intent": "running", "event": ""}.get(entry.kind, "")
    target = printable(entry.target or entry.host or "")
    if intent is not None and intent.audit is not None:
        return _hay(
            replace(
                intent,
                result=printable(result),
                message=printable(audit_message(entry) or intent.message, keep_newlines=True),
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
            printable(audit_message(entry), keep_newlines=True),
            audit=_compact(entry),
        )
    )


def _compact(entry: AuditEntry) -> str:
    return json.dumps(entry.to_json(), separators=(",", ":"), default=str)


def joined(old: LogEntry, new: LogEntry) -> LogEntry:
    """The row of one change from two sources: this console's action (its result, message, duration)
    and the store's entries of it (who as recorded, the stored intent and outcome). Two rows of one
    source: the newer replaces the older, as before."""
    if old.source == new.source or EVENT in (old.source, new.source):
        return new
    action, stored = (old, new) if old.source == ACTION else (new, old)
    return _hay(
        replace(
            action,
            who=stored.who or action.who,
            audit=stored.audit or action.audit,
            outcome=stored.outcome or action.outcome,
        )
    )


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
        # Held while a row moves to the end (absent for a moment): the audit worker looking an
        # intent up (`audit_rows`) takes it when it finds nothing, so it never misses a moving row.
        self._moving = threading.Lock()

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
        """Append (an entry whose key is present replaces it where it is, or joins it: `joined`)."""
        store, counts = self._entries, self.counts
        for entry in entries:
            new_action = entry.source == ACTION
            old = store.get(entry.key)
            if old is not None:
                counts[old.source] -= 1
                if old.source != entry.source:
                    entry = joined(old, entry)
                    if new_action:  # it ended after its audit row came: the row goes where actions go
                        with self._moving:
                            del store[entry.key]
                            store[entry.key] = entry
                if self.latest is old:
                    self.latest = entry
            counts[entry.source] += 1
            store[entry.key] = entry
            if new_action:
                self.latest = entry
        self._trim()
        self.version += 1

    def add_history(self, entries: Sequence[LogEntry]) -> None:
        """Older entries (the audit read when the console opened) go before everything heard since;
        an action of this console that ended meanwhile takes its audit entry's facts (`joined`)."""
        newer = self._entries
        history = {e.key: e for e in entries}
        for key, heard in newer.items():  # what was heard since: few, next to the history
            stored = history.pop(key, None)
            if stored is not None and heard.source == ACTION:
                newer[key] = joined(heard, stored)
                if self.latest is heard:
                    self.latest = newer[key]
        self._entries = history
        self._entries.update(newer)
        self._trim()
        self._count()
        self.version += 1

    def clear_audit(self) -> None:
        """The store's log was replaced: what was read from it no longer describes it (this console's
        actions stay, without the facts read from the old log)."""
        self._entries = {
            k: replace(e, audit=None, outcome=None) if e.audit or e.outcome else e
            for k, e in self._entries.items()
            if e.source != AUDIT
        }
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
        earlier in `entries`) with the merged one (an action's row of this console: joined by `add`);
        an outcome whose intent is gone stands alone."""
        rows: dict[str, LogEntry] = {}
        for entry in entries:
            if entry.kind == "outcome" and entry.intent:
                key = f"{AUDIT}:{entry.intent}"
                intent = rows.get(key) or self._entries.get(key)
                if intent is None:  # not in the log, or moving this instant (`add`): ask again
                    with self._moving:
                        intent = self._entries.get(key)
                if intent is not None:
                    rows[key] = audit_entry(entry, intent)
                    continue
            row = audit_entry(entry)
            rows[row.key] = row
        return list(rows.values())
