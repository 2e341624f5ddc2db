"""The local store: a directory of small files, one per concern, written audit first, then act.

Layout: `hosts.json`, `vms.json` (TinyDB's JSON format, replaced whole and atomically), `audit.jsonl`
(append-only, 0600), `leases.json` (live leases, their device reservations and open intents).

Every change runs inside one store-wide lock (threads and processes) that covers the read, the
checks, the audit append (fsynced) and only then the atomic replacement of the record file. So a
change in force always has its entry; a crash between the two leaves an entry whose change is not in
force, which readers see as such (audit.fold: "not-applied"), and a replacement that fails appends a
"failed" outcome naming the entry. A refused change writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord, missing_state_reason
from tui.core.live import ManagedVm
from tui.services.store.audit import (
    IN_PROGRESS,
    OUTCOME_UNKNOWN,
    Actor,
    AuditEntry,
    AuditLog,
    AuditPage,
    current_actor,
    fold,
)
from tui.services.store.audittail import read_after, read_tail
from tui.services.store.files import (
    AtomicJSONStorage,
    StoreError,
    StoreLock,
    clean_stale_temp_files,
)
from tui.services.store.leases import LEASES_FILE, LeasesAndIntents
from tui.services.store.query import matches, parse_since

HOSTS_FILE = "hosts.json"
VMS_FILE = "vms.json"
AUDIT_FILE = "audit.jsonl"
# Temp files of these are only ever written under the store lock: any found while holding it is a
# dead writer's, whatever its age.
_LOCKED_FILES = (HOSTS_FILE, VMS_FILE, LEASES_FILE)
VM_STATUSES = ("active", "starting", "leftover")


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/vmdeck, or ~/.local/share/vmdeck (the XDG base directory default)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vmdeck"


class Store(LeasesAndIntents):
    """The local directory backend of `FleetStore` (tui/services/store/base.py)."""

    def __init__(
        self, directory: str | os.PathLike[str], *, actor: Actor | None = None, lock_timeout: float = 10.0
    ):
        self.directory = Path(directory)
        self.location = str(self.directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        except FileExistsError:
            raise StoreError(f"store {self.directory} exists but is not a directory") from None
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {self.directory}: {exc.strerror}") from None
        if not self.directory.is_dir():
            raise StoreError(f"store {self.directory} exists but is not a directory")
        self.actor = actor or current_actor()
        self._lock = StoreLock(self.directory, lock_timeout)
        self.audit_log = AuditLog(self.directory / AUDIT_FILE)
        self._clean_temp_files()

    def close(self) -> None:
        """Nothing to close: no file handle is kept between operations."""

    # --- plumbing ------------------------------------------------------------------------------------
    def _clean_temp_files(self) -> None:
        """Old temp files go at once; those of locked files whenever the lock can be had right away."""
        clean_stale_temp_files(self.directory)
        with contextlib.suppress(StoreError), self._lock.held(timeout=0.05):
            for path in self.directory.glob(".*.tmp"):
                if any(path.name.startswith(f".{name}.") for name in _LOCKED_FILES):
                    with contextlib.suppress(OSError):
                        path.unlink()

    def _docs(self, filename: str, table: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The whole file's data and the table's documents (created empty when missing)."""
        path = self.directory / filename
        data = AtomicJSONStorage(path).read() or {}
        docs = data.setdefault(table, {})
        return data, docs

    def _commit(self, filename: str, data: dict[str, Any], entries: list[AuditEntry]) -> None:
        """Audit first, then act: the entries are durable before the file is replaced."""
        if not entries:
            return
        self.audit_log.append(entries)
        try:
            AtomicJSONStorage(self.directory / filename).write(data)
        except StoreError as exc:
            failed = [
                self._entry(
                    e.what, e.host, None, None, str(exc), kind="outcome", intent=e.id, result="failed"
                )
                for e in entries
            ]
            with contextlib.suppress(StoreError):  # the disk may be full: the chain still shows it
                self.audit_log.append(failed)
            raise

    @contextmanager
    def _changing(self, filename: str, table: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        with self._lock.held():
            yield self._docs(filename, table)

    # --- hosts ---------------------------------------------------------------------------------------
    def _host_docs(self, docs: Mapping[str, Any]) -> dict[str, tuple[str, HostRecord]]:
        """name -> (document id, record); a bad document or a duplicate name is a StoreError."""
        path = self.directory / HOSTS_FILE
        out: dict[str, tuple[str, HostRecord]] = {}
        for doc_id, doc in sorted(docs.items(), key=lambda kv: int(kv[0])):
            try:
                record = HostRecord.from_json(doc, f"document {doc_id}")
            except HostError as exc:
                raise StoreError(f"{path}: {exc}") from None
            if record.name in out:
                first = out[record.name][0]
                raise StoreError(
                    f"{path}: host name {record.name!r} appears twice (documents {first} and {doc_id}): "
                    "remove one by hand"
                )
            out[record.name] = (doc_id, record)
        return out

    def _read_hosts(self) -> dict[str, tuple[str, HostRecord]]:
        _, docs = self._docs(HOSTS_FILE, "hosts")
        return self._host_docs(docs)

    def hosts(self) -> list[HostRecord]:
        """All hosts by name. No lock needed: the file is only ever replaced whole."""
        return sorted((r for _, r in self._read_hosts().values()), key=lambda h: h.name)

    def host(self, name: str) -> HostRecord | None:
        found = self._read_hosts().get(name)
        return found[1] if found else None

    @staticmethod
    def _checked(host: HostRecord) -> HostRecord:
        """A record built in code passes the same checks as one read from a file."""
        return HostRecord.from_json(host.to_json(), f"host {host.name!r}")

    def add_hosts(
        self, hosts: Sequence[HostRecord], reason: str | None = None, what: str = "host.add"
    ) -> None:
        """Add several hosts at once: all of them or, on any conflict, none."""
        hosts = [self._checked(h) for h in hosts]
        names = [h.name for h in hosts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise HostError(f"duplicate host name(s) in the input: {', '.join(dupes)}")
        with self._changing(HOSTS_FILE, "hosts") as (data, docs):
            existing = self._host_docs(docs)
            taken = sorted(set(existing).intersection(names))
            if taken:
                raise HostError(f"host(s) already exist: {', '.join(taken)} (use `vmdeck hosts edit`)")
            next_id = max((int(k) for k in docs), default=0) + 1
            for offset, h in enumerate(hosts):
                docs[str(next_id + offset)] = h.to_json()
            self._commit(
                HOSTS_FILE, data, [self._entry(what, h.name, None, h.to_json(), reason) for h in hosts]
            )

    def add_host(self, host: HostRecord, reason: str | None = None) -> None:
        self.add_hosts([host], reason)

    def edit_host(self, name: str, changes: Mapping[str, Any], reason: str | None = None) -> HostRecord:
        """Change fields of one host; a change of state needs a reason. Returns the new record."""
        with self._changing(HOSTS_FILE, "hosts") as (data, docs):
            found = self._host_docs(docs).get(name)
            if found is None:
                raise HostError(f"no host named {name!r}")
            doc_id, before = found
            after = self._checked(before.with_changes(**changes))
            if after == before:
                return before
            if after.state is not before.state and (why := missing_state_reason(name, reason)):
                raise HostError(why)
            docs[doc_id] = after.to_json()
            what = "host.state" if set(changes) == {"state"} else "host.edit"
            self._commit(
                HOSTS_FILE, data, [self._entry(what, name, before.to_json(), after.to_json(), reason)]
            )
            return after

    def set_state(self, name: str, state: HostState, reason: str) -> HostRecord:
        if why := missing_state_reason(name, reason):
            raise HostError(why)
        return self.edit_host(name, {"state": state}, reason.strip())

    def remove_host(self, name: str, reason: str | None = None) -> HostRecord:
        with self._changing(HOSTS_FILE, "hosts") as (data, docs):
            found = self._host_docs(docs).get(name)
            if found is None:
                raise HostError(f"no host named {name!r}")
            doc_id, before = found
            del docs[doc_id]
            self._commit(HOSTS_FILE, data, [self._entry("host.remove", name, before.to_json(), None, reason)])
            return before

    # --- VMs vmdeck started (what reconcile compares against) ------------------------------------------
    def _vm_docs(self, docs: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
        path = self.directory / VMS_FILE
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for doc_id, doc in docs.items():
            fields = [doc.get(k) for k in ("uuid", "name", "host")]
            if not all(isinstance(f, str) and f for f in fields):
                raise StoreError(f"{path}: document {doc_id} needs text fields uuid, name and host")
            status = doc.get("status", "active")
            if status not in VM_STATUSES:
                raise StoreError(f"{path}: document {doc_id}: unknown status {status!r}")
            devices = doc.get("devices", [])
            if not isinstance(devices, list) or not all(isinstance(d, str) for d in devices):
                raise StoreError(f"{path}: document {doc_id}: devices must be a list of PCI addresses")
            uuid = str(doc["uuid"]).lower()
            if uuid in out:
                raise StoreError(f"{path}: UUID {uuid} appears twice (documents {out[uuid][0]} and {doc_id})")
            out[uuid] = (doc_id, doc)
        return out

    def managed_vms(self) -> list[ManagedVm]:
        _, docs = self._docs(VMS_FILE, "vms")
        return sorted(
            (
                ManagedVm(
                    d["uuid"], d["name"], d["host"], d.get("status", "active"), tuple(d.get("devices", ()))
                )
                for _, d in self._vm_docs(docs).values()
            ),
            key=lambda v: (v.host, v.name),
        )

    def record_vm(self, vm: ManagedVm, reason: str | None = None) -> None:
        """Remember a VM vmdeck started or adopted (re-recording a UUID moves it: migration)."""
        if vm.status not in VM_STATUSES:
            raise HostError(f"unknown VM status {vm.status!r}")
        with self._changing(VMS_FILE, "vms") as (data, docs):
            uuid = vm.uuid.lower()
            found = self._vm_docs(docs).get(uuid)
            after = {**vm.to_json(), "uuid": uuid}
            if found is None:
                doc_id = str(max((int(k) for k in docs), default=0) + 1)
                before = None
            else:
                doc_id, before = found[0], dict(found[1])
            docs[doc_id] = after
            self._commit(VMS_FILE, data, [self._entry("vm.record", vm.host, before, after, reason)])

    def forget_vm(self, uuid: str, reason: str | None = None) -> ManagedVm:
        with self._changing(VMS_FILE, "vms") as (data, docs):
            found = self._vm_docs(docs).get(uuid.lower())
            if found is None:
                raise HostError(f"vmdeck has no record of a VM with UUID {uuid}")
            doc_id, doc = found
            del docs[doc_id]
            self._commit(VMS_FILE, data, [self._entry("vm.forget", doc["host"], dict(doc), None, reason)])
            return ManagedVm(
                doc["uuid"],
                doc["name"],
                doc["host"],
                doc.get("status", "active"),
                tuple(doc.get("devices", ())),
            )

    # --- actions: intent before, outcome after --------------------------------------------------------
    def record_action(
        self, what: str, host: str | None, after: Mapping[str, Any], reason: str | None
    ) -> None:
        """A one-shot entry (a refusal), under the same lock as every other store write."""
        result = after.get("result") if isinstance(after.get("result"), str) else None
        target = after.get("target") if isinstance(after.get("target"), str) else None
        with self._lock.held():
            self.audit_log.append(
                [
                    self._entry(
                        what, host, None, dict(after), reason, kind="event", result=result, target=target
                    )
                ]
            )

    # --- audit ---------------------------------------------------------------------------------------
    def _current_records(self) -> dict[str, Any] | None:
        """{record key: json} of what is in force, for telling applied changes from the rest."""
        try:
            hosts = {f"host:{name}": rec.to_json() for name, (_, rec) in self._read_hosts().items()}
            _, docs = self._docs(VMS_FILE, "vms")
            vms = {f"vm:{uuid}": doc for uuid, (_, doc) in self._vm_docs(docs).items()}
        except StoreError:
            return None  # a damaged file is reported by its own readers; the audit stays readable
        return {**hosts, **vms}

    def audit(
        self,
        host: str | None = None,
        *,
        vm: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        raw: bool = False,
    ) -> list[AuditEntry]:
        """Entries oldest first: one per change or action (raw=True: every line as stored)."""
        with self._lock.held_for_reading():
            entries = self.audit_log.read().entries
            current = None if raw else self._current_records()
            state = None if raw else self._leases_or_none()
        if not raw:
            entries = fold(entries, current)
            if state is not None:
                running = {i for i in state["intents"] if self._open(i, state, time.time())}
                entries = [
                    _with_result(e, IN_PROGRESS) if e.result == OUTCOME_UNKNOWN and e.id in running else e
                    for e in entries
                ]
        after = parse_since(since) if since else None
        return [e for e in entries if matches(e, host, vm, actor, after)]

    def _leases_or_none(self) -> dict[str, dict[str, Any]] | None:
        try:
            return self._read_leases()
        except StoreError:
            return None

    def audit_tail(self, limit: int) -> AuditPage:
        """The last `limit` entries as stored, without reading the whole log (audittail.py)."""
        return read_tail(self.audit_log.path, limit)

    def audit_after(self, cursor: str, limit: int) -> AuditPage:
        """At most `limit` entries appended after `cursor` (from a page this store returned)."""
        return read_after(self.audit_log.path, cursor, limit)

    def audit_problems(self) -> list[str]:
        """Every damaged audit line with its number, e.g. "audit.jsonl:17: not valid JSON (...)"."""
        return self.audit_log.read().problems


def _with_result(entry: AuditEntry, result: str) -> AuditEntry:
    return replace(entry, result=result)
