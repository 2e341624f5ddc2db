"""The live poller: one long-lived libvirt connection per connected host, a frozen snapshot per poll.

Threads, and why:
- a dispatcher thread decides which host is due (its realm's poll-frequency after its previous poll
  ended, at once after a domain event, after a backoff when it failed) and runs the watchdog;
- a few pool workers poll hosts whose connection is open; a host is never polled twice at once, and
  is re-armed only when its poll completes, so polls never overlap;
- an attempt that must open a connection first runs in a thread of its own, never in the pool: a
  host that accepts TCP and never answers blocks open() for its whole bound, and fifty such hosts
  queued in a pool of four would hold a healthy host's poll back for minutes (a test-driver host,
  whose open() cannot hang, opens in the pool);
- every thread is a daemon: a call that hangs on a dead host can never keep the process alive.

The watchdog is what keeps bad hosts from stalling the rest, whatever their number: a pool worker
whose poll has run longer than SLOW_POLL_S is released (a fresh worker takes its place, the slow
one ends when its call returns); a poll or open() that exceeds its bound is abandoned (the host is
published as unreachable) and retried with exponential backoff. A host with too many abandoned calls
still stuck is not retried until one of them returns, so a black-hole host cannot eat threads without
limit (at most MAX_ABANDONED + 1 threads per host).

Subscribers get every `HostSnapshot` through a callback called from a poller thread; they must only
hand it on. A subscriber that redraws (the console) asks for `changes_only`: it then gets a host's
snapshot only when what an admin sees changed (`HostSnapshot.looks_like`), and a `SnapshotBatcher`
turns the stream into one wake-up per batch for a consumer loop. Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import libvirt

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.core.live import DomainFacts, HostSnapshot, HostStatus, NodeFacts
from tui.core.model import DEFAULT_POLL_FREQUENCY_S, VmConfig
from tui.services.libvirt import Connection, HostReader, NodeFileMissing, open_connection
from tui.services.libvirt.errors import libvirt_error
from tui.services.libvirt.events import detail_word, event_word
from tui.services.loadhistory import LoadHistory

SnapshotCallback = Callable[[HostSnapshot], None]
EventCallback = Callable[[LifecycleEvent], None]
NoticeCallback = Callable[[str], None]
T = TypeVar("T")

MAX_ABANDONED = 2  # stuck calls per host before we stop retrying it until one returns
EVENT_DEBOUNCE_S = 0.1  # an event burst (RESUMED + STARTED, ...) becomes one poll
WATCHDOG_TICK_S = 0.05
# A pool worker busy this long on one poll is replaced, so slow hosts never hold the pool; polls of a
# test-driver or LAN host take milliseconds, a slow ssh link may take a second.
SLOW_POLL_S = 2.0
# Hosts due within this much of each other are dispatched in one pass: with 1,000 hosts whose due
# times are spread out, waking for each one would scan every slot ~100 times a second.
DISPATCH_SLACK_S = 0.05


@dataclass(frozen=True)
class PollerSettings:
    read_only: bool = False
    open_timeout: float = 10.0  # bound on open() (ssh/TCP handshake, auth)
    call_timeout: float = 30.0  # bound on one poll of an open connection
    keepalive: tuple[int, int] | None = (5, 3)  # interval s, missed replies -> close callback after ~20 s
    workers: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    xml_refresh_every: int = 6
    period: float | None = None  # seconds between polls of a host; None: its realm's poll-frequency


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff after `failures` failures in a row, capped.

    The exponent is bounded too: 2.0 ** 1025 overflows, which would kill the poller thread of a host
    that has been unreachable for ~17 hours at a 60 s cap.
    """
    exponent = min(max(0, failures - 1), 62)
    return min(cap, base * 2.0**exponent)


