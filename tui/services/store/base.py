"""The store interface every backend implements (local directory, PostgreSQL): see STORE_CONTRACT.

Callers (actions, commands, the console) use only `FleetStore`; they never know which backend they
have. Promises every backend keeps:
- audit first, then act: a change's audit entry is durable before the change is in force, and an
  action's intent before it touches anything, its outcome after;
- leases: one action per object ("vm:NAME" / "host:NAME") at a time, across threads, processes and
  machines; a lease past `expires` is free for anyone (its holder died), so nothing stays locked;
- device reservations: PCI addresses a start chose are held with its lease until it is recorded or
  fails, and every scheduler's fleet view counts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import ManagedVm
from tui.services.store.audit import Actor, AuditEntry, AuditPage
from tui.services.store.files import StoreError

LEASE_TTL_S = 30.0  # a lease not renewed for this long is free (its holder died)
LEASE_RENEW_S = 10.0  # holders renew this often, so a live holder never loses its lease


def verb_of(action: str) -> str:
    """ "vm.stop" -> "stop" (what the refusal message calls the running action)."""
    return action.rsplit(".", 1)[-1]


def object_of(key: str) -> str:
    """ "vm:web1" -> "web1"."""
    return key.split(":", 1)[-1]


class Busy(StoreError):
    """A lease is held by someone else: str(exc) == "stop web1 already running, started by alice at T"."""

    def __init__(self, key: str, action: str, holder: str, since: str) -> None:
        self.key, self.action, self.holder, self.since = key, action, holder, since
        super().__init__(
            f"{verb_of(action)} {object_of(key)} already running, started by {holder} at {since}"
        )


class DevicesTaken(StoreError):
    """PCI devices another live start has reserved on the same host."""

    def __init__(self, host: str, devices: Sequence[str], holder: str) -> None:
        self.host, self.devices, self.holder = host, tuple(devices), holder
        super().__init__(f"device(s) {', '.join(devices)} on {host} are reserved by {holder}")


@dataclass(frozen=True)
class Lease:
    key: str  # "vm:<name>" or "host:<name>"  (VM names are unique per fleet in vmdeck)
    action: str  # e.g. "vm.stop", "host.drain"
    holder: str  # str(Actor) plus "pid N on MACHINE"
    since: str  # ISO 8601 UTC
    expires: float  # unix time; a lease past it is free for anyone (holder died)
    token: str  # random; release/renew must present it

    @property
    def description(self) -> str:
        return f"{verb_of(self.action)} {object_of(self.key)}, started by {self.holder} at {self.since}"


class FleetStore(Protocol):
    actor: Actor
    location: str

    # hosts
    def hosts(self) -> list[HostRecord]: ...
    def host(self, name: str) -> HostRecord | None: ...
    def add_hosts(
        self, hosts: Sequence[HostRecord], reason: str | None = None, what: str = "host.add"
    ) -> None: ...
    def add_host(self, host: HostRecord, reason: str | None = None) -> None: ...
    def edit_host(self, name: str, changes: Mapping[str, Any], reason: str | None = None) -> HostRecord: ...
    def set_state(self, name: str, state: HostState, reason: str) -> HostRecord: ...
    def remove_host(self, name: str, reason: str | None = None) -> HostRecord: ...

    # vmdeck's VMs
    def managed_vms(self) -> list[ManagedVm]: ...
    def record_vm(self, vm: ManagedVm, reason: str | None = None) -> None: ...
    def forget_vm(self, uuid: str, reason: str | None = None) -> ManagedVm: ...

    # actions: audit first, then act
    def begin(
        self,
        what: str,
        host: str | None,
        target: str,
        before: Any,
        reason: str | None,
        *,
        lease: Lease | None = None,
    ) -> str: ...
    def finish(
        self,
        intent_id: str,
        result: str,
        after: Any,
        message: str | None,
        *,
        what: str | None = None,
        target: str | None = None,
    ) -> None: ...
    def record_action(
        self, what: str, host: str | None, after: Mapping[str, Any], reason: str | None
    ) -> None: ...

    # leases
    def acquire_lease(self, key: str, action: str, ttl_s: float) -> Lease: ...
    def renew_lease(self, lease: Lease, ttl_s: float) -> Lease: ...
    def release_lease(self, lease: Lease) -> None: ...
    def leases(self) -> list[Lease]: ...
    def reserve_devices(self, lease: Lease, host: str, devices: Sequence[str]) -> None: ...
    def release_devices(self, lease: Lease) -> None: ...
    def reserved_devices(self, *, excluding: Lease | None = None) -> dict[str, set[str]]: ...
    def reconcile_intents(self) -> list[str]: ...

    # audit
    def audit(
        self,
        host: str | None = None,
        *,
        vm: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        raw: bool = False,
    ) -> list[AuditEntry]: ...
    def audit_problems(self) -> list[str]: ...
    # Bounded reads for followers of the log (the console's Activity pane): raw entries, oldest first.
    def audit_tail(self, limit: int) -> AuditPage: ...
    def audit_after(self, cursor: str, limit: int) -> AuditPage: ...
    def close(self) -> None: ...
