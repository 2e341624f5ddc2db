"""Moving a fleet between backends (`vmdeck store copy`): hosts, vmdeck's VMs and the audit log.

Idempotent: what the destination already has (hosts by name, VMs by UUID, audit entries by id) is
left alone, so a copy can be repeated — after an interruption, or to bring over what was added since.
A host that exists on both sides with different fields is reported, not overwritten: which one is
right is a person's decision. Audit entries keep their ids, times and authors; they are written
first, then the records (audit first, then act).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.hosts import HostRecord
from tui.core.live import ManagedVm
from tui.services.store.audit import AuditEntry
from tui.services.store.files import AtomicJSONStorage
from tui.services.store.store import HOSTS_FILE, VMS_FILE, Store


@dataclass
class CopyResult:
    added: dict[str, int]
    conflicts: list[str] = field(default_factory=list)


def all_entries(store: Any) -> list[AuditEntry]:
    """Every audit entry as stored (intents and outcomes apart, where a backend folds them)."""
    try:
        entries: list[AuditEntry] = store.audit(raw=True)
    except TypeError:  # a backend whose audit() has no `raw`: it never folds
        entries = store.audit()
    return entries


def copy_store(source: Any, dest: Any) -> CopyResult:
    hosts, vms, entries = source.hosts(), source.managed_vms(), all_entries(source)
    have = {h.name: h for h in dest.hosts()}
    conflicts = [
        f"host {h.name} differs between the stores (kept as it is in the destination)"
        for h in hosts
        if h.name in have and have[h.name] != h
    ]
    if isinstance(dest, Store):
        added = _import_local(dest, hosts, vms, entries)
    else:
        added = dest.import_records(hosts, vms, entries)
    return CopyResult(added, conflicts)


def _import_local(
    store: Store, hosts: list[HostRecord], vms: list[ManagedVm], entries: list[AuditEntry]
) -> dict[str, int]:
    """The local backend's side, in its on-disk format (TinyDB tables), under the store's lock."""
    with store._lock.held():
        have_ids = {e.id for e in all_entries(store)}
        new_entries = [e for e in entries if e.id not in have_ids]
        store.audit_log.append(new_entries)
        added_hosts = _add_docs(store.directory / HOSTS_FILE, "hosts", "name", [h.to_json() for h in hosts])
        vm_docs = [{**v.to_json(), "uuid": v.uuid.lower()} for v in vms]
        added_vms = _add_docs(store.directory / VMS_FILE, "vms", "uuid", vm_docs)
    return {"hosts": added_hosts, "vms": added_vms, "audit": len(new_entries)}


def _add_docs(path: Path, table: str, key: str, docs: list[dict[str, Any]]) -> int:
    storage = AtomicJSONStorage(path)
    data = storage.read() or {}
    rows: dict[str, Any] = data.setdefault(table, {})
    present = {row.get(key) for row in rows.values() if isinstance(row, dict)}
    new = [d for d in docs if d[key] not in present]
    next_id = max((int(k) for k in rows if k.isdigit()), default=0) + 1
    for offset, doc in enumerate(new):
        rows[str(next_id + offset)] = doc
    if new:
        storage.write(data)
    return len(new)
