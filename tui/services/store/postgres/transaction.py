"""The PostgreSQL store's plumbing: one connection, one transaction per change, its audit row and notify.

Every change is one transaction that locks what it changes (`SELECT … FOR UPDATE`), checks it, writes
it with its audit entry and `pg_notify`s the change feed — or raises and changes nothing. Times that
several machines must agree on (audit times, lease expiry) come from the server's clock, `now()`.

One connection per store, used by one thread at a time (the console's workers share the store); a
connection lost to a restart or a network cut is reopened by the next call, so a console recovers by
itself once the server is back. The tables' methods (inventory.py, intents.py, leasing.py) build on
`PostgresConnection`; backend.py puts them together as `PostgresStore`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tui.core.hosts import HostError
from tui.services.store.audit import Actor, current_actor
from tui.services.store.files import StoreError
from tui.services.store.location import redact_url
from tui.services.store.postgres.connect import connect, describe_error, parse_location
from tui.services.store.postgres.listener import CHANNEL
from tui.services.store.postgres.schema import ensure_schema

# More hosts than this in one change are announced as one "re-read all" notification.
NOTIFY_EACH_LIMIT = 50
Cursor = psycopg.Cursor[tuple[Any, ...]]

AUDIT_COLUMNS = (
    "id, kind, at, who_user, who_uid, who_from, what, host, target, intent, result, before, after, reason"
)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def json_or_null(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


class PostgresConnection:
    """The connection, transactions, audit rows and notifications every table's methods share."""

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
            f"INSERT INTO vmdeck_audit ({AUDIT_COLUMNS}) "
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
                json_or_null(before),
                json_or_null(after),
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

    def close(self) -> None:
        with self._lock:
            self._drop()