@dataclass
class _Slot:
    """Mutable per-host state; touched only with the poller's lock held."""

    record: HostRecord
    period: float
    disabled: str | None  # why the host is not connected, or None
    reader: HostReader
    conn: Connection | None = None
    due: float = 0.0
    queued: bool = False
    started: float | None = None  # monotonic start of the in-flight attempt
    phase: str = "poll"  # "open" or "poll": which bound applies
    token: int = 0  # bumped when an attempt is abandoned: the late thread knows its result is void
    abandoned: int = 0
    failures: int = 0
    attempts: int = 0  # completed or abandoned attempts, for poll_once
    last: HostSnapshot | None = None
    # The last snapshot that ended an attempt (connected or unreachable, never "connecting"): what
    # poll_once reports when a retry has begun since.
    settled: HostSnapshot | None = None
    seq: int = 0
    retired: bool = False  # removed from the inventory
    again: bool = False  # an event arrived while a poll was queued or running: poll again right after
    pooled: bool = False  # the attempt in flight runs on a pool worker (not its own thread)


@dataclass
class _Stats:
    polls: int = 0
    abandoned: int = 0
    callback_errors: int = 0
    workers_started: int = 0
    openers_started: int = 0
    last_cycle_s: float | None = field(default=None)


class Poller:
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
        self._keep_history = keep_history
        self.settings = settings or PollerSettings()
        self._seq_base = seq_base
        self.config = config
        self.stats = _Stats()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the dispatcher: something became due
        self._done = threading.Condition(self._lock)  # poll_once: an attempt finished
        # poll_once rescans its hosts (O(hosts)) only when enough attempts have ended for all of them
        # to be done, or every 50 ms: waking at each of 2,000 completions cost more than the polls.
        self._ended = 0  # attempts ended so far
        self._wake_poll_once_at: int | None = None
        self._ready: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._slots: dict[str, _Slot] = {}
        self._subscribers: list[SnapshotCallback] = []
        self._event_subscribers: list[EventCallback] = []
        # host -> seq of its newest snapshot when that one looks like the one before it (the reader
        # said nothing visible moved): changes_only subscribers then skip the per-domain comparison
        self._same_view: dict[str, int] = {}
        self._running = False
        self._generation = 0  # a dispatcher from an earlier start() exits when this moves on
        self._live_workers = 0
        self._ids = itertools.count(1)
        self._inflight: dict[int, _Slot] = {}  # id(slot) -> slot with a poll or open in flight
        self._released: set[tuple[int, int]] = set()  # (id(slot), token) of slow pool workers replaced
        self._next_due = 0.0  # earliest due time among idle hosts at the dispatcher's last scan
        self.history = LoadHistory()  # CPU and memory use over the last hour (bounded rings)
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
            callback = _ChangesOnly(callback, self._looks_like_previous)
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
        """The host's live connection, for actions (read-only when the poller is); None if not open."""
        with self._lock:
            slot = self._slots.get(name)
            conn = slot.conn if slot is not None else None
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
                    del self._slots[name]
                    if existing.conn is not None and existing.started is None:
                        to_close.append(existing.conn)
                    existing.conn = None
            for name, record in wanted.items():
                slot = self._slots.get(name)
                disabled = self._disabled_reason(record)
                if slot is None:
                    slot = _Slot(
                        record, self._period(record), disabled, HostReader(self.settings.xml_refresh_every)
                    )
                    slot.seq = self._seq_base
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

    def request_poll(self, name: str) -> None:
        """Poll this host as soon as possible (an event's hint, an action's or the user's "refresh"),
        reading every domain's XML again: what was asked about may have changed without an event."""
        with self._lock:
            slot = self._slots.get(name)
            if slot is not None and slot.disabled is None:
                slot.reader.xml_epoch += 1
                slot.due = min(slot.due, time.monotonic())
                slot.again = slot.again or slot.queued or slot.started is not None
                self._wake.notify_all()

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
            self._generation += 1
            generation = self._generation
            for _ in range(self.settings.workers):
                self._spawn_worker_locked()
        threading.Thread(
            target=self._dispatch_loop, args=(generation,), name="poller-dispatch", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop polling; connections stay open (close() closes them)."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            workers = self._live_workers
            self._wake.notify_all()
        for _ in range(workers):
            self._ready.put(None)

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
                self._done.wait(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
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

    # --- scheduling ----------------------------------------------------------------------------------
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

    def _dispatch_loop(self, generation: int) -> None:
        with self._lock:
            scan = True
            while self._running and self._generation == generation:
                now = time.monotonic()
                published = self._watchdog_locked(now)
                if not (scan or published or now + DISPATCH_SLACK_S >= self._next_due):
                    # A watchdog tick with nothing due: no need to look at every host again.
                    tick = WATCHDOG_TICK_S if self._inflight else 1.0
                    scan = self._wake.wait(timeout=max(0.0, min(self._next_due - now, tick)))
                    continue
                next_due = now + 1.0
                for name, slot in self._slots.items():
                    if slot.queued or slot.started is not None or slot.disabled is not None:
                        continue
                    if slot.abandoned >= MAX_ABANDONED:
                        continue
                    if slot.due <= now + DISPATCH_SLACK_S:
                        if (slot.conn is None or slot.conn.dead.is_set()) and not _opens_in_pool(slot):
                            self._spawn_opener_locked(name, slot)
                        else:
                            slot.queued = True
                            self._ready.put(name)
                    else:
                        next_due = min(next_due, slot.due)
                self._next_due = next_due
                if published:
                    self._lock.release()
                    try:
                        self._deliver(published)
                    finally:
                        self._lock.acquire()
                    scan = True
                    continue
                # Wake for the next due host, or soon enough to enforce the bounds of running polls;
                # a notify (a host became due sooner) makes the next pass scan every host.
                tick = WATCHDOG_TICK_S if self._inflight else 1.0
                scan = self._wake.wait(timeout=max(0.0, min(next_due - now, tick)))

    def _watchdog_locked(self, now: float) -> list[HostSnapshot]:
        published = []
        slow = min(SLOW_POLL_S, self.settings.call_timeout / 2)
        for slot in list(self._inflight.values()):
            if slot.started is None:
                continue
            if slot.pooled and now - slot.started > slow:
                self._release_worker_locked(slot)
            bound = self.settings.open_timeout if slot.phase == "open" else self.settings.call_timeout
            if now - slot.started <= bound:
                continue
            published.append(self._abandon_locked(slot, now, bound))
        return published

    def _abandon_locked(self, slot: _Slot, now: float, bound: float) -> HostSnapshot:
        """Stop waiting for the attempt in flight: the stuck thread keeps its call; we carry on."""
        self._release_worker_locked(slot)
        slot.token += 1
        slot.abandoned += 1
        slot.started = None
        self._inflight.pop(id(slot), None)
        slot.conn = None  # the stuck thread holds it and closes it if it ever returns
        slot.attempts += 1
        slot.failures += 1
        slot.due = now + self._backoff(slot)
        self._next_due = min(self._next_due, slot.due)
        self.stats.abandoned += 1
        what = "connecting" if slot.phase == "open" else "polling"
        error = f"no answer within {bound:g} s while {what}; retrying with backoff"
        self._attempt_ended_locked()
        return self._publish_locked(slot, HostStatus.UNREACHABLE, error)

    def _attempt_ended_locked(self) -> None:
        self._ended += 1
        if self._wake_poll_once_at is not None and self._ended >= self._wake_poll_once_at:
            self._done.notify_all()

    def _release_worker_locked(self, slot: _Slot) -> None:
        """The pool worker running this slot's attempt is slow: a fresh one takes its place at once;
        the slow one ends when its call returns (it finds its attempt in `_released`)."""
        if not slot.pooled:
            return
        slot.pooled = False
        self._released.add((id(slot), slot.token))
        self._live_workers -= 1
        if self._running:
            self._spawn_worker_locked()

    def _backoff(self, slot: _Slot) -> float:
        return backoff_delay(slot.failures, self.settings.backoff_base, self.settings.backoff_max)

    def _spawn_worker_locked(self) -> None:
        self._live_workers += 1
        self.stats.workers_started += 1
        threading.Thread(target=self._worker, name=f"poller-{next(self._ids)}", daemon=True).start()

    def _begin_locked(self, slot: _Slot, *, pooled: bool) -> int:
        """Mark an attempt in flight (the watchdog now bounds it); returns its token."""
        slot.queued = False
        slot.started = time.monotonic()
        slot.pooled = pooled
        self._inflight[id(slot)] = slot
        slot.phase = "poll" if slot.conn is not None and not slot.conn.dead.is_set() else "open"
        return slot.token

    def _spawn_opener_locked(self, name: str, slot: _Slot) -> None:
        """An attempt that opens a connection runs in its own daemon thread: it may block for its
        whole bound, and it must never hold a pool worker that healthy hosts are waiting for."""
        token = self._begin_locked(slot, pooled=False)
        self.stats.openers_started += 1
        threading.Thread(
            target=self._poll, args=(name, slot, token), name=f"poller-open-{name}", daemon=True
        ).start()

    # --- one poll ------------------------------------------------------------------------------------
    def _worker(self) -> None:
        while True:
            name = self._ready.get()
            if name is None:
                with self._lock:
                    self._live_workers -= 1
                return
            with self._lock:
                slot = self._slots.get(name)
                if slot is None or not self._running:
                    if slot is not None:
                        slot.queued = False
                    continue
                if (slot.conn is None or slot.conn.dead.is_set()) and not _opens_in_pool(slot):
                    # The connection dropped while the host was queued: opening is not pool work.
                    self._spawn_opener_locked(name, slot)
                    continue
                token = self._begin_locked(slot, pooled=True)
            self._poll(name, slot, token)
            with self._lock:
                released = (id(slot), token)
                if released in self._released:
                    self._released.discard(released)
                    return  # this worker was slow and has been replaced: let it end

    def _poll(self, name: str, slot: _Slot, token: int) -> None:
        """Run one attempt (on a pool worker, or on its own thread when it opens the connection)."""
        published: list[HostSnapshot] = []
        conn = slot.conn
        stale: Connection | None = None
        opened: Connection | None = None
        error: str | None = None
        result = None
        try:
            if conn is None or conn.dead.is_set():
                stale, conn = conn, None
                with self._lock:
                    if slot.token == token:
                        published.append(self._publish_locked(slot, HostStatus.CONNECTING, None))
                self._deliver(published)
                published = []
                if stale is not None:
                    stale.close()
                opened = conn = open_connection(
                    slot.record.uri,
                    read_only=self.settings.read_only,
                    keepalive=self.settings.keepalive,
                    on_event=lambda vm, event, detail: self._on_event(name, vm, event, detail),
                    on_close=lambda _reason: self._on_close(name),
                )
                slot.reader.reset()
                with self._lock:
                    if slot.token == token:
                        slot.conn, slot.phase, slot.started = conn, "poll", time.monotonic()
            began = time.perf_counter()
            node = slot.reader.node(conn.conn)
            domains = slot.reader.domains(conn.conn, time.monotonic())
            result = (node, domains, time.perf_counter() - began)
        except libvirt.libvirtError as exc:
            error = exc.get_error_message() or str(exc)
        except NodeFileMissing as exc:
            error = str(exc)
        with self._lock:
            if slot.token == token:
                self._inflight.pop(id(slot), None)
                slot.pooled = False
            if slot.token != token or slot.retired:
                # Abandoned by the watchdog (or the host was removed) while we were blocked.
                slot.abandoned = max(0, slot.abandoned - 1) if slot.token != token else slot.abandoned
                self._next_due = min(self._next_due, slot.due)  # it may be dispatchable again
                late = conn if conn is not None else opened
            else:
                late = None
                slot.started = None
                slot.attempts += 1
                self.stats.polls += 1
                if result is not None:
                    node, domains, took = result
                    slot.failures = 0
                    # An event during this poll may postdate what it read: poll again soon.
                    slot.due = time.monotonic() + (EVENT_DEBOUNCE_S if slot.again else slot.period)
                    slot.again = False
                    snap = self._publish_locked(
                        slot, HostStatus.CONNECTED, None, node=node, domains=domains, took=took
                    )
                else:
                    # A failed call on an open connection: drop it and reconnect after a backoff.
                    late, slot.conn = slot.conn, None
                    slot.failures += 1
                    slot.due = time.monotonic() + self._backoff(slot)
                    snap = self._publish_locked(slot, HostStatus.UNREACHABLE, error)
                published.append(snap)
                self._next_due = min(self._next_due, slot.due)
                self._attempt_ended_locked()
        if late is not None:
            late.close()
        self._deliver(published)

    # --- libvirt callbacks (event-loop thread): only flag and wake -----------------------------------
    def _on_event(self, name: str, vm: str, event: int | None, detail: int | None) -> None:
        with self._lock:
            slot = self._slots.get(name)
            if slot is None or slot.disabled is not None:
                return
            slot.reader.xml_epoch += 1
            slot.due = min(slot.due, time.monotonic() + EVENT_DEBOUNCE_S)
            slot.again = slot.again or slot.queued or slot.started is not None
            self._wake.notify_all()
            listeners = list(self._event_subscribers) if event is not None else []
        if event is None or not listeners:
            return
        heard = LifecycleEvent(name, vm, event_word(event), detail_word(event, detail or 0), time.time())
        for callback in listeners:
            try:
                callback(heard)
            except Exception:
                self.stats.callback_errors += 1  # a broken listener must not stop the event loop

    def _on_close(self, name: str) -> None:
        self.request_poll(name)  # the worker sees conn.dead and reconnects

    # --- publishing ----------------------------------------------------------------------------------
    def _publish_locked(
        self,
        slot: _Slot,
        status: HostStatus,
        error: str | None,
        *,
        node: NodeFacts | None = None,
        domains: tuple[DomainFacts, ...] = (),
        took: float | None = None,
    ) -> HostSnapshot:
        slot.seq += 1
        previous = slot.last
        if status is HostStatus.CONNECTED:
            snap = HostSnapshot(
                host=slot.record.name,
                uri=slot.record.uri,
                status=status,
                node=node,
                domains=domains,
                polled_at=time.time(),
                poll_seconds=took,
                seq=slot.seq,
            )
            if (
                previous is not None
                and previous.status is HostStatus.CONNECTED
                and not slot.reader.view_changed
                and previous.node == node
            ):
                self._same_view[slot.record.name] = snap.seq
            if self._keep_history:
                self.history.record(snap)
        elif previous is not None and status is not HostStatus.DISABLED:
            # Keep the last known facts (marked by polled_at) so the UI can show them as stale.
            snap = replace(previous, status=status, error=error, seq=slot.seq, uri=slot.record.uri)
        else:
            snap = HostSnapshot(slot.record.name, slot.record.uri, status, error, seq=slot.seq)
        slot.last = snap
        if status is not HostStatus.CONNECTING:
            slot.settled = snap
        return snap

    def _looks_like_previous(self, snap: HostSnapshot) -> bool:
        return self._same_view.get(snap.host) == snap.seq  # a dict read: safe without the lock

    def _deliver(self, snapshots: list[HostSnapshot]) -> None:
        if not snapshots:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for snap in snapshots:
            for callback in subscribers:
                try:
                    callback(snap)
                except Exception:
                    # A broken subscriber must not stop polling for everyone else.
                    self.stats.callback_errors += 1

    @staticmethod
    def _close_in_background(conns: list[Connection], wait: float = 0.0) -> None:
        """close() talks to the host and may hang on a dead one: do it in daemon threads."""
        threads = [threading.Thread(target=c.close, name="libvirt-close", daemon=True) for c in conns]
        for t in threads:
            t.start()
        deadline = time.monotonic() + wait
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))


