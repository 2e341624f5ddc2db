"""The console's live feed: poll every connected host off the UI loop, publish frozen snapshots.

This is the console's thin adapter over the live-fleet layer (tui/services/libvirt: `open_connection`,
`HostReader`). It owns one long-lived connection per host (the test driver keeps a file URI's state
per connection) and runs the polls in one daemon thread, because the test driver's calls are
in-process and a thread pool only slows them down. Opening a remote host may hang, so each open()
runs in its own daemon thread that the feed stops waiting for after `open_timeout`; a hung or failed
host is retried with exponential backoff and never stalls the others.

Publishing: after each cycle, one `FeedBatch` with the snapshots that changed (status, error or
domains) goes to the `publish` callback, from the feed's thread — the console turns it into a single
message with `post_message`. Cycles never overlap: the next starts `interval` seconds after the
previous one finished. Guest addresses (for static address translation) are read once per running
domain, because the lease lookup is the most expensive call here and addresses rarely change.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import libvirt

from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus
from tui.services.libvirt import Connection, HostReader, ensure_runtime, open_connection

BACKOFF_MAX_S = 60.0


@dataclass(frozen=True)
class FeedBatch:
    """Snapshots that changed in one cycle, plus guest IPv4 addresses by domain UUID."""

    snapshots: tuple[HostSnapshot, ...]
    addresses: Mapping[str, str] = field(default_factory=dict)
    cycle_seconds: float = 0.0


@dataclass
class _Host:
    record: HostRecord
    reader: HostReader = field(default_factory=HostReader)
    conn: Connection | None = None
    opening: threading.Thread | None = None
    opened: Connection | BaseException | None = None
    retry_at: float = 0.0
    failures: int = 0
    last: HostSnapshot | None = None
    seq: int = 0


class FleetFeed:
    """Polls a set of hosts in a daemon thread; `publish` receives a `FeedBatch` per changed cycle."""

    def __init__(
        self,
        hosts: Iterable[HostRecord],
        publish: Callable[[FeedBatch], None],
        *,
        interval: float = 5.0,
        open_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        self._hosts: dict[str, _Host] = {h.name: _Host(h) for h in hosts}
        self._publish = publish
        self.interval = interval
        self.open_timeout = open_timeout
        self.read_only = read_only
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._addresses: dict[str, str] = {}
        self._jobs: list[Callable[[Mapping[str, libvirt.virConnect]], None]] = []

    # --- control (any thread) ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            ensure_runtime()
            self._thread = threading.Thread(target=self._run, name="vmdeck-feed", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish; never joins a possibly hung libvirt call (the thread is a daemon)."""
        self._stop.set()
        self._wake.set()

    def poll_now(self) -> None:
        self._wake.set()

    def set_host(self, record: HostRecord) -> None:
        """A host's record changed (e.g. its state): Disabled hosts are disconnected on the next cycle."""
        with self._lock:
            entry = self._hosts.get(record.name)
            if entry is None:
                self._hosts[record.name] = _Host(record)
            else:
                entry.record = record
                entry.retry_at = 0.0
        self._wake.set()

    def run_on_hosts(self, job: Callable[[Mapping[str, libvirt.virConnect]], None]) -> None:
        """Run `job(connections by host name)` on the feed's thread before the next cycle.

        The test driver's state lives in the feed's connections, so changes to a demo host go here.
        """
        with self._lock:
            self._jobs.append(job)
        self._wake.set()

    # --- the thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._run_jobs()
            changed = [snap for snap in (self._cycle(h) for h in self._entries()) if snap is not None]
            if changed and not self._stop.is_set():
                addresses = dict(self._addresses)
                self._publish(FeedBatch(tuple(changed), addresses, time.monotonic() - started))
            self._wake.wait(self.interval)
            self._wake.clear()
        for entry in self._entries():
            if entry.conn is not None:
                entry.conn.close()

    def _entries(self) -> list[_Host]:
        with self._lock:
            return sorted(self._hosts.values(), key=lambda h: h.record.name)

    def _run_jobs(self) -> None:
        with self._lock:
            jobs, self._jobs = self._jobs, []
        conns = {e.record.name: e.conn.conn for e in self._entries() if e.conn is not None}
        for job in jobs:
            with contextlib.suppress(libvirt.libvirtError, ValueError, KeyError):
                job(conns)

    def _cycle(self, entry: _Host) -> HostSnapshot | None:
        record = entry.record
        if not record.connected:
            if entry.conn is not None:
                entry.conn.close()
                entry.conn = None
            return self._emit(entry, HostStatus.DISABLED, None, keep_domains=False)
        if entry.conn is not None and entry.conn.dead.is_set():
            entry.conn.close()
            entry.conn = None
            entry.reader.reset()
            return self._emit(entry, HostStatus.UNREACHABLE, "connection lost; reconnecting")
        if entry.conn is None:
            return self._connect(entry)
        return self._poll(entry)

    def _connect(self, entry: _Host) -> HostSnapshot | None:
        now = time.monotonic()
        if entry.opening is None:
            if now < entry.retry_at:
                return None
            entry.opened = None
            entry.opening = threading.Thread(target=self._open, args=(entry,), daemon=True)
            entry.opening.start()
            entry.opening.join(self.open_timeout)
        if entry.opening.is_alive():
            return self._emit(entry, HostStatus.CONNECTING, f"no answer after {self.open_timeout:g} s")
        entry.opening = None
        opened = entry.opened
        if isinstance(opened, Connection):
            entry.conn, entry.failures = opened, 0
            return self._poll(entry)
        entry.failures += 1
        entry.retry_at = now + min(BACKOFF_MAX_S, self.interval * 2 ** (entry.failures - 1))
        return self._emit(entry, HostStatus.UNREACHABLE, _message(opened))

    def _open(self, entry: _Host) -> None:
        missing = _missing_test_file(entry.record.uri)
        if missing:
            # libxml2 would print an I/O warning straight to the terminal the console draws on.
            entry.opened = OSError(f"test driver node file not found: {missing}")
            return
        try:
            entry.opened = open_connection(
                entry.record.uri,
                read_only=self.read_only,
                keepalive=(5, 3),
                on_event=self._wake.set,  # an event is a hint: poll soon
                on_close=lambda _reason: self._wake.set(),
            )
        except (libvirt.libvirtError, OSError) as exc:
            entry.opened = exc

    def _poll(self, entry: _Host) -> HostSnapshot | None:
        assert entry.conn is not None
        conn = entry.conn.conn
        started = time.monotonic()
        try:
            node = entry.reader.node(conn)
            domains = entry.reader.domains(conn, time.time())
            for dom in domains:
                if dom.state is DomainState.RUNNING and dom.uuid not in self._addresses:
                    self._addresses[dom.uuid] = _address(conn, dom.uuid)
        except libvirt.libvirtError as exc:
            entry.conn.close()
            entry.conn = None
            entry.reader.reset()
            entry.failures += 1
            entry.retry_at = time.monotonic() + min(BACKOFF_MAX_S, self.interval * 2 ** (entry.failures - 1))
            return self._emit(entry, HostStatus.UNREACHABLE, _message(exc))
        elapsed = time.monotonic() - started
        return self._emit(entry, HostStatus.CONNECTED, None, node=node, domains=domains, seconds=elapsed)

    def _emit(
        self,
        entry: _Host,
        status: HostStatus,
        error: str | None,
        *,
        keep_domains: bool = True,
        node: object = None,
        domains: tuple[object, ...] | None = None,
        seconds: float | None = None,
    ) -> HostSnapshot | None:
        """Build the host's snapshot; return it only when something an admin would see changed."""
        last = entry.last
        if domains is None:  # not answering: keep the last known facts, marked by the status
            domains = last.domains if (last and keep_domains) else ()
            node = last.node if (last and keep_domains) else None
        polled_at = time.time() if status is HostStatus.CONNECTED else (last.polled_at if last else None)
        if (
            last is not None
            and last.status is status
            and last.error == error
            and _visible(last.domains) == _visible(domains)  # type: ignore[arg-type]
            and last.node == node
        ):
            return None
        entry.seq += 1
        snap = HostSnapshot(
            host=entry.record.name,
            uri=entry.record.uri,
            status=status,
            error=error,
            node=node,  # type: ignore[arg-type]
            domains=domains,  # type: ignore[arg-type]
            polled_at=polled_at,
            poll_seconds=seconds,
            seq=entry.seq,
        )
        entry.last = snap
        return snap


def _visible(domains: tuple[DomainFacts, ...]) -> list[tuple[object, ...]]:
    """What the console shows of a host's domains; CPU time moves on every poll and is left out."""
    return [(d.uuid, d.name, d.state, d.vcpus, d.memory, d.hostdevs) for d in domains]


def _missing_test_file(uri: str) -> str | None:
    if not uri.startswith("test:///") or uri.startswith("test:///default"):
        return None
    path = Path(urlsplit(uri).path)
    return None if path.is_file() else str(path)


def _address(conn: libvirt.virConnect, uuid: str) -> str:
    """The guest's first IPv4 address from the DHCP leases ("" when unknown: no lease, no network)."""
    try:
        ifaces = conn.lookupByUUIDString(uuid).interfaceAddresses(
            libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE
        )
    except libvirt.libvirtError:
        return ""
    for iface in (ifaces or {}).values():
        for addr in iface.get("addrs") or ():
            if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4:
                return str(addr.get("addr", ""))
    return ""


def _message(exc: object) -> str:
    if isinstance(exc, libvirt.libvirtError):
        return exc.get_error_message() or str(exc)
    return str(exc) if exc else "connection failed"
