"""The durable store: the host inventory and vmdeck's own VMs (TinyDB), and the audit log.

One directory, one file per concern: `hosts.json`, `vms.json` (TinyDB, atomic writes) and
`audit.jsonl` (append-only). Every change runs inside one store-wide lock (threads and processes)
that covers the read, the checks, the write and its audit entry, so two vmdeck processes never lose
each other's changes and a refused change writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.table import Table

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.core.live import ManagedVm
from tui.services.store.audit import Actor, AuditEntry, AuditLog, current_actor, now_iso
from tui.services.store.files import AtomicJSONStorage, StoreError, StoreLock
from tui.services.store.query import matches, parse_since

HOSTS_FILE = "hosts.json"
VMS_FILE = "vms.json"
AUDIT_FILE = "audit.jsonl"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/vmdeck, or ~/.local/share/vmdeck (the XDG base directory default)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vmdeck"


class Store:
    def __init__(
        self, directory: str | os.PathLike[str], *, actor: Actor | None = None, lock_timeout: float = 10.0
    ):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {self.directory}: {exc.strerror}") from None
        self.location = str(self.directory)
        self.actor = actor or current_actor()
        self._lock = StoreLock(self.directory, lock_timeout)
        self.audit_log = AuditLog(self.directory / AUDIT_FILE)

    # --- plumbing ------------------------------------------------------------------------------------
    @contextmanager
    def _tables(self, filename: str, table: str) -> Iterator[Table]:
        """A fresh TinyDB per locked section: no stale query cache or next-id from another process."""
        db = TinyDB(self.directory / filename, storage=AtomicJSONStorage)
        try:
            yield db.table(table, cache_size=0)
        finally:
            db.close()

    def _entry(self, what: str, host: str | None, before: Any, after: Any, reason: str | None) -> AuditEntry:
        return AuditEntry(now_iso(), self.actor, what, host, before, after, reason)

    # --- hosts ---------------------------------------------------------------------------------------
    def hosts(self) -> list[HostRecord]:
        """All hosts by name. No lock needed: the file is only ever replaced whole."""
        with self._tables(HOSTS_FILE, "hosts") as table:
            return sorted((HostRecord.from_json(d, "stored host") for d in table.all()), key=lambda h: h.name)

    def host(self, name: str) -> HostRecord | None:
        return next((h for h in self.hosts() if h.name == name), None)

    def add_hosts(
        self, hosts: Sequence[HostRecord], reason: str | None = None, what: str = "host.add"
    ) -> None:
        """Add several hosts at once: all of them or, on any conflict, none."""
        names = [h.name for h in hosts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise HostError(f"duplicate host name(s) in the input: {', '.join(dupes)}")
        with self._lock.held(), self._tables(HOSTS_FILE, "hosts") as table:
            existing = {d["name"] for d in table.all()}
            taken = sorted(existing.intersection(names))
            if taken:
                raise HostError(f"host(s) already exist: {', '.join(taken)} (use `vmdeck hosts edit`)")
            table.insert_multiple([h.to_json() for h in hosts])
            self.audit_log.append([self._entry(what, h.name, None, h.to_json(), reason) for h in hosts])

    def add_host(self, host: HostRecord, reason: str | None = None) -> None:
        self.add_hosts([host], reason)

    def edit_host(self, name: str, changes: Mapping[str, Any], reason: str | None = None) -> HostRecord:
        """Change fields of one host; a change of state needs a reason. Returns the new record."""
        with self._lock.held(), self._tables(HOSTS_FILE, "hosts") as table:
            doc = table.get(Query().name == name)
            if doc is None:
                raise HostError(f"no host named {name!r}")
            before = HostRecord.from_json(doc, "stored host")
            after = before.with_changes(**changes)
            if after == before:
                return before
            if after.state is not before.state and not (reason and reason.strip()):
                raise HostError(f"changing the state of {name!r} needs a reason (--reason TEXT)")
            table.update(after.to_json(), Query().name == name)
            what = "host.state" if set(changes) == {"state"} else "host.edit"
            self.audit_log.append([self._entry(what, name, before.to_json(), after.to_json(), reason)])
            return after

    def set_state(self, name: str, state: HostState, reason: str) -> HostRecord:
        if not reason or not reason.strip():
            raise HostError(f"changing the state of {name!r} needs a reason (--reason TEXT)")
        return self.edit_host(name, {"state": state}, reason.strip())

    def remove_host(self, name: str, reason: str | None = None) -> HostRecord:
        with self._lock.held(), self._tables(HOSTS_FILE, "hosts") as table:
            doc = table.get(Query().name == name)
            if doc is None:
                raise HostError(f"no host named {name!r}")
            before = HostRecord.from_json(doc, "stored host")
            table.remove(Query().name == name)
            self.audit_log.append([self._entry("host.remove", name, before.to_json(), None, reason)])
            return before

    # --- actions on VMs and hosts (start, migrate, drain...): audited with their result ------------------
    def record_action(
        self, what: str, host: str | None, after: Mapping[str, Any], reason: str | None
    ) -> None:
        """Append one audit entry for an action, under the same lock as every other store write."""
        with self._lock.held():
            self.audit_log.append([self._entry(what, host, None, dict(after), reason)])

    # --- VMs vmdeck started (what reconcile compares against) ------------------------------------------
    def managed_vms(self) -> list[ManagedVm]:
        with self._tables(VMS_FILE, "vms") as table:
            return sorted(
                (ManagedVm(d["uuid"], d["name"], d["host"]) for d in table.all()),
                key=lambda v: (v.host, v.name),
            )

    def record_vm(self, vm: ManagedVm, reason: str | None = None) -> None:
        """Remember a VM vmdeck started or adopted (re-recording a UUID moves it: migration)."""
        with self._lock.held(), self._tables(VMS_FILE, "vms") as table:
            uuid = vm.uuid.lower()
            doc = table.get(Query().uuid == uuid)
            after = {**vm.to_json(), "uuid": uuid}
            if doc is None:
                table.insert(after)
            else:
                table.update(after, Query().uuid == uuid)
            before = dict(doc) if doc is not None else None
            self.audit_log.append([self._entry("vm.record", vm.host, before, after, reason)])

    def forget_vm(self, uuid: str, reason: str | None = None) -> ManagedVm:
        with self._lock.held(), self._tables(VMS_FILE, "vms") as table:
            doc = table.get(Query().uuid == uuid.lower())
            if doc is None:
                raise HostError(f"vmdeck has no record of a VM with UUID {uuid}")
            table.remove(Query().uuid == uuid.lower())
            self.audit_log.append([self._entry("vm.forget", doc["host"], dict(doc), None, reason)])
            return ManagedVm(doc["uuid"], doc["name"], doc["host"])

    # --- audit ---------------------------------------------------------------------------------------
    def audit(
        self,
        host: str | None = None,
        *,
        vm: str | None = None,
        actor: str | None = None,
        since: str | None = None,
    ) -> list[AuditEntry]:
        after = parse_since(since) if since is not None else None
        return [e for e in self.audit_log.entries(host) if matches(e, host, vm, actor, after)]

    def close(self) -> None:
        """Nothing to close: no file is kept open between calls."""