def _opens_in_pool(slot: _Slot) -> bool:
    """A test-driver host's open() only parses its node file in this process: it cannot hang, so it
    runs on a pool worker like a poll. 2,000 such opens in threads of their own fought over the
    interpreter lock and over-ran their bound on a busy machine."""
    return slot.record.uri.startswith("test:")


class LivePoller(Protocol):
    """What the console, the actions and the CLI use of a poller: the in-process `Poller` and the
    worker-process `WorkerPoller` (tui/services/pollworker) both provide it."""

    settings: PollerSettings
    history: LoadHistory

    def subscribe(
        self, callback: SnapshotCallback, *, changes_only: bool = False, current: bool = False
    ) -> Callable[[], None]: ...
    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]: ...
    def subscribe_notices(self, callback: NoticeCallback) -> Callable[[], None]: ...
    def snapshots(self) -> dict[str, HostSnapshot]: ...
    def connection(self, name: str) -> Any: ...
    def run_on(self, host: str, fn: Callable[..., T], *args: Any) -> T: ...
    def set_hosts(self, hosts: Iterable[HostRecord]) -> None: ...
    def request_poll(self, name: str) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self, wait: float | None = None) -> None: ...
    def poll_once(self, timeout: float | None = None) -> dict[str, HostSnapshot]: ...


