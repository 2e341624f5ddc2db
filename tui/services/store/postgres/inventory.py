"""The PostgreSQL store's inventory: the registered hosts and the VMs vmdeck started or adopted.

Each change is one transaction of `PostgresConnection._tx` with its audit row and notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord, missing_state_reason
from tui.core.live import ManagedVm
from tui.services.store.postgres.transaction import PostgresConnection


class InventoryTables(PostgresConnection):
    """vmdeck_hosts and vmdeck_vms."""

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
            if after.state is not before.state and (why := missing_state_reason(name, reason)):
                raise HostError(why)
            cur.execute(
                "UPDATE vmdeck_hosts SET record = %s, version = version + 1 WHERE name = %s",
                (Jsonb(after.to_json()), name),
            )
            what = "host.state" if set(changes) == {"state"} else "host.edit"
            self._audit(cur, what, name, before.to_json(), after.to_json(), reason)
            self._notify(cur, "host", [name], what)
            return after

    def set_state(self, name: str, state: HostState, reason: str) -> HostRecord:
        if why := missing_state_reason(name, reason):
            raise HostError(why)
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
        return [vm_of(r[0]) for r in rows]

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
            vm = vm_of(row[0])
            self._audit(cur, "vm.forget", vm.host, row[0], None, reason, target=f"vm:{vm.name}")
            self._notify(cur, "vm", [vm.uuid], "vm.forget")
            return vm


def vm_of(doc: dict[str, Any]) -> ManagedVm:
    """A VM record; fields a newer ManagedVm has (status, devices) are passed on only when present."""
    extra: dict[str, Any] = {
        k: (tuple(v) if k == "devices" else v) for k, v in doc.items() if k in ("status", "devices")
    }
    return ManagedVm(doc["uuid"], doc["name"], doc["host"], **extra)
