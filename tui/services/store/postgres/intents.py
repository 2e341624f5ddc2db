"""The PostgreSQL store's audit trail: an action's intent before it starts, its outcome after, the
intents a dead process left open, one-shot entries, and reading the log back (filtered and folded).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from tui.services.store.audit import IN_PROGRESS, OUTCOME_UNKNOWN, Actor, AuditEntry, AuditPage, fold
from tui.services.store.base import Lease
from tui.services.store.leases import pid_alive
from tui.services.store.postgres.tail import follow_cursor, parse_cursor
from tui.services.store.postgres.transaction import AUDIT_COLUMNS, Cursor, PostgresConnection, iso
from tui.services.store.query import matches, parse_since

# Open intents (no outcome yet), and whether the lease their action held is gone.
_OPEN_INTENTS = (
    "SELECT i.id, i.pid, i.machine, i.lease_key, "
    "  (i.lease_key IS NOT NULL AND (l.key IS NULL OR l.token IS DISTINCT FROM i.lease_token "
    "   OR l.expires <= now())) "
    "FROM vmdeck_intents i LEFT JOIN vmdeck_leases l ON l.key = i.lease_key"
)


class IntentTables(PostgresConnection):
    """vmdeck_audit and vmdeck_intents."""

    # --- actions: audit first, then act ------------------------------------------------------------------
    def begin(
        self,
        what: str,
        host: str | None,
        target: str,
        before: Any,
        reason: str | None,
        *,
        lease: Lease | None = None,
    ) -> str:
        """Commit the intent entry (who, what, target, before, reason) before the action starts.

        It stays open (vmdeck_intents) until `finish`; `reconcile_intents` closes those whose holder
        died, going by its lease (or, on this machine, its pid).
        """
        with self._tx() as cur:
            ident = self._audit(cur, what, host, before, None, reason, target=target, kind="intent")
            cur.execute(
                "INSERT INTO vmdeck_intents (id, lease_key, lease_token, pid, machine) VALUES (%s, %s, %s, %s, %s)",
                (
                    ident,
                    lease.key if lease else None,
                    lease.token if lease else None,
                    os.getpid(),
                    self.machine,
                ),
            )
            self._notify(cur, "audit", [target], what)
            return ident

    def finish(
        self,
        intent_id: str,
        result: str,
        after: Any,
        message: str | None,
        *,
        what: str | None = None,
        target: str | None = None,
    ) -> None:
        """Commit the outcome entry of an intent: ok | failed | refused | timed-out | abandoned.

        `what` and `target` name the action when the intent cannot be found (its id is unknown here)."""
        doc = dict(after) if isinstance(after, Mapping) else {"value": after}
        if message is not None:
            doc.setdefault("message", message)
        with self._tx() as cur:
            row = cur.execute(
                "SELECT what, host, target FROM vmdeck_audit WHERE id = %s", (intent_id,)
            ).fetchone()
            known_what, host, known_target = row if row else (None, None, None)
            what = known_what or what or "action"
            target = known_target or target
            host = doc["host"] if isinstance(doc.get("host"), str) else host
            why = None if result == "ok" else message
            self._audit(
                cur,
                what,
                host,
                None,
                doc,
                why,
                target=target,
                intent=intent_id,
                result=result,
                kind="outcome",
            )
            cur.execute("DELETE FROM vmdeck_intents WHERE id = %s", (intent_id,))
            self._notify(cur, "audit", [target], what)

    def _open_intents(self, cur: Cursor) -> list[tuple[str, bool]]:
        """(intent id, holder gone?): gone when its lease is, or its pid on this machine is dead."""
        rows = cur.execute(_OPEN_INTENTS).fetchall()
        return [
            (ident, bool(lease_gone) or (machine == self.machine and not pid_alive(pid)))
            for ident, pid, machine, _key, lease_gone in rows
        ]

    def reconcile_intents(self) -> list[str]:
        """Give every open intent whose holder is gone an "abandoned" outcome; returns what was done."""
        done: list[str] = []
        with self._tx() as cur:
            gone = [ident for ident, dead in self._open_intents(cur) if dead]
            rows = cur.execute(
                "SELECT i.id, i.pid, i.machine, a.what, a.host, a.target FROM vmdeck_intents i "
                "JOIN vmdeck_audit a ON a.id = i.id WHERE i.id = ANY(%s) ORDER BY a.seq FOR UPDATE OF i SKIP LOCKED",
                (gone,),
            ).fetchall()
            for ident, pid, machine, what, host, target in rows:
                text = f"abandoned: the process (pid {pid} on {machine}) ended before recording an outcome"
                after = {"result": "abandoned", "target": target, "message": text}
                self._audit(
                    cur,
                    what,
                    host,
                    None,
                    after,
                    text,
                    target=target,
                    intent=ident,
                    result="abandoned",
                    kind="outcome",
                )
                cur.execute("DELETE FROM vmdeck_intents WHERE id = %s", (ident,))
                done.append(f"{what} {target}: {text}")
            if done:
                self._notify(cur, "audit", [None], "reconcile")
        return done

    def record_action(
        self, what: str, host: str | None, after: Mapping[str, Any], reason: str | None
    ) -> None:
        """A one-shot entry (a refusal)."""
        result = after.get("result") if isinstance(after.get("result"), str) else None
        target = after.get("target") if isinstance(after.get("target"), str) else None
        with self._tx() as cur:
            self._audit(
                cur, what, host, None, dict(after), reason, target=target, result=result, kind="event"
            )
            self._notify(cur, "audit", [target or host], what)

    # --- audit -------------------------------------------------------------------------------------------
    def audit(
        self,
        host: str | None = None,
        *,
        vm: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        raw: bool = False,
    ) -> list[AuditEntry]:
        """Entries oldest first, filtered by the rule of tui/services/store/query.py `matches`, in SQL.

        Every entry is stored as written (`raw` has nothing to fold here: a change and its entry are
        one transaction, so no entry can describe a change that is not in force)."""
        where: list[str] = ["true"]
        params: list[Any] = []
        if host is not None:
            where.append("host = %s")
            params.append(host)
        if vm is not None:
            where.append(
                "(target = %s OR target = %s OR (what LIKE 'vm.%%' AND "
                "(before->>'name' = %s OR after->>'name' = %s)))"
            )
            params += [vm, f"vm:{vm}", vm, vm]
        if actor is not None:
            where.append("(who_user = %s OR who_user || coalesce('@' || who_from, '') = %s)")
            params += [actor, actor]
        after: datetime | None = None
        if since is not None:
            after = parse_since(since)
            where.append("at >= %s")
            params.append(after)
        condition = " AND ".join(where)
        if raw:
            query = f"SELECT {AUDIT_COLUMNS} FROM vmdeck_audit WHERE {condition} ORDER BY seq"
        else:  # with the intents and outcomes of what matches, so each action folds into one entry
            query = (
                f"WITH m AS (SELECT id, intent FROM vmdeck_audit WHERE {condition}) "
                f"SELECT {AUDIT_COLUMNS} FROM vmdeck_audit WHERE id IN (SELECT id FROM m) "
                "OR intent IN (SELECT id FROM m) OR id IN (SELECT intent FROM m) ORDER BY seq"
            )
        with self._tx() as cur:
            rows = cur.execute(query, params).fetchall()
            running = set() if raw else {i for i, gone in self._open_intents(cur) if not gone}
        entries = [entry_of(r) for r in rows]
        if raw:
            return entries
        folded = [
            replace(e, result=IN_PROGRESS) if e.result == OUTCOME_UNKNOWN and e.id in running else e
            for e in fold(entries)
        ]
        return [e for e in folded if matches(e, host, vm, actor, after)]

    def audit_tail(self, limit: int) -> AuditPage:
        """The last `limit` entries as stored (by commit sequence), oldest first."""
        with self._tx() as cur:
            rows = cur.execute(
                f"SELECT seq, {AUDIT_COLUMNS} FROM vmdeck_audit ORDER BY seq DESC LIMIT %s", (max(0, limit),)
            ).fetchall()
        rows.reverse()
        seqs = [int(r[0]) for r in rows]
        return AuditPage([entry_of(r[1:]) for r in rows], follow_cursor(seqs, None))

    def audit_after(self, cursor: str, limit: int) -> AuditPage:
        """At most `limit` entries after `cursor`, including late commits of sequence numbers the
        cursor remembers as missing (postgres/tail.py says why)."""
        parsed = parse_cursor(cursor)
        if parsed is None:
            page = self.audit_tail(limit)
            return AuditPage(page.entries, page.cursor, reset=True)
        last, gaps = parsed
        with self._tx() as cur:
            rows = cur.execute(
                f"SELECT seq, {AUDIT_COLUMNS} FROM vmdeck_audit WHERE seq > %s OR seq = ANY(%s) "
                "ORDER BY seq LIMIT %s",
                (last, list(gaps), max(0, limit)),
            ).fetchall()
        seqs = [int(r[0]) for r in rows]
        more = len(rows) >= limit > 0
        return AuditPage([entry_of(r[1:]) for r in rows], follow_cursor(seqs, parsed), more=more)

    def audit_problems(self) -> list[str]:
        """Rows a person changed by hand into something vmdeck cannot read (the schema forbids the rest)."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT seq, id FROM vmdeck_audit WHERE who_user = '' OR what = '' "
                "OR (kind = 'outcome' AND intent IS NULL) ORDER BY seq"
            ).fetchall()
        return [f"vmdeck_audit seq {seq} (id {ident}): missing who, what or intent" for seq, ident in rows]


def entry_of(row: tuple[Any, ...]) -> AuditEntry:
    ident, kind, at, user, uid, remote, what, host, target, intent, result, before, after, reason = row
    return AuditEntry(
        iso(at),
        Actor(user, remote, uid),
        what,
        host,
        before,
        after,
        reason,
        ident,
        target,
        intent,
        result,
        kind,
    )
