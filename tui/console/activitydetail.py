"""What Enter shows of an Activity entry, field by field (all text printable).

An action's and an event's fields were made when the entry was (`LogEntry.details`); a stored
entry's are made here from its compact JSON, only for the entry asked about (100,000 are kept). A
row that joins this console's action and its audit entries (tui/console/activitylog.py `joined`) shows
the action's fields — its whole result and duration — with who, the reason, before/after and the
entry ids as the store recorded them.
"""

from __future__ import annotations

import json

from tui.console.activitylog import ACTION, AUDITED, LogEntry, audit_message, detail_text, took_text
from tui.core.printable import printable
from tui.services.store.audit import AuditEntry


def _parsed(raw: str | None) -> AuditEntry | None:
    return None if raw is None else AuditEntry.from_json(json.loads(raw))


def detail_fields(entry: LogEntry) -> list[tuple[str, str]]:
    stored, done = _parsed(entry.audit), _parsed(entry.outcome)
    if stored is None and done is None:
        return list(entry.details)
    if entry.source == ACTION:
        return _joined_fields(entry, stored, done)
    assert stored is not None  # a stored row always holds its own entry
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
        ("Before", detail_text(stored.before)),
        ("After", detail_text(done.after if done is not None else stored.after)),
        ("Message", detail_text(audit_message(done or stored) or None)),
        ("Entry id", printable(stored.id) + (f" (outcome {printable(done.id)})" if done else "")),
    ]
    return fields


def _joined_fields(
    entry: LogEntry, stored: AuditEntry | None, done: AuditEntry | None
) -> list[tuple[str, str]]:
    """The action's own fields, who and the reason as recorded, then what the store holds of it."""
    first = stored or done
    assert first is not None
    recorded = {"Source": AUDITED, "Who": printable(str(first.who))}
    if stored is not None and stored.reason:
        recorded["Reason"] = printable(stored.reason, keep_newlines=True)
    fields = [(label, recorded.get(label, text)) for label, text in entry.details if label != "Entry id"]
    kind = "intent + outcome" if stored and done else "intent (outcome not read yet)" if stored else "outcome"
    ids = printable(stored.id) if stored else printable(entry.key.partition(":")[2])
    fields += [
        ("Audit", kind),
        ("Host", printable((done.host if done else None) or first.host or "-")),
        ("Intent at", printable(stored.when) if stored else "-"),
        ("Outcome at", printable(done.when) if done else "-"),
        ("Before", detail_text(stored.before if stored else None)),
        ("After", detail_text(done.after if done else first.after)),
        ("Entry id", ids + (f" (outcome {printable(done.id)})" if done else "")),
    ]
    return fields
