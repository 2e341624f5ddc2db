"""Durable facts: the host inventory, vmdeck's VMs and the audit log, on one of two backends.

`open_store(location)` picks the backend: a `postgresql://` / `postgres://` URL or a libpq
`key=value` string opens the shared PostgreSQL store (tui/services/store/postgres/), anything else is
a local directory (store.py). Callers use the `FleetStore` interface (base.py) and never know which.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tui.services.store.audit import Actor, AuditEntry, AuditLog, current_actor
from tui.services.store.base import Busy, DevicesTaken, FleetStore, Lease
from tui.services.store.feed import StoreChange
from tui.services.store.files import StoreError
from tui.services.store.location import is_postgres, redact_url
from tui.services.store.store import Store, default_data_dir

ENV_VAR = "VMDECK_DB"


def store_location(location: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> str:
    """The location to open: the one given, else $VMDECK_DB, else the default directory."""
    env = os.environ if environ is None else environ
    if location is not None and str(location) != "":
        return os.fspath(location)
    return env.get(ENV_VAR) or str(default_data_dir(env))


def files_directory(location: str | os.PathLike[str] | None) -> Path:
    """Where this vmdeck keeps files of its own beside a store (the lab's scenarios): the store's
    directory, or — for a PostgreSQL store, which holds no files — the default directory."""
    chosen = store_location(location)
    return default_data_dir() if is_postgres(chosen) else Path(chosen)


def open_store(location: str | os.PathLike[str] | None = None, *, actor: Actor | None = None) -> FleetStore:
    """The store at `location` (see the module docstring); StoreError names it when it cannot open."""
    chosen = store_location(location)
    if is_postgres(chosen):
        # lazy: psycopg and the backend are +133 modules, 89 ms CPU, for those who use PostgreSQL only
        from tui.services.store.postgres import PostgresStore

        return PostgresStore(chosen, actor=actor)
    return Store(Path(chosen), actor=actor)


__all__ = [
    "ENV_VAR",
    "Actor",
    "AuditEntry",
    "AuditLog",
    "Busy",
    "DevicesTaken",
    "FleetStore",
    "Lease",
    "Store",
    "StoreChange",
    "StoreError",
    "current_actor",
    "default_data_dir",
    "files_directory",
    "open_store",
    "redact_url",
    "store_location",
]
