"""The audit log: who changed what, when, from where, before/after, why — and whether it took effect.

Format: JSON lines (`audit.jsonl`, mode 0600), one entry per line, appended with O_APPEND and fsynced
while the store lock is held. Why not TinyDB here: TinyDB rewrites the whole file on every write
(70 ms at 10k entries, 290 ms at 50k), so an append-only log would get slower forever; an append
costs the same at any size (bench/bench_store.py).

Entry kinds (`kind`):
- "change": a host or VM record change, appended *before* the file that holds the record is replaced
  (audit first, then act). If the replacement then fails, an "outcome" entry naming it says so; if
  the writer died in between, the chain of a record's entries shows it (`fold`: an entry whose
  `after` is not the next entry's `before`, or not the record in force, is "not-applied").
- "intent" / "outcome": an action (start, stop, drain...). The intent is written before the action
  touches anything, the outcome (ok / failed / refused / timed-out / abandoned, with the real message)
  after. An intent with no outcome reads as "outcome unknown" until the next start reconciles it.
- "event": a one-shot entry (a refusal).

Crash safety: an entry is complete once its line ends in "\\n"; a writer killed mid-append can leave
at most one unterminated tail, which readers ignore and the next writer truncates away before
appending. A write that fails (a full disk) is cut back to where it began, so nothing half-written
stays. Damaged lines are never skipped silently: `problems()` names each with its line number.
"""

from __future__ import annotations

import ipaddress
import json
import os
import pwd
import socket
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.services.store.files import StoreError, fsync_dir, os_error

OUTCOME_UNKNOWN = "outcome unknown"
IN_PROGRESS = "in progress"  # an open intent whose holder is alive (both backends fold to this)
NOT_APPLIED = "not-applied"
KINDS = ("change", "intent", "outcome", "event")
_MAX_LINE = 1 << 20
# Entries written before "kind" existed: these were record changes, everything else an action.
LEGACY_CHANGES = (
    "host.add",
    "host.import",
    "host.edit",
    "host.state",
    "host.remove",
    "vm.record",
    "vm.forget",
)  # an entry longer than this is damage, not data: reported, never parsed


@dataclass(frozen=True)
class Actor:
    """Who made a change: the account of the process's real uid, and what ssh claims about the client.

    The user comes from the password database (`getpwuid(getuid())`), never from $USER/$LOGNAME,
    which anyone can set. The ssh client address comes from $SSH_CONNECTION: it is only as true as
    the environment, so it is kept as extra detail and labelled "claimed".
    """

    user: str
    remote: str | None = None
    uid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "uid": self.uid, "from": self.remote}

    def __str__(self) -> str:
        return f"{self.user} (ssh from {self.remote}, claimed)" if self.remote else self.user


def current_actor(environ: Mapping[str, str] | None = None) -> Actor:
    env = os.environ if environ is None else environ
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    remote = None
    # SSH_CONNECTION is "client_ip client_port server_ip server_port"; SSH_CLIENT is the older form.
    for var in ("SSH_CONNECTION", "SSH_CLIENT"):
        fields = env.get(var, "").split()
        if fields:
            try:
                remote = str(ipaddress.ip_address(fields[0]))
            except ValueError:
                remote = None  # not an address: nothing worth recording
            break
    return Actor(user, remote, uid)


