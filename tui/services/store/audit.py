"""The audit log: who changed what, when, from where, before/after, and why.

Format: JSON lines (`audit.jsonl`), one entry per line, appended with O_APPEND and fsynced while the
store lock is held. Why not TinyDB here: TinyDB rewrites the whole file on every write (70 ms at 10k
entries, 290 ms at 50k), so an append-only log would get slower forever; an append costs the same at
any size (bench/bench_store.py). Crash safety: an entry is complete once its line ends in "\n"; a
writer killed mid-append can leave at most one unterminated tail, which readers ignore and the next
writer truncates away before appending, so completed entries are never lost or merged.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.services.store.files import fsync_dir

OUTCOME_UNKNOWN = "outcome unknown"
NOT_APPLIED = "not-applied"


@dataclass(frozen=True)
class Actor:
    """Who made a change: the local user and, over ssh, the client's address."""

    user: str
    remote: str | None = None
    uid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "uid": self.uid, "from": self.remote}

    def __str__(self) -> str:
        return f"{self.user}@{self.remote}" if self.remote else self.user


def current_actor(environ: Mapping[str, str] | None = None) -> Actor:
    env = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    remote = None
    # SSH_CONNECTION is "client_ip client_port server_ip server_port"; SSH_CLIENT is the older form.
    for var in ("SSH_CONNECTION", "SSH_CLIENT"):
        fields = env.get(var, "").split()
        if fields:
            remote = fields[0]
            break
    return Actor(user, remote)


@dataclass(frozen=True)
class AuditEntry:
    when: str  # ISO 8601, UTC
    who: Actor
    what: str  # e.g. "host.add", "host.state"
    host: str | None
    before: Any
    after: Any
    reason: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # unique; kept when copied between stores
    target: str | None = None  # the object acted on ("vm:web1", "host:node1"), when not just a host
    intent: str | None = None  # an outcome entry names its intent's id
    result: str | None = None  # an outcome's "ok" | "failed" | ...; None on intents and plain changes
    kind: str = "change"  # "change" | "intent" | "outcome" | "event"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "when": self.when,
            "who": self.who.to_json(),
            "what": self.what,
            "host": self.host,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "intent": self.intent,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AuditEntry:
        who = raw.get("who") or {}
        # Entries written before ids existed get one derived from their content: stable across reads,
        # so copying a store twice (vmdeck store copy) recognises entries it already copied.
        ident = raw.get("id") or hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:32]
        return cls(
            when=str(raw["when"]),
            who=Actor(str(who.get("user", "?")), who.get("from"), who.get("uid")),
            what=str(raw["what"]),
            host=raw.get("host"),
            before=raw.get("before"),
            after=raw.get("after"),
            reason=raw.get("reason"),
            id=str(ident),
            target=raw.get("target"),
            intent=raw.get("intent"),
            result=raw.get("result"),
            kind=str(raw.get("kind") or "change"),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditLog:
    """Append-only JSON-lines file. Callers hold the store lock around `append`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        data = "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in entries).encode("utf-8")
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            self._drop_torn_tail(fd)
            view = memoryview(data)
            while view:  # write() may be partial on signals or full disks
                view = view[os.write(fd, view) :]
            os.fsync(fd)
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

    def entries(self, host: str | None = None) -> Iterator[AuditEntry]:
        """Completed entries, oldest first; an unterminated tail (a write in progress) is skipped."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                try:
                    entry = AuditEntry.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged line (disk fault): keep reading the rest
                if host is None or entry.host == host:
                    yield entry


# record_key and fold: as on branch wave1/integrity (the local store's audit), which replaces this file.
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
