"""`PollerState`: what every part of the in-process poller shares, and how a snapshot is published.

The poller is one object whose parts (the attempts in attempts.py, the dispatcher and watchdog in
dispatch.py, the public API in inprocess.py) are layered classes over this one: the state is
created here once, under one lock, so each part reads the same fields and none re-declares them.
Publishing lives here because every part ends in it: a slot's attempt becomes a frozen
`HostSnapshot`, handed to the subscribers outside the lock.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import replace

from tui.core.live import DomainFacts, HostSnapshot, HostStatus, NodeFacts
from tui.core.model import VmConfig
from tui.services.libvirt import Connection
from tui.services.loadhistory import LoadHistory
from tui.services.poller.interface import EventCallback, SnapshotCallback
from tui.services.poller.settings import LOCAL_WORKERS, PollerSettings, backoff_delay
from tui.services.poller.slots import Lane, PollerStats, Slot


class PollerState:
    def __init__(
        self,
        config: VmConfig | None,
        settings: PollerSettings | None,
        *,
        seq_base: int,
        keep_history: bool,
    ) -> None:
        self._keep_history = keep_history
        self.settings = settings or PollerSettings()
        self._seq_base = seq_base
        self.config = config
        self.stats = PollerStats()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the dispatcher: something became due
        self._done = threading.Condition(self._lock)  # poll_once: an attempt finished
        # poll_once rescans its hosts (O(hosts)) only when enough attempts have ended for all of them
        # to be done, or every RESCAN_S: waking at each of 2,000 completions cost more than the polls.
        self._ended = 0  # attempts ended so far
        self._wake_poll_once_at: int | None = None
        self._pool = Lane("pool", self.settings.workers)
        self._local = Lane("local", LOCAL_WORKERS)
        self._opens = Lane("opens", self.settings.open_workers or os.cpu_count() or 1)
        self._lanes = (self._pool, self._local, self._opens)
        self._slots: dict[str, Slot] = {}
        self._subscribers: list[SnapshotCallback] = []
        self._event_subscribers: list[EventCallback] = []
        # host -> seq of its newest snapshot when that one looks like the one before it (the reader
        # said nothing visible moved): changes_only subscribers then skip the per-domain comparison
        self._same_view: dict[str, int] = {}
        # host -> the last seq its removed slot reached: a host removed and added again continues its
        # numbering, or changes-only subscribers (the console) would drop its snapshots as old ones
        self._retired_seq: dict[str, int] = {}
        self._running = False
        self._generation = 0  # a dispatcher from an earlier start() exits when this moves on
        self._ids = itertools.count(1)
        self._inflight: dict[int, Slot] = {}  # id(slot) -> slot with a poll or open in flight
        self._released: set[tuple[int, int]] = set()  # (id(slot), token) of slow pool workers replaced
        self._next_due = 0.0  # earliest due time among idle hosts at the dispatcher's last scan
        self.history = LoadHistory()  # CPU and memory use over the last hour (bounded rings)

    def _attempt_ended_locked(self) -> None:
        self._ended += 1
        if self._wake_poll_once_at is not None and self._ended >= self._wake_poll_once_at:
            self._done.notify_all()

    def _backoff(self, slot: Slot) -> float:
        return backoff_delay(slot.failures, self.settings.backoff_base, self.settings.backoff_max)

    # --- publishing ----------------------------------------------------------------------------------
    def _publish_locked(
        self,
        slot: Slot,
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

    def looks_like_previous(self, snap: HostSnapshot) -> bool:
        """The poller's hint for a `ChangesOnly` wrapper: `snap` looks like the host's snapshot just
        before it (the reader saw nothing visible move)."""
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
