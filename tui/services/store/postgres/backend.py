"""The PostgreSQL store: one fleet shared by every vmdeck that names the same database.

`PostgresStore` is the tables' methods put together (inventory.py: hosts and VMs; intents.py: the
audit trail; leasing.py: leases and device reservations; transaction.py: the connection and the one
transaction per change they all use), plus copying between backends and the change feed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from psycopg.types.json import Jsonb

from tui.core.hosts import HostRecord
from tui.core.live import ManagedVm
from tui.services.store.audit import AuditEntry
from tui.services.store.feed import ChangeCallback, StatusCallback
from tui.services.store.postgres.intents import IntentTables
from tui.services.store.postgres.inventory import InventoryTables
from tui.services.store.postgres.leasing import LeaseTables
from tui.services.store.postgres.listener import Listener
from tui.services.store.postgres.schema import current_version
from tui.services.store.postgres.transaction import AUDIT_COLUMNS, json_or_null


class PostgresStore(InventoryTables, IntentTables, LeaseTables):
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
                f"INSERT INTO vmdeck_audit ({AUDIT_COLUMNS}) "
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
                        json_or_null(e.before),
                        json_or_null(e.after),
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
