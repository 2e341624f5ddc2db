"""The context every action runs in: config, store, live fleet, read-only flag, and the shared rules.

A `Deck` wraps what the console (or a CLI run) already has — the loaded `VmConfig`, the store and
the poller (in-process `Poller`, or the console's `WorkerPoller`) whose connections and snapshots are the live fleet — and implements the checks every
action repeats: refuse Disabled and unreachable hosts with a message, find a VM by name, bound each
libvirt call. The one action path itself (read-only check, lease, intent, outcome) is `ActionPath`
(path.py), which a Deck is.

Actions are plain blocking functions taking a Deck: the UI calls them from a thread worker, the CLI
calls them directly. Every libvirt call inside goes through `Deck.call`, a daemon thread with a bound,
so a worker never waits forever on a dead host.

Placements that the poller has not seen yet (a VM just started or migrated) are kept as "pending" and
added to the fleet the scheduler sees, so two decisions in a row never both count on the same room.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import libvirt

from tui.core.fleet import Fleet, FleetHost, HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, HostSnapshot, HostStatus, live_fleet, not_actionable
from tui.core.model import Realm, VmConfig
from tui.services.actions.bounded import bounded
from tui.services.actions.domain_xml import CpuSpec
from tui.services.actions.outcome import Refused
from tui.services.actions.path import READ_ONLY_MESSAGE, ActionPath, Note
from tui.services.libvirt import effective_uri, ensure_runtime
from tui.services.poller import LivePoller, Poller, PollerSettings
from tui.services.store import StoreError
from tui.services.store.base import LEASE_RENEW_S, LEASE_TTL_S, FleetStore

T = TypeVar("T")

__all__ = ["READ_ONLY_MESSAGE", "ActionSettings", "Deck", "Note", "host_status_line"]

PENDING_TTL_S = 120.0  # a placement the poller never confirms stops counting after this


@dataclass(frozen=True)
class ActionSettings:
    read_only: bool = False
    call_timeout: float = 60.0  # one ordinary libvirt call (define, start, destroy, pool calls)
    migrate_timeout: float = 600.0  # one live migration
    shutdown_timeout: float = 60.0  # how long a graceful shutdown may take before "force?"
    # Migration data connection per destination host ("*": every host), e.g. tcp://10.0.0.5. Without
    # one, libvirt uses the destination's hostname, which must resolve from the source.
    migrate_uris: Mapping[str, str] = field(default_factory=dict)
    # Disk images on storage every host sees but libvirt cannot recognise as shared (anything but
    # NFS/GFS2/Ceph...): libvirt refuses such live migrations as unsafe unless told otherwise.
    assume_shared_storage: bool = False
    domain_type: str = "kvm"
    firmware: str | None = None  # a ROM instead of SeaBIOS (test beds: the halt ROM)
    machine: str | None = None
    cpu: CpuSpec = field(default_factory=CpuSpec)
    default_disk: int = 10 << 30  # when neither --disk nor an image says, bounded by min/max-size
    lease_ttl_s: float = LEASE_TTL_S  # a dead holder's lease is free after this at most
    lease_renew_s: float = LEASE_RENEW_S

    def migrate_uri(self, host: str) -> str | None:
        return self.migrate_uris.get(host) or self.migrate_uris.get("*")


@dataclass(frozen=True)
class _Pending:
    uuid: str
    host: str
    vcpus: int
    memory: int
    devices: tuple[str, ...]
    since: float


class Deck(ActionPath):
    def __init__(
        self,
        config: VmConfig,
        store: FleetStore,
        poller: LivePoller,
        settings: ActionSettings | None = None,
    ) -> None:
        self.settings = settings or ActionSettings()
        super().__init__(
            store,
            read_only=self.settings.read_only,
            lease_ttl_s=self.settings.lease_ttl_s,
            lease_renew_s=self.settings.lease_renew_s,
        )
        self.config = config
        self.poller = poller
        self._lock = threading.Lock()  # guards the pending placements
        self._pending: dict[str, _Pending] = {}
        # Placement decisions are taken one at a time so two never count on the same free room.
        self.placement_lock = threading.RLock()
        self._owned_poller = False

    # --- construction for headless use ---------------------------------------------------------------
    @classmethod
    def open(
        cls,
        config: VmConfig,
        store: FleetStore,
        settings: ActionSettings | None = None,
        poller_settings: PollerSettings | None = None,
    ) -> Deck:
        """A Deck with its own poller, polled once (every connected host opened within its bound)."""
        settings = settings or ActionSettings()
        poller_settings = poller_settings or PollerSettings(read_only=settings.read_only)
        poller = Poller(store.hosts(), config, poller_settings)
        poller.poll_once()
        deck = cls(config, store, poller, settings)
        deck._owned_poller = True
        return deck

    def close(self) -> None:
        if self._owned_poller:
            self.poller.close()

    # --- reading -------------------------------------------------------------------------------------
    def hosts(self) -> dict[str, HostRecord]:
        return {h.name: h for h in self.store.hosts()}

    def snapshots(self) -> dict[str, HostSnapshot]:
        return self.poller.snapshots()

    def realm_of(self, record: HostRecord) -> Realm:
        realm = self.config.realms.get(record.realm)
        if realm is None:
            raise Refused(
                f"host {record.name!r} is in realm {record.realm!r}, which the config does not define"
            )
        return realm

    def host(self, name: str) -> HostRecord:
        record = self.hosts().get(name)
        if record is None:
            known = ", ".join(sorted(self.hosts())) or "none"
            raise Refused(f"no host named {name!r} (hosts: {known})")
        return record

    def connect(self, name: str) -> tuple[HostRecord, libvirt.virConnect]:
        """The host's record and live connection, or a refusal saying why vmdeck cannot act on it."""
        record = self.host(name)
        realm = self.config.realms.get(record.realm)
        conn = self.poller.connection(name)
        why = not_actionable(
            record, self.snapshots().get(name), realm is not None and realm.disabled, conn is not None
        )
        if why is not None or conn is None:
            raise Refused(why or f"host {name!r} is unreachable; try again when it answers")
        return record, conn

    @contextlib.contextmanager
    def console_connection(self, name: str) -> Iterator[libvirt.virConnect]:
        """A connection in this process for a serial console session (stream callbacks cannot cross
        to the poller worker): the poller's own when it runs here, else one opened for the session
        and closed after it (the host's daemon keeps the state, so it sees the same VM)."""
        record, conn = self.connect(name)
        if isinstance(conn, libvirt.virConnect):
            yield conn
            return
        ensure_runtime()
        own = self.call(libvirt.open, effective_uri(record.uri), what=f"connect to {name}")
        try:
            yield own
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                own.close()

    def locate(self, vm: str, host: str | None = None) -> tuple[str, DomainFacts]:
        """(host, facts) of the VM named `vm` (or with that UUID) among reachable hosts.

        A VM started or moved since the last poll is not in the snapshots yet: one fresh poll of the
        reachable hosts is made before saying it does not exist.
        """
        found = self._find(vm, host)
        if not found:
            live = tuple(n for n, s in self.snapshots().items() if s.live and host in (None, n))
            if live:
                self.wait_refreshed(live)
                found = self._find(vm, host)
        if not found:
            raise self._not_found(vm, host)
        if len(found) > 1:
            hosts = ", ".join(h for h, _ in found)
            raise Refused(f"VM {vm!r} is defined on several hosts ({hosts}): name one with --host")
        return found[0]

    def _find(self, vm: str, host: str | None) -> list[tuple[str, DomainFacts]]:
        found: list[tuple[str, DomainFacts]] = []
        for name, snap in sorted(self.snapshots().items()):
            if host is not None and name != host:
                continue
            if not snap.live:
                continue
            found.extend((name, d) for d in snap.domains if vm in (d.name, d.uuid))
        return found

    def _not_found(self, vm: str, host: str | None) -> Refused:
        where = f"on host {host!r}" if host else "on any reachable host"
        unreachable = sorted(n for n, s in self.snapshots().items() if not s.live)
        extra = f" (unreachable, not searched: {', '.join(unreachable)})" if unreachable and not host else ""
        return Refused(f"no VM named {vm!r} {where}{extra}")

    def domain(self, conn: libvirt.virConnect, facts: DomainFacts) -> libvirt.virDomain:
        try:
            return self.call(conn.lookupByUUIDString, facts.uuid, what=f"look up {facts.name}")
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise Refused(
                    f"VM {facts.name!r} is gone from its host (undefined since the last poll)"
                ) from None
            raise

    # --- the scheduler's view ------------------------------------------------------------------------
    def fleet(self, realm: str | None = None, unschedulable: tuple[str, ...] = ()) -> Fleet:
        """The live fleet (optionally one realm's hosts) plus pending placements; hosts named in
        `unschedulable` are exported as No Scheduling (the source of a migration or a drain)."""
        hosts = [
            h
            for h in self.store.hosts()
            if h.profile in self.config.hardware_profiles
            and h.realm in self.config.realms
            and (realm is None or h.realm == realm)
        ]
        snaps = self.snapshots()
        fleet = live_fleet(hosts, snaps, self.config)
        pending = self._pending_by_host(snaps)
        reserved = self._devices_not_polled_yet(snaps)
        out: list[FleetHost] = []
        for fh in fleet.hosts:
            if reserved.get(fh.name):
                fh = replace(fh, devices_in_use=tuple(sorted({*fh.devices_in_use, *reserved[fh.name]})))
            for p in pending.get(fh.name, ()):
                fh = replace(
                    fh,
                    vms=fh.vms + 1,
                    vcpus=fh.vcpus + p.vcpus,
                    memory=fh.memory + p.memory,
                    devices_in_use=tuple(sorted({*fh.devices_in_use, *p.devices})),
                )
            if fh.name in unschedulable and fh.state is HostState.ENABLED:
                fh = replace(fh, state=HostState.NO_SCHEDULING)
            out.append(fh)
        return Fleet(tuple(out))

    def _devices_not_polled_yet(self, snaps: Mapping[str, HostSnapshot]) -> dict[str, set[str]]:
        """PCI devices that other starts (any process) hold but this poller may not see yet: those
        reserved by live leases, and those of recorded VMs their host's snapshot does not show."""
        try:
            reserved = self.store.reserved_devices()
            for vm in self.store.managed_vms():
                snap = snaps.get(vm.host)
                if vm.devices and not (
                    snap is not None and any(d.uuid.lower() == vm.uuid.lower() for d in snap.domains)
                ):
                    reserved.setdefault(vm.host, set()).update(vm.devices)
        except StoreError:
            return {}
        return reserved

    def _pending_by_host(self, snaps: Mapping[str, HostSnapshot]) -> dict[str, list[_Pending]]:
        now = time.monotonic()
        out: dict[str, list[_Pending]] = {}
        with self._lock:
            for uuid, p in list(self._pending.items()):
                snap = snaps.get(p.host)
                seen = snap is not None and any(d.uuid == uuid for d in snap.domains)
                if seen or now - p.since > PENDING_TTL_S:
                    del self._pending[uuid]  # the poller has it now (or it never came)
                    continue
                out.setdefault(p.host, []).append(p)
        return out

    def add_pending(self, uuid: str, host: str, vcpus: int, memory: int, devices: tuple[str, ...]) -> None:
        with self._lock:
            self._pending[uuid] = _Pending(uuid, host, vcpus, memory, devices, time.monotonic())

    def drop_pending(self, uuid: str) -> None:
        with self._lock:
            self._pending.pop(uuid, None)

    def refresh(self, *hosts: str) -> None:
        """Ask the poller to look at these hosts again soon (what an action changed)."""
        for name in hosts:
            self.poller.request_poll(name)

    def wait_refreshed(self, hosts: tuple[str, ...], timeout: float = 10.0) -> dict[str, HostSnapshot]:
        """Poll these hosts now and wait (bounded) until each has published a newer snapshot."""
        if self._owned_poller:
            # A headless Deck's poller is not running: poll now (only connected hosts answer).
            return self.poller.poll_once()
        before = {h: s.seq for h, s in self.snapshots().items() if h in hosts}
        self.refresh(*hosts)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snaps = self.snapshots()
            if all(snaps.get(h) is not None and snaps[h].seq > before.get(h, -1) for h in hosts):
                return snaps
            time.sleep(0.02)
        return self.snapshots()

    # --- libvirt calls -------------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, what: str, timeout: float | None = None) -> T:
        return bounded(fn, *args, timeout=timeout or self.settings.call_timeout, what=what)


def host_status_line(snap: HostSnapshot | None) -> str:
    if snap is None:
        return "not polled"
    if snap.status is HostStatus.CONNECTED:
        return "connected"
    return f"{snap.status.value}{': ' + snap.error if snap.error else ''}"
