"""`Attempts`: one attempt at a host (open its connection if need be, then poll it) and who runs it.

Threads, and why:
- a few pool workers poll hosts whose connection is open; a host is never polled twice at once, and
  is re-armed only when its poll completes, so polls never overlap;
- one local-lane worker polls the open test-driver hosts, whose calls run in this process and
  cannot hang (slots.Lane says why one thread beats several for them);
- an attempt that must open a connection first runs in a thread of its own, never in the pool: a
  host that accepts TCP and never answers blocks open() for its whole bound, and fifty such hosts
  queued in a pool of four would hold a healthy host's poll back for minutes (a test-driver host,
  whose open() cannot hang, opens in the pool);
- libvirt's event-loop thread calls `_on_event` / `_on_close`, which only flag the host and wake the
  dispatcher (dispatch.py): the poll each one triggers stays the truth;
- every thread is a daemon: a call that hangs on a dead host can never keep the process alive.

An attempt carries its slot's token: when the watchdog has abandoned it meanwhile (the token moved
on), its late result is void and its connection is closed.
"""

from __future__ import annotations

import threading
import time

import libvirt

from tui.core.lifecycle import LifecycleEvent
from tui.core.live import HostSnapshot, HostStatus
from tui.services.libvirt import Connection, NodeFileMissing, open_connection
from tui.services.libvirt.events import detail_word, event_word
from tui.services.poller.settings import EVENT_DEBOUNCE_S
from tui.services.poller.slots import Lane, Slot, opens_on_lane, polls_in_process
from tui.services.poller.state import PollerState


class Attempts(PollerState):
    """The attempts of the in-process poller: pool workers, openers, one poll, libvirt's callbacks."""

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

    def _spawn_worker_locked(self, lane: Lane) -> None:
        lane.live += 1
        self.stats.workers_started += 1
        threading.Thread(
            target=self._worker, args=(lane,), name=f"poller-{lane.name}-{next(self._ids)}", daemon=True
        ).start()

    def _lane_locked(self, slot: Slot) -> Lane:
        """Where a due host waits for a worker: a test-driver host in the local lane once open, in the
        opens lane before (opens do run in parallel); the others in the pool."""
        if not polls_in_process(slot):
            return self._pool
        opened = slot.conn is not None and not slot.conn.dead.is_set()
        return self._local if opened else self._opens

    def _begin_locked(self, slot: Slot, *, pooled: Lane | None) -> int:
        """Mark an attempt in flight (the watchdog now bounds it); returns its token."""
        slot.queued = False
        slot.started = time.monotonic()
        slot.pooled = pooled
        self._inflight[id(slot)] = slot
        slot.phase = "poll" if slot.conn is not None and not slot.conn.dead.is_set() else "open"
        return slot.token

    def _spawn_opener_locked(self, name: str, slot: Slot) -> None:
        """An attempt that opens a connection runs in its own daemon thread: it may block for its
        whole bound, and it must never hold a pool worker that healthy hosts are waiting for."""
        token = self._begin_locked(slot, pooled=None)
        self.stats.openers_started += 1
        threading.Thread(
            target=self._poll, args=(name, slot, token), name=f"poller-open-{name}", daemon=True
        ).start()

    # --- one poll ------------------------------------------------------------------------------------
    def _worker(self, lane: Lane) -> None:
        while True:
            name = lane.queue.get()
            if name is None:
                with self._lock:
                    lane.live -= 1
                return
            stale: Connection | None = None
            token: int | None = None
            with self._lock:
                slot = self._slots.get(name)
                if slot is None or not self._running or slot.disabled is not None:
                    if slot is not None:
                        slot.queued = False
                        if slot.disabled is not None and slot.started is None:
                            stale, slot.conn = slot.conn, None  # disabled while queued: not connected
                elif (slot.conn is None or slot.conn.dead.is_set()) and not opens_on_lane(slot):
                    # The connection dropped while the host was queued: opening is not pool work.
                    self._spawn_opener_locked(name, slot)
                else:
                    token = self._begin_locked(slot, pooled=lane)
            if stale is not None:
                stale.close()
            if slot is None or token is None:
                continue
            self._poll(name, slot, token)
            with self._lock:
                released = (id(slot), token)
                if released in self._released:
                    self._released.discard(released)
                    return  # this worker was slow and has been replaced: let it end

    def _poll(self, name: str, slot: Slot, token: int) -> None:
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
                        if self._read_on_local_lane_locked(name, slot):
                            return
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
                slot.pooled = None
            if slot.token != token or slot.retired:
                # Abandoned by the watchdog (or the host was removed) while we were blocked.
                slot.abandoned = max(0, slot.abandoned - 1) if slot.token != token else slot.abandoned
                self._next_due = min(self._next_due, slot.due)  # it may be dispatchable again
                late = conn if conn is not None else opened
            elif slot.disabled is not None:
                # Disabled while this attempt ran: its DISABLED snapshot is out; publishing this read
                # would show it connected again and schedule its next poll.
                slot.started = None
                late, slot.conn = slot.conn, None
                self._attempt_ended_locked()
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

    def _read_on_local_lane_locked(self, name: str, slot: Slot) -> bool:
        """A test-driver host just opened on an opens-lane worker: the rest of its attempt (the first
        read) is queued on the local lane, so the opens lane's threads go on opening (in C, without
        the interpreter lock: in parallel) while one thread reads. Read where it opened, 2,000 first
        reads traded the lock between four threads."""
        if slot.pooled is not self._opens or slot.retired or not self._running or not polls_in_process(slot):
            return False
        self._inflight.pop(id(slot), None)
        slot.pooled = slot.started = None
        slot.queued = True
        self._local.queue.put(name)
        return True

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
