"""The store interface every backend implements (local directory, PostgreSQL), and its shared types.

Callers (commands, the console, the poller, the actions) use `FleetStore` only and never know which
backend they have; `open_store` (tui/services/store/__init__.py) picks one from a location string.
The names here are the store contract shared by both backends (see the README's "Store backends").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import ManagedVm
from tui.services.store.audit import Actor, AuditEntry
from tui.services.store.files import StoreError

__all__ = ["Busy", "FleetStore", "Lease", "StoreChange", "StoreError", "busy_message"]


def busy_message(key: str, action: str, holder: str, since: str) -> str:
    """ "stop web1 already running, started by alice at 2026-12-01T21:03:04Z" """
    verb = action.rsplit(".", 1)[-1]
    name = key.split(":", 1)[1] if ":" in key else key
    try:  # to the second, as people read it; anything unparsable is shown as given
        since = datetime.fromisoformat(since).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        pass
    return f"{verb} {name} already running, started by {holder} at {since}"


class Busy(StoreError):
    """A lease on the object is held by someone else (another process, maybe another machine)."""

    def __init__(self, key: str, action: str, holder: str, since: str) -> None:
        super().__init__(busy_message(key, action, holder, since))
        self.key, self.action, self.holder, self.since = key, action, holder, since


@dataclass(frozen=True)
class Lease:
    key: str  # "vm:<name>" or "host:<name>" (VM names are unique per fleet in vmdeck)
    action: str  # e.g. "vm.stop", "host.drain"
    holder: str  # str(Actor) plus "pid N on MACHINE"
    since: str  # ISO 8601 UTC
    expires: float  # unix time; a lease past it is free for anyone (its holder died)
    token: str  # random; release/renew must present it


ChangeKind = Literal["host", "vm", "audit", "lease"]


@dataclass(frozen=True)
class StoreChange:
    """One change made by some vmdeck (this one or another), as the change feed reports it.

    `key` names the object (a host name, a VM's UUID, a lease key) or is None for "many: re-read all".
    """

    kind: ChangeKind
    key: str | None
    who: str
    what: str


ChangeCallback = Callable[[StoreChange], None]
# Told when the feed loses its store (False, why) and when it is back (True, "").
StatusCallback = Callable[[bool, str], None]


class FleetStore(Protocol):
    actor: Actor
    location: str  # shown to people: the directory, or the URL with its password redacted

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
    def begin(self, what: str, host: str | None, target: str, before: Any, reason: str | None) -> str: ...
    def finish(self, intent_id: str, result: str, after: Any, message: str | None) -> None: ...
    def record_action(
        self, what: str, host: str | None, after: Mapping[str, Any], reason: str | None
    ) -> None: ...
    # leases
    def acquire_lease(self, key: str, action: str, ttl_s: float) -> Lease: ...
    def renew_lease(self, lease: Lease, ttl_s: float) -> Lease: ...
    def release_lease(self, lease: Lease) -> None: ...
    def leases(self) -> list[Lease]: ...
    # audit
    def audit(
        self,
        host: str | None = None,
        *,
        vm: str | None = None,
        actor: str | None = None,
        since: str | None = None,
    ) -> list[AuditEntry]: ...
    def audit_problems(self) -> list[str]: ...
    def close(self) -> None: ...
