"""`Poller`: the live poller in this process — one long-lived libvirt connection per connected host,
a frozen snapshot per poll.

This module is its public API (subscribing, the inventory, start/stop/close, `poll_once`); the
parts under it are layered classes: the shared state and publishing (state.py), one attempt and the
threads that run it (attempts.py), the dispatcher and the watchdog (dispatch.py).

Subscribers get every `HostSnapshot` through a callback called from a poller thread; they must only
hand it on (changes-only delivery and batching: subscribers.py).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import libvirt

from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot, HostStatus
from tui.core.model import DEFAULT_POLL_FREQUENCY_S, VmConfig
from tui.services.libvirt import Connection, HostReader
from tui.services.libvirt.errors import libvirt_error
from tui.services.poller.dispatch import Dispatcher
from tui.services.poller.interface import EventCallback, NoticeCallback, SnapshotCallback
from tui.services.poller.settings import MAX_ABANDONED, PollerSettings
from tui.services.poller.slots import Slot
from tui.services.poller.subscribers import ChangesOnly

T = TypeVar("T")

# poll_once is woken when enough attempts have ended for every host it waits for to be done; it also
# rescans its hosts this often, for those that left without an attempt ending (removed meanwhile).
# Each rescan holds the lock, which every poll thread needs, over every host still waiting (0.22 ms
# of CPU at 2,000 hosts, measured alone): only the rare removal waits for it.
RESCAN_S = 0.25


class Poller(Dispatcher):
    def __init__(
        self,
        hosts: Iterable[HostRecord],
        config: VmConfig | None = None,
        settings: PollerSettings | None = None,
        *,
        seq_base: int = 0,
        keep_history: bool = True,
    ) -> None:
        """`seq_base`: sequence numbers start above it (a restarted worker continues its numbering);
        without `keep_history` no load history is kept (the worker: the console keeps it)."""
        super().__init__(config, settings, seq_base=seq_base, keep_history=keep_history)
        self.set_hosts(hosts)

    # --- public API ----------------------------------------------------------------------------------
    def subscribe(
        self, callback: SnapshotCallback, *, changes_only: bool = False, current: bool = False
    ) -> Callable[[], None]:
        """Call `callback(snapshot)` from poller threads for every snapshot published, or with
        `changes_only` only for those that look different from the last one it was given.

        With `current`, the snapshots published before subscribing (a Disabled host's, published
        once when the host was added) are given to it at once, from the calling thread.
        """
        if changes_only:
            callback = ChangesOnly(callback, self.looks_like_previous)
        with self._lock:
            self._subscribers.append(callback)
            already = [s.last for s in self._slots.values() if s.last is not None] if current else []
        for snap in already:
            callback(snap)  # a newer one delivered meanwhile wins: both wrappers compare seq

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback(event)` for every lifecycle event heard on a host's connection, from
        libvirt's event-loop thread: it must only hand the event on. Events only hint: the poll that
        each one triggers stays the truth."""
        with self._lock:
            self._event_subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._event_subscribers.remove(callback)

        return unsubscribe

    def snapshots(self) -> dict[str, HostSnapshot]:
        with self._lock:
            return {name: slot.last for name, slot in self._slots.items() if slot.last is not None}

    def connection(self, name: str) -> libvirt.virConnect | None:
        """The host's live connection, for actions (read-only when the poller is); None if not open
        or the host is disabled (an attempt in flight when it was disabled holds its connection
        until the attempt ends, and then closes it: no action may use it meanwhile)."""
        with self._lock:
            slot = self._slots.get(name)
            conn = slot.conn if slot is not None and slot.disabled is None else None
        return conn.conn if conn is not None and not conn.dead.is_set() else None

    def run_on(self, host: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on the host's live connection (here: in this thread). The poller
        worker runs the same call in its process, so `fn` is a module-level function and `args`
        picklable. Raises libvirtError when the host is not connected."""
        conn = self.connection(host)
        if conn is None:
            raise libvirt_error(f"host {host!r} is not connected")
        return fn(conn, *args)

    def subscribe_notices(self, callback: NoticeCallback) -> Callable[[], None]:
        """Notices about the poller itself (the worker restarted): an in-process poller has none."""
        return lambda: None

    def set_hosts(self, hosts: Iterable[HostRecord]) -> None:
        """Apply an inventory change: new hosts are polled at once, removed or disabled ones closed."""
        wanted = {h.name: h for h in hosts}
        to_close: list[Connection] = []
        published: list[HostSnapshot] = []
        with self._lock:
            for name in list(self._slots):
                existing = self._slots[name]
                new = wanted.get(name)
                if new is None or new.uri != existing.record.uri:
                    existing.retired = True
                    self._retired_seq[name] = existing.seq
                    del self._slots[name]
                    if existing.conn is not None and existing.started is None:
                        to_close.append(existing.conn)
                    existing.conn = None
            for name, record in wanted.items():
                slot = self._slots.get(name)
                disabled = self._disabled_reason(record)
                if slot is None:
                    slot = Slot(
                        record, self._period(record), disabled, HostReader(self.settings.xml_refresh_every)
                    )
                    slot.seq = max(self._seq_base, self._retired_seq.pop(name, 0))
                    self._slots[name] = slot
                elif slot.record == record and slot.disabled == disabled:
                    continue  # unchanged: keep its schedule (a change to one host re-polls only that one)
                else:
                    slot.record, slot.period, slot.disabled = record, self._period(record), disabled
                slot.due = time.monotonic() if disabled is None else float("inf")
                if disabled is not None:
                    if slot.conn is not None and slot.started is None:
                        to_close.append(slot.conn)
                        slot.conn = None
                    published.append(self._publish_locked(slot, HostStatus.DISABLED, disabled))
            self._wake.notify_all()
        self._close_in_background(to_close)
        self._deliver(published)

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
            self._generation += 1
            generation = self._generation
            for lane in self._lanes:
                for _ in range(lane.size):
                    self._spawn_worker_locked(lane)
        threading.Thread(
            target=self._dispatch_loop, args=(generation,), name="poller-dispatch", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop polling; connections stay open (close() closes them)."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            lanes = [(lane, lane.live) for lane in self._lanes]
            self._wake.notify_all()
        for lane, workers in lanes:
            for _ in range(workers):
                lane.queue.put(None)

    def close(self, wait: float | None = None) -> None:
        """Stop and close the connections, waiting at most `wait` s (default open_timeout) for them.

        An interactive caller passes 0: a dead host's close() must not delay the exit.
        """
        self.stop()
        with self._lock:
            conns = [s.conn for s in self._slots.values() if s.conn is not None and s.started is None]
            for slot in self._slots.values():
                if slot.started is None:
                    slot.conn = None
        self._close_in_background(conns, wait=self.settings.open_timeout if wait is None else wait)

    def poll_once(self, timeout: float | None = None) -> dict[str, HostSnapshot]:
        """Poll every connected host once (opening connections as needed) and return all snapshots.

        Returns when each host has finished or been abandoned by the watchdog, so the bound is about
        open_timeout + call_timeout whatever the hosts do (or `timeout`: a host still in flight then
        is abandoned). Every host of the inventory is in the result, with status CONNECTED (polled in
        this call), UNREACHABLE (with the reason in `error`) or DISABLED (not connected on purpose).
        Connections stay open for the next call.
        """
        bound = timeout or (self.settings.open_timeout + self.settings.call_timeout + 1.0)
        began = time.monotonic()
        published: list[HostSnapshot] = []
        with self._lock:
            targets = {n: s.attempts + 1 for n, s in self._slots.items() if s.disabled is None}
            for name in targets:
                slot = self._slots[name]
                slot.due = min(slot.due, began)
            self._wake.notify_all()
            was_running = self._running
        self.start()
        deadline = began + bound
        with self._lock:
            waiting = dict(targets)
            while True:
                waiting = {n: t for n, t in waiting.items() if self._pending_locked(n, t)}
                if not waiting or time.monotonic() >= deadline:
                    break
                self._wake_poll_once_at = self._ended + len(waiting)
                self._done.wait(timeout=min(RESCAN_S, max(0.0, deadline - time.monotonic())))
            self._wake_poll_once_at = None
            # Whatever is still in flight at the deadline gets its final answer now: every host in the
            # result is connected, unreachable or disabled, never left "connecting".
            for name, target in targets.items():
                late = self._slots.get(name)
                if late is not None and late.started is not None and self._pending_locked(name, target):
                    published.append(self._abandon_locked(late, time.monotonic(), bound))
            self.stats.last_cycle_s = time.monotonic() - began
        self._deliver(published)
        if not was_running:
            self.stop()
        with self._lock:
            # A host that failed fast may already be retrying (backoff): its answer in this call is
            # the attempt that ended, not the "connecting" of the retry.
            return {
                name: slot.settled
                if slot.last.status is HostStatus.CONNECTING and slot.settled is not None
                else slot.last
                for name, slot in self._slots.items()
                if slot.last is not None
            }

    def _pending_locked(self, name: str, target: int) -> bool:
        slot = self._slots.get(name)
        if slot is None or slot.attempts >= target:
            return False
        # Too many stuck calls: it will not be tried again now, and it is already shown unreachable.
        return not (slot.abandoned >= MAX_ABANDONED and slot.started is None)

    # --- the inventory's schedule ----------------------------------------------------------------------
    def _period(self, record: HostRecord) -> float:
        if self.settings.period is not None:
            return self.settings.period
        realm = self.config.realms.get(record.realm) if self.config else None
        return realm.poll_frequency_s if realm is not None else DEFAULT_POLL_FREQUENCY_S

    def _disabled_reason(self, record: HostRecord) -> str | None:
        if not record.connected:
            return "host state is Disabled: not connected"
        realm = self.config.realms.get(record.realm) if self.config else None
        if realm is not None and realm.disabled:
            return f"realm {realm.id!r} is disabled"
        return None