def machine() -> str:
    return socket.gethostname() or "?"


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AuditEntry:
    when: str  # ISO 8601, UTC
    who: Actor
    what: str  # e.g. "host.add", "host.state", "vm.stop"
    host: str | None
    before: Any
    after: Any
    reason: str | None
    id: str = field(default_factory=new_id)
    target: str | None = None
    intent: str | None = None  # an outcome names its intent's (or change's) id
    result: str | None = None  # None on an intent and on a change in force
    kind: str = "change"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "when": self.when,
            "who": self.who.to_json(),
            "what": self.what,
            "host": self.host,
            "target": self.target,
            "intent": self.intent,
            "result": self.result,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, raw: Any) -> AuditEntry:
        """Parse one stored entry; raises ValueError saying what is wrong (never KeyError/TypeError)."""
        # dict, not Mapping: json.loads makes dicts, and the ABC check costs a third of a read.
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        who = raw.get("who")
        if not isinstance(who, dict):
            raise ValueError(f'"who" must be an object like {{"user": ...}}, got {type(who).__name__}')
        user, remote, uid = who.get("user"), who.get("from"), who.get("uid")
        if not isinstance(user, str) or not isinstance(remote, str | None):
            raise ValueError('"who" must name a "user" (text) and "from" (text or null)')
        if uid is not None and (isinstance(uid, bool) or not isinstance(uid, int)):
            raise ValueError('"who.uid" must be a whole number or null')
        text = {k: raw.get(k) for k in ("when", "what", "host", "target", "intent", "result", "reason")}
        for key, value in text.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key!r} must be text or null, got {type(value).__name__}")
        if text["when"] is None or text["what"] is None:
            raise ValueError('"when" and "what" are required')
        kind = raw.get("kind") or ("change" if text["what"] in LEGACY_CHANGES else "event")
        if kind not in KINDS:
            raise ValueError(f'"kind" must be one of {", ".join(KINDS)}, got {kind!r}')
        entry_id = raw.get("id")
        if entry_id is not None and not isinstance(entry_id, str):
            raise ValueError('"id" must be text')
        return cls(
            when=str(text["when"]),
            who=Actor(user, remote, uid),
            what=str(text["what"]),
            host=text["host"],
            before=raw.get("before"),
            after=raw.get("after"),
            reason=text["reason"],
            # Entries written before ids existed get a stable one from their position (see read()).
            id=entry_id or "",
            target=text["target"],
            intent=text["intent"],
            result=text["result"],
            kind=str(kind),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class AuditRead:
    entries: list[AuditEntry]
    problems: list[str]


class AuditLog:
    """Append-only JSON-lines file. Callers hold the store lock around `append`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entries: list[AuditEntry]) -> None:
        """Durably append whole lines, or nothing: a failed write is cut back and raises StoreError."""
        if not entries:
            return
        data = "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in entries).encode("utf-8")
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(os_error(self.path, "cannot open", exc)) from None
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)  # an older vmdeck made it 0640: who did what is nobody else's
            self._drop_torn_tail(fd)
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:  # write() may be partial on signals or full disks
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as exc:
                # Nothing half-written may stay: cut back to where this append began.
                try:
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                except OSError:
                    pass
                raise StoreError(os_error(self.path, "cannot append to", exc)) from None
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)

    @staticmethod
    def _drop_torn_tail(fd: int) -> None:
        """Cut an unterminated last line (a writer killed mid-append) so it cannot merge with ours."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            chunk = os.pread(fd, pos - start, start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                os.ftruncate(fd, start + newline + 1)
                return
            pos = start
        os.ftruncate(fd, 0)

    def read(self) -> AuditRead:
        """Every complete entry, oldest first, and every damaged line named with its number.

        An unterminated last line is a write in progress (or a killed writer's): skipped, not damage.
        """
        entries: list[AuditEntry] = []
        problems: list[str] = []
        name = self.path.name
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return AuditRead(entries, problems)
        except OSError as exc:
            raise StoreError(os_error(self.path, "cannot read", exc)) from None
        with handle:
            try:
                for number, line in enumerate(_lines(handle), start=1):
                    if line is None:
                        problems.append(f"{name}:{number}: line longer than {_MAX_LINE} bytes (damaged)")
                        continue
                    if not line.endswith(b"\n"):
                        break
                    if not line.strip():
                        problems.append(f"{name}:{number}: empty line")
                        continue
                    try:
                        entry = AuditEntry.from_json(json.loads(line))
                    except RecursionError:
                        problems.append(f"{name}:{number}: nested too deeply")
                        continue
                    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                        problems.append(f"{name}:{number}: {_short(exc)}")
                        continue
                    entries.append(entry if entry.id else replace(entry, id=f"line-{number}"))
            except OSError as exc:
                raise StoreError(os_error(self.path, "cannot read", exc)) from None
        return AuditRead(entries, problems)

    def entries(self, host: str | None = None) -> Iterator[AuditEntry]:
        """Completed entries as stored, oldest first (damaged lines: see `read().problems`)."""
        for entry in self.read().entries:
            if host is None or entry.host == host:
                yield entry


def _lines(handle: Any) -> Iterator[bytes | None]:
    """Lines of a binary file, each bounded: an over-long line yields None (and is skipped whole)."""
    while True:
        line = handle.readline(_MAX_LINE + 1)
        if not line:
            return
        if len(line) > _MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(_MAX_LINE + 1)
            yield None
            continue
        yield line


def _short(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, json.JSONDecodeError):
        text = f"not valid JSON ({exc.msg} at column {exc.colno})"
    elif isinstance(exc, UnicodeDecodeError):
        text = "not valid UTF-8"
    return text[:200]


def record_key(entry: AuditEntry) -> str | None:
    """The record a change entry changes: "host:NAME" or "vm:UUID" (None for other entries)."""
    if entry.kind != "change":
        return None
    if entry.what.startswith("host.") and entry.host:
        return f"host:{entry.host}"
    if entry.what.startswith("vm."):
        doc = entry.after if isinstance(entry.after, Mapping) else entry.before
        if isinstance(doc, Mapping) and isinstance(doc.get("uuid"), str):
            return f"vm:{doc['uuid'].lower()}"
    return None


def fold(entries: Iterable[AuditEntry], current: Mapping[str, Any] | None = None) -> list[AuditEntry]:
    """One entry per change or action, as a reader wants them (the file keeps every line).

    - an intent and its outcome become one entry: the intent's when/who/before/reason, the outcome's
      host, after and result; an intent with no outcome has result "outcome unknown";
    - a change with a failed outcome carries that result; a change that is not in force (the next
      change of the same record did not start from its `after`, or — for the last one — the record in
      force, given as `current` {record_key: json or None}, differs) has result "not-applied".
    """
    entries = list(entries)
    outcomes = {e.intent: e for e in entries if e.kind == "outcome" and e.intent}
    last_of: dict[str, AuditEntry] = {}
    not_applied: set[str] = set()
    for e in entries:
        key = record_key(e)
        if key is None or e.id in outcomes:
            continue
        prev = last_of.get(key)
        if prev is not None and prev.after != e.before:
            not_applied.add(prev.id)
        last_of[key] = e
    if current is not None:
        for key, e in last_of.items():
            if current.get(key) != e.after:
                not_applied.add(e.id)
    out: list[AuditEntry] = []
    ids = {e.id for e in entries}
    for e in entries:
        if e.kind == "outcome" and e.intent in ids:
            continue  # shown with its intent (an outcome whose intent line is damaged stays visible)
        done = outcomes.get(e.id)
        if done is not None and e.kind == "change":
            out.append(replace(e, result=done.result or NOT_APPLIED, intent=done.id))
        elif done is not None:
            out.append(
                replace(
                    e,
                    host=done.host or e.host,
                    after=done.after,
                    reason=e.reason or done.reason,
                    result=done.result or "ok",
                    intent=done.id,
                )
            )
        elif e.kind == "intent":
            out.append(replace(e, result=OUTCOME_UNKNOWN))
        elif e.id in not_applied:
            out.append(replace(e, result=NOT_APPLIED))
        else:
            out.append(e)
    return out


@dataclass(frozen=True)
class AuditPage:
    """A bounded read of the audit log as stored (raw: intents and outcomes apart), oldest first.

    `cursor` is opaque (each backend has its own form): pass it to `audit_after` to read what was
    appended since. `more`: the limit cut the page, read again at once. `reset`: the cursor no longer
    fits the log (it was replaced, or the cursor is another store's): `entries` are then the latest
    ones, as from `audit_tail`, and what the reader held from the old log is gone.
    """

    entries: list[AuditEntry]
    cursor: str
    more: bool = False
    reset: bool = False
