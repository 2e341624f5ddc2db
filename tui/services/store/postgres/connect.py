"""Opening a connection to the PostgreSQL store: checked parameters, a bounded wait, one-line errors.

The password comes only from the passfile (libpq reads ~/.pgpass or $PGPASSFILE itself); a location
or environment that carries one is refused, and a passfile others can read is refused with the
reason. Every error names the server by its redacted location and fits on one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tui.services.store.files import StoreError
from tui.services.store.location import check_passfile, passfile_path, redact_url

# How long opening a connection may take (libpq's connect_timeout, per address tried).
CONNECT_TIMEOUT_S = 5
# How long a change waits for a row another vmdeck has locked (a hung or half-dead writer) before
# it gives up with an error instead of hanging the console or the command.
LOCK_TIMEOUT = "10s"
APPLICATION_NAME = "vmdeck"


def parse_location(location: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """libpq parameters from a URL or key=value string, after vmdeck's checks."""
    env = os.environ if environ is None else environ
    shown = redact_url(location)
    try:
        params: dict[str, Any] = conninfo_to_dict(location)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"not a PostgreSQL location: {shown} ({_one_line(str(exc), location)})") from None
    if params.get("password"):
        raise StoreError(
            f"PostgreSQL {shown}: a password in the location is refused (it would show in process lists "
            "and shell history); put it in ~/.pgpass (mode 0600) or the file $PGPASSFILE names"
        )
    if env.get("PGPASSWORD"):
        raise StoreError(
            "PGPASSWORD is set: vmdeck takes the PostgreSQL password only from ~/.pgpass or $PGPASSFILE "
            "(an environment variable is readable in /proc by the same user's processes); unset it"
        )
    check_passfile(passfile_path(params, env))
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    params.setdefault("application_name", APPLICATION_NAME)
    return params


def connect(
    params: Mapping[str, Any], shown: str, *, autocommit: bool = False
) -> psycopg.Connection[tuple[Any, ...]]:
    try:
        conn = psycopg.connect(**params, autocommit=autocommit)
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        if not autocommit:
            conn.commit()
        return conn
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the PostgreSQL store {shown}: {_one_line(str(exc), '')}") from None


def describe_error(exc: BaseException, shown: str) -> str:
    """A psycopg error as one line naming the server."""
    return f"PostgreSQL {shown}: {_one_line(str(exc), '')}"


def _one_line(message: str, secret_source: str) -> str:
    """libpq messages span lines ("connection failed: ...\\n\\tIs the server running..."): keep line one."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "unknown error")
    if secret_source:
        first = first.replace(secret_source, redact_url(secret_source))
    return first