class _ChangesOnly:
    """Wraps a subscriber: passes a host's snapshot on only when it looks different from the last one
    passed on. Deliveries come from several poller threads, hence the lock; a snapshot older than the
    last one passed on (a late thread) is dropped."""

    def __init__(
        self, callback: SnapshotCallback, same_as_previous: Callable[[HostSnapshot], bool] | None = None
    ) -> None:
        self._callback = callback
        self._same_as_previous = same_as_previous
        self._lock = threading.Lock()
        self._last: dict[str, HostSnapshot] = {}

    def __call__(self, snap: HostSnapshot) -> None:
        with self._lock:
            last = self._last.get(snap.host)
            # A new URI is a new slot whose sequence starts again: never compare across it.
            if last is not None and last.uri == snap.uri and (snap.seq <= last.seq or self._same(snap, last)):
                if snap.seq > last.seq:
                    self._last[snap.host] = snap
                return
            self._last[snap.host] = snap
        self._callback(snap)

    def _same(self, snap: HostSnapshot, last: HostSnapshot) -> bool:
        # The poller knows when a snapshot looks like its predecessor, which is `last` when the
        # sequence numbers follow each other: no need to compare every domain again.
        hinted = (
            self._same_as_previous is not None and last.seq == snap.seq - 1 and self._same_as_previous(snap)
        )
        return hinted or snap.looks_like(last)


class SnapshotBatcher:
    """A subscriber that coalesces snapshots for a consumer running its own loop (the console).

    Snapshots accumulate, the newest per host winning; `ready()` is called (from the poller thread)
    only when a batch opens, so however many hosts change while the consumer is busy, it gets one
    wake-up and takes them all with `drain()`.
    """

    def __init__(self, ready: Callable[[], object]) -> None:
        self._ready = ready  # its return value, if any, is ignored
        self._lock = threading.Lock()
        self._pending: dict[str, HostSnapshot] = {}

    def __call__(self, snap: HostSnapshot) -> None:
        with self._lock:
            opened = not self._pending
            held = self._pending.get(snap.host)
            if held is None or snap.seq > held.seq or snap.uri != held.uri:
                self._pending[snap.host] = snap
        if opened:
            self._ready()

    def drain(self) -> list[HostSnapshot]:
        with self._lock:
            batch, self._pending = list(self._pending.values()), {}
        return batch
