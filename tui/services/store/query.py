"""Which audit entries a query asks for (`vmdeck audit --host/--vm/--actor/--since`): one rule.

The local backend filters with `matches`; the PostgreSQL backend translates the same rule into SQL
(postgres/intents.py `IntentTables.audit`), and the backend tests check both give the same answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tui.services.store.audit import AuditEntry
from tui.services.store.files import StoreError

_AGO = re.compile(r"(\d{1,6})\s*([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise; 2026 and 2026-12 start on their first
    day), or an age such as 30m, 12h, 7d."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return (now or datetime.now(UTC)) - timedelta(seconds=int(ago[1]) * _UNIT_S[ago[2]])
    if re.fullmatch(r"\d{4}(-\d{2})?", text):  # a year, or a month: from its first day
        text += "-01-01" if len(text) == 4 else "-01"
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StoreError(
            f"--since {text!r}: expected an ISO date/time (2026-12-01, 2026-12-01T21:00) or an age (30m, 12h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def entry_time(entry: AuditEntry) -> datetime | None:
    try:
        when = datetime.fromisoformat(entry.when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def concerns_vm(entry: AuditEntry, vm: str) -> bool:
    """The entry's target is the VM, or it is a VM record (vm.*) whose before/after names it."""
    if entry.target in (vm, f"vm:{vm}"):
        return True
    if not entry.what.startswith("vm."):
        return False
    return any(isinstance(side, dict) and side.get("name") == vm for side in (entry.before, entry.after))


def by_actor(entry: AuditEntry, actor: str) -> bool:
    """`alice` matches alice from anywhere; `alice@10.0.0.5` only from there."""
    return actor in (entry.who.user, str(entry.who))


def matches(
    entry: AuditEntry,
    host: str | None = None,
    vm: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> bool:
    if host is not None and entry.host != host:
        return False
    if vm is not None and not concerns_vm(entry, vm):
        return False
    if actor is not None and not by_actor(entry, actor):
        return False
    if since is not None:
        when = entry_time(entry)
        if when is None or when < since:
            return False
    return True
