"""The PostgreSQL store: one fleet shared by every vmdeck that names the same database.

Every change is one transaction that locks what it changes (`SELECT … FOR UPDATE`), checks it, writes
it with its audit entry and `pg_notify`s the change feed — or raises and changes nothing. Times that
several machines must agree on (audit times, lease expiry) come from the server's clock, `now()`.

One connection per store, used by one thread at a time (the console's workers share the store); a
connection lost to a restart or a network cut is reopened by the next call, so a console recovers by
itself once the server is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.core.live import ManagedVm
from tui.core.printable import printable
from tui.services.store.audit import OUTCOME_UNKNOWN, Actor, AuditEntry, AuditPage, current_actor, fold
from tui.services.store.base import Busy, DevicesTaken, Lease
from tui.services.store.feed import ChangeCallback, StatusCallback
from tui.services.store.files import StoreError
from tui.services.store.location import redact_url
from tui.services.store.postgres.connect import connect, describe_error, parse_location
from tui.services.store.postgres.listener import CHANNEL, Listener
from tui.services.store.postgres.schema import current_version, ensure_schema
from tui.services.store.postgres.tail import follow_cursor, parse_cursor
from tui.services.store.query import matches, parse_since

# More hosts than this in one change are announced as one "re-read all" notification.
NOTIFY_EACH_LIMIT = 50
Cursor = psycopg.Cursor[tuple[Any, ...]]

IN_PROGRESS = "in progress"  # an intent whose holder is alive (as the local store says it)
# Open intents (no outcome yet), and whether the lease their action held is gone.
_OPEN_INTENTS = (
    "SELECT i.id, i.pid, i.machine, i.lease_key, "
    "  (i.lease_key IS NOT NULL AND (l.key IS NULL OR l.token IS DISTINCT FROM i.lease_token "
    "   OR l.expires <= now())) "
    "FROM vmdeck_intents i LEFT JOIN vmdeck_leases l ON l.key = i.lease_key"
)
_AUDIT_COLUMNS = (
    "id, kind, at, who_user, who_uid, who_from, what, host, target, intent, result, before, after, reason"
)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


class PostgresStore:
    def __init__(self, location: str, *, actor: Actor | None = None) -> None:
        self.location = redact_url(location)
        self._params = parse_location(location)
        self.actor = actor or current_actor()
        self.machine = socket.gethostname() or "?"
        self.holder = f"{self.actor} (pid {os.getpid()} on {self.machine})"
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        with self._lock:
            conn = self._connection()
            try:
                self.schema_version = ensure_schema(conn, self.location)
            except psycopg.Error as exc:
                self._drop()
                raise StoreError(describe_error(exc, self.location)) from None
            except StoreError:
                self._drop()
                raise

    # --- plumbing ------------------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._drop()
            self._conn = connect(self._params, self.location)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):  # already gone with the server
                self._conn.close()
            self._conn = None

    def _begin(self) -> tuple[psycopg.Connection[tuple[Any, ...]], contextlib.ExitStack]:
        """A connection with a transaction begun. A connection the server dropped while it was idle
        (a restart, an administrator) fails at BEGIN, before anything was sent: reopened once, so
        a console recovers by itself without a change being tried twice."""
        for attempt in (0, 1):
            conn = self._connection()
            stack = contextlib.ExitStack()
            try:
                stack.enter_context(conn.transaction())
                return conn, stack
            except psycopg.OperationalError as exc:
                self._drop()
                if attempt:
                    raise StoreError(describe_error(exc, self.location)) from None
        raise AssertionError("unreachable")

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        """One transaction: committed when the block ends, rolled back (nothing changed) on any error."""
        with self._lock:
            conn, transaction = self._begin()
            try:
                with transaction, conn.cursor() as cur:
                    yield cur
            except psycopg.errors.UniqueViolation as exc:
                raise HostError(f"already exists: {exc.diag.message_detail or exc}") from None
            except psycopg.Error as exc:
                if conn.broken or isinstance(exc, psycopg.OperationalError):
                    self._drop()
                raise StoreError(describe_error(exc, self.location)) from None

    def _audit(
        self,
        cur: Cursor,
        what: str,
        host: str | None,
        before: Any,
        after: Any,
        reason: str | None,
        *,
        target: str | None = None,
        intent: str | None = None,
        result: str | None = None,
        kind: str = "change",
    ) -> str:
        ident = secrets.token_hex(16)
        cur.execute(
            f"INSERT INTO vmdeck_audit ({_AUDIT_COLUMNS}) "
            "VALUES (%s, %s, clock_timestamp(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                ident,
                kind,
                self.actor.user,
                self.actor.uid,
                self.actor.remote,
                what,
                host,
                target,
                intent,
                result,
                _json(before),
                _json(after),
                reason,
            ),
        )
        return ident

    def _notify(self, cur: Cursor, kind: str, keys: Sequence[str | None], what: str) -> None:
        """Queued with the transaction: listeners hear of it only once it is committed."""
        if len(keys) > NOTIFY_EACH_LIMIT:
            keys = [None]
        for key in keys:
            payload = json.dumps({"kind": kind, "key": key, "who": str(self.actor), "what": what})
            cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    # --- hosts ---------------------------------------------------------------------------------------
    def hosts(self) -> list[HostRecord]:
        with self._tx() as cur:
            rows = cur.execute("SELECT record FROM vmdeck_hosts ORDER BY name").fetchall()
        return [HostRecord.from_json(r[0], "stored host") for r in rows]

    def host(self, name: str) -> HostRecord | None:
        with self._tx() as cur:
            row = cur.execute("SELECT record FROM vmdeck_hosts WHERE name = %s", (name,)).fetchone()
        return HostRecord.from_json(row[0], "stored host") if row else None

    def add_hosts(
        self, hosts: Sequence[HostRecord], reason: str | None = None, what: str = "host.add"
    ) -> None:
        """Add several hosts at once: all of them or, on any conflict, none."""
        names = [h.name for h in hosts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise HostError(f"duplicate host name(s) in the input: {', '.join(dupes)}")
        if not hosts:
            return
        ordered = sorted(hosts, key=lambda h: h.name)  # one lock order: concurrent imports never deadlock
        with self._tx() as cur:
            taken = cur.execute(
                "SELECT name FROM vmdeck_hosts WHERE name = ANY(%s) ORDER BY name", (names,)
            ).fetchall()
            if taken:
                joined = ", ".join(r[0] for r in taken)
                raise HostError(f"host(s) already exist: {joined} (use `vmdeck hosts edit`)")
            cur.executemany(
                "INSERT INTO vmdeck_hosts (name, record) VALUES (%s, %s)",
                [(h.name, Jsonb(h.to_json())) for h in ordered],
            )
            for h in ordered:
                self._audit(cur, what, h.name, None, h.to_json(), reason)
            self._notify(cur, "host", [h.name for h in ordered], what)

    def add_host(self, host: HostRecord, reason: str | None = None) -> None:
        self.add_hosts([host], reason)

    def edit_host(self, name: str, changes: Mapping[str, Any], reason: str | None = None) -> HostRecord:
        """Change fields of one host; a change of state needs a reason. Returns the new record."""
        with self._tx() as cur:
            row = cur.execute(
                "SELECT record FROM vmdeck_hosts WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            if row is None:
                raise HostError(f"no host named {name!r}")
            before = HostRecord.from_json(row[0], "stored host")
            after = before.with_changes(**changes)
            if after == before:
                return before
            if after.state is not before.state and not (reason and reason.strip()):
                raise HostError(f"changing the state of {name!r} needs a reason (--reason TEXT)")
            cur.execute(
                "UPDATE vmdeck_hosts SET record = %s, version = version + 1 WHERE name = %s",
                (Jsonb(after.to_json()), name),
            )
            what = "host.state" if set(changes) == {"state"} else "host.edit"
            self._audit(cur, what, name, before.to_json(), after.to_json(), reason)
            self._notify(cur, "host", [name], what)
            return after

    def set_state(self, name: str, state: HostState, reason: str) -> HostRecord:
        if not reason or not reason.strip():
            raise HostError(f"changing the state of {name!r} needs a reason (--reason TEXT)")
        return self.edit_host(name, {"state": state}, reason.strip())

    def remove_host(self, name: str, reason: str | None = None) -> HostRecord:
        with self._tx() as cur:
            row = cur.execute("DELETE FROM vmdeck_hosts WHERE name = %s RETURNING record", (name,)).fetchone()
            if row is None:
                raise HostError(f"no host named {name!r}")
            before = HostRecord.from_json(row[0], "stored host")
            self._audit(cur, "host.remove", name, before.to_json(), None, reason)
            self._notify(cur, "host", [name], "host.remove")
            return before

    # --- vmdeck's VMs ----------------------------------------------------------------------------------
    def managed_vms(self) -> list[ManagedVm]:
        with self._tx() as cur:
            rows = cur.execute("SELECT record FROM vmdeck_vms ORDER BY host, name").fetchall()
        return [_vm(r[0]) for r in rows]

    def record_vm(self, vm: ManagedVm, reason: str | None = None) -> None:
        """Remember a VM vmdeck started or adopted (re-recording a UUID moves it: migration)."""
        uuid = vm.uuid.lower()
        after = {**vm.to_json(), "uuid": uuid}
        with self._tx() as cur:
            row = cur.execute("SELECT record FROM vmdeck_vms WHERE uuid = %s FOR UPDATE", (uuid,)).fetchone()
            cur.execute(
                "INSERT INTO vmdeck_vms (uuid, name, host, record) VALUES (%s, %s, %s, %s) ON CONFLICT (uuid) "
                "DO UPDATE SET name = excluded.name, host = excluded.host, record = excluded.record",
                (uuid, vm.name, vm.host, Jsonb(after)),
            )
            before = row[0] if row else None
            self._audit(cur, "vm.record", vm.host, before, after, reason, target=f"vm:{vm.name}")
            self._notify(cur, "vm", [uuid], "vm.record")

    def forget_vm(self, uuid: str, reason: str | None = None) -> ManagedVm:
        with self._tx() as cur:
            row = cur.execute(
                "DELETE FROM vmdeck_vms WHERE uuid = %s RETURNING record", (uuid.lower(),)
            ).fetchone()
            if row is None:
                raise HostError(f"vmdeck has no record of a VM with UUID {uuid}")
            vm = _vm(row[0])
            self._audit(cur, "vm.forget", vm.host, row[0], None, reason, target=f"vm:{vm.name}")
            self._notify(cur, "vm", [vm.uuid], "vm.forget")
            return vm

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
            (ident, bool(lease_gone) or (machine == self.machine and not _pid_alive(pid)))
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

    # --- leases: one action per VM or host at a time, across machines ----------------------------------------
    def acquire_lease(self, key: str, action: str, ttl_s: float) -> Lease:
        """Take the lease on `key` for `ttl_s` seconds (the server's clock) or raise Busy naming its holder."""
        token = secrets.token_hex(16)
        with self._tx() as cur:
            # Expired leases are free for anyone: their holder died or lost the network.
            cur.execute("DELETE FROM vmdeck_leases WHERE key = %s AND expires <= now()", (key,))
            row = cur.execute(
                "INSERT INTO vmdeck_leases (key, action, holder, since, expires, token) "
                "VALUES (%s, %s, %s, now(), now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING since, extract(epoch FROM expires)",
                (key, action, self.holder, ttl_s, token),
            ).fetchone()
            if row is None:
                held = cur.execute(
                    "SELECT action, holder, since FROM vmdeck_leases WHERE key = %s", (key,)
                ).fetchone()
                if held is None:  # released between our insert and this read
                    raise Busy(key, action, "another vmdeck", "just now")
                raise Busy(key, printable(held[0]), printable(held[1]), _iso(held[2]))
            self._notify(cur, "lease", [key], action)
            return Lease(key, action, self.holder, _iso(row[0]), float(row[1]), token)

    def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        """Extend a lease we hold; Busy if it expired and someone else took it meanwhile."""
        with self._tx() as cur:
            cur.execute(
                "DELETE FROM vmdeck_leases WHERE key = %s AND token <> %s AND expires <= now()",
                (lease.key, lease.token),
            )
            row = cur.execute(
                "INSERT INTO vmdeck_leases (key, action, holder, since, expires, token) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires "
                "WHERE vmdeck_leases.token = excluded.token RETURNING extract(epoch FROM expires)",
                (
                    lease.key,
                    lease.action,
                    lease.holder,
                    datetime.fromisoformat(lease.since),
                    ttl_s,
                    lease.token,
                ),
            ).fetchone()
            if row is None:
                held = cur.execute(
                    "SELECT action, holder, since FROM vmdeck_leases WHERE key = %s", (lease.key,)
                ).fetchone()
                if held is None:
                    raise Busy(lease.key, lease.action, "another vmdeck", "just now")
                raise Busy(lease.key, printable(held[0]), printable(held[1]), _iso(held[2]))
            return Lease(lease.key, lease.action, lease.holder, lease.since, float(row[0]), lease.token)

    def release_lease(self, lease: Lease) -> None:
        """Give a lease back (with its device reservations); a lease no longer ours is left alone."""
        with self._tx() as cur:
            cur.execute("DELETE FROM vmdeck_leases WHERE key = %s AND token = %s", (lease.key, lease.token))
            self._notify(cur, "lease", [lease.key], lease.action)

    def leases(self) -> list[Lease]:
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT key, action, holder, since, extract(epoch FROM expires), token FROM vmdeck_leases "
                "WHERE expires > now() ORDER BY key"
            ).fetchall()
        # Text from the database ends up in refusal messages: escaped, in case a person wrote it.
        return [
            Lease(printable(k), printable(a), printable(h), _iso(s), float(e), t) for k, a, h, s, e, t in rows
        ]

    # --- device reservations: two starts never get the same PCI device -------------------------------------
    def reserve_devices(self, lease: Lease, host: str, devices: Sequence[str]) -> None:
        """Hold PCI addresses on `host` with `lease` (replacing what it held); DevicesTaken if another
        live lease holds one. One transaction: all of them or none."""
        wanted = sorted(set(devices))
        with self._tx() as cur:
            mine = cur.execute(
                "SELECT 1 FROM vmdeck_leases WHERE key = %s AND token = %s AND expires > now() FOR UPDATE",
                (lease.key, lease.token),
            ).fetchone()
            if mine is None:
                raise StoreError(f"the lease of {lease.key} is no longer held: devices not reserved")
            # Reservations of expired leases go with them (ON DELETE CASCADE).
            cur.execute(
                "DELETE FROM vmdeck_leases WHERE expires <= now() AND key IN "
                "(SELECT lease_key FROM vmdeck_reservations WHERE host = %s AND device = ANY(%s))",
                (host, wanted),
            )
            cur.execute("DELETE FROM vmdeck_reservations WHERE lease_key = %s", (lease.key,))
            taken: list[str] = []
            holder = ""
            for device in wanted:
                row = cur.execute(
                    "INSERT INTO vmdeck_reservations (host, device, lease_key) VALUES (%s, %s, %s) "
                    "ON CONFLICT (host, device) DO NOTHING RETURNING device",
                    (host, device, lease.key),
                ).fetchone()
                if row is None:
                    taken.append(device)
                    held = cur.execute(
                        "SELECT l.holder FROM vmdeck_reservations r JOIN vmdeck_leases l ON l.key = r.lease_key "
                        "WHERE r.host = %s AND r.device = %s",
                        (host, device),
                    ).fetchone()
                    holder = printable(held[0]) if held else "another vmdeck"
            if taken:
                raise DevicesTaken(host, taken, holder)  # the transaction is rolled back: nothing held
            self._notify(cur, "lease", [lease.key], "reserve")

    def release_devices(self, lease: Lease) -> None:
        with self._tx() as cur:
            cur.execute(
                "DELETE FROM vmdeck_reservations r USING vmdeck_leases l "
                "WHERE r.lease_key = l.key AND l.key = %s AND l.token = %s",
                (lease.key, lease.token),
            )

    def reserved_devices(self, *, excluding: Lease | None = None) -> dict[str, set[str]]:
        """host -> PCI addresses held by live leases (other than `excluding`)."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT r.host, r.device FROM vmdeck_reservations r JOIN vmdeck_leases l "
                "ON l.key = r.lease_key WHERE l.expires > now() AND l.token IS DISTINCT FROM %s",
                (excluding.token if excluding else None,),
            ).fetchall()
        out: dict[str, set[str]] = {}
        for host, device in rows:
            out.setdefault(host, set()).add(device)
        return out

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
            query = f"SELECT {_AUDIT_COLUMNS} FROM vmdeck_audit WHERE {condition} ORDER BY seq"
        else:  # with the intents and outcomes of what matches, so each action folds into one entry
            query = (
                f"WITH m AS (SELECT id, intent FROM vmdeck_audit WHERE {condition}) "
                f"SELECT {_AUDIT_COLUMNS} FROM vmdeck_audit WHERE id IN (SELECT id FROM m) "
                "OR intent IN (SELECT id FROM m) OR id IN (SELECT intent FROM m) ORDER BY seq"
            )
        with self._tx() as cur:
            rows = cur.execute(query, params).fetchall()
            running = set() if raw else {i for i, gone in self._open_intents(cur) if not gone}
        entries = [_entry(r) for r in rows]
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
                f"SELECT seq, {_AUDIT_COLUMNS} FROM vmdeck_audit ORDER BY seq DESC LIMIT %s", (max(0, limit),)
            ).fetchall()
        rows.reverse()
        seqs = [int(r[0]) for r in rows]
        return AuditPage([_entry(r[1:]) for r in rows], follow_cursor(seqs, None))

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
                f"SELECT seq, {_AUDIT_COLUMNS} FROM vmdeck_audit WHERE seq > %s OR seq = ANY(%s) "
                "ORDER BY seq LIMIT %s",
                (last, list(gaps), max(0, limit)),
            ).fetchall()
        seqs = [int(r[0]) for r in rows]
        more = len(rows) >= limit > 0
        return AuditPage([_entry(r[1:]) for r in rows], follow_cursor(seqs, parsed), more=more)

    def audit_problems(self) -> list[str]:
        """Rows a person changed by hand into something vmdeck cannot read (the schema forbids the rest)."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT seq, id FROM vmdeck_audit WHERE who_user = '' OR what = '' "
                "OR (kind = 'outcome' AND intent IS NULL) ORDER BY seq"
            ).fetchall()
        return [f"vmdeck_audit seq {seq} (id {ident}): missing who, what or intent" for seq, ident in rows]

    # --- copying between backends (vmdeck store copy) ------------------------------------------------------
    def import_records(
        self, hosts: Sequence[HostRecord], vms: Sequence[ManagedVm], entries: Sequence[AuditEntry]
    ) -> dict[str, int]:
        """Insert what is missing (hosts and VMs by name/UUID, audit entries by id); counts added."""
        with self._tx() as cur:
            have_hosts = {r[0] for r in cur.execute("SELECT name FROM vmdeck_hosts").fetchall()}
            new_hosts = [h for h in hosts if h.name not in have_hosts]
            cur.executemany(
                "INSERT INTO vmdeck_hosts (name, record) VALUES (%s, %s)",
                [(h.name, Jsonb(h.to_json())) for h in new_hosts],
            )
            have_vms = {r[0] for r in cur.execute("SELECT uuid FROM vmdeck_vms").fetchall()}
            new_vms = [v for v in vms if v.uuid.lower() not in have_vms]
            cur.executemany(
                "INSERT INTO vmdeck_vms (uuid, name, host, record) VALUES (%s, %s, %s, %s)",
                [
                    (v.uuid.lower(), v.name, v.host, Jsonb({**v.to_json(), "uuid": v.uuid.lower()}))
                    for v in new_vms
                ],
            )
            have_ids = {r[0] for r in cur.execute("SELECT id FROM vmdeck_audit").fetchall()}
            new_entries = [e for e in entries if e.id not in have_ids]
            cur.executemany(
                f"INSERT INTO vmdeck_audit ({_AUDIT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        e.id,
                        e.kind,
                        datetime.fromisoformat(e.when.replace("Z", "+00:00")),
                        e.who.user,
                        e.who.uid,
                        e.who.remote,
                        e.what,
                        e.host,
                        e.target,
                        e.intent,
                        e.result,
                        _json(e.before),
                        _json(e.after),
                        e.reason,
                    )
                    for e in new_entries
                ],
            )
            if new_hosts or new_vms:
                self._notify(cur, "host", [None], "store.copy")
        return {"hosts": len(new_hosts), "vms": len(new_vms), "audit": len(new_entries)}

    def counts(self) -> dict[str, int]:
        with self._tx() as cur:
            out = {}
            for name in ("hosts", "vms", "audit", "leases"):
                row = cur.execute(f"SELECT count(*) FROM vmdeck_{name}").fetchone()
                out[name] = int(row[0]) if row else 0
            out["schema_version"] = current_version(cur.connection)
        return out

    # --- the change feed -----------------------------------------------------------------------------------
    def watch(
        self, callback: ChangeCallback, *, on_status: StatusCallback | None = None
    ) -> Callable[[], None]:
        """Call `callback` (on the listener's thread) for every committed change; returns an unsubscribe."""
        listener = Listener(self._params, self.location, callback, on_status)
        listener.start()
        return listener.stop

    def close(self) -> None:
        with self._lock:
            self._drop()


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    ident, kind, at, user, uid, remote, what, host, target, intent, result, before, after, reason = row
    return AuditEntry(
        _iso(at),
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


def _vm(doc: dict[str, Any]) -> ManagedVm:
    """A VM record; fields a newer ManagedVm has (status, devices) are passed on only when present."""
    extra: dict[str, Any] = {
        k: (tuple(v) if k == "devices" else v) for k, v in doc.items() if k in ("status", "devices")
    }
    return ManagedVm(doc["uuid"], doc["name"], doc["host"], **extra)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
