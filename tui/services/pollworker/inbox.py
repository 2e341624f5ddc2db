"""`WorkerInbox`: the console's side of the worker poller, and what it does with the worker's news.

The console does only bookkeeping: the worker's batches (changed snapshots, compact load samples,
lifecycle events) update the last snapshot per host and the load history and go to the subscribers;
its replies answer the pending calls (`PendingCall`). The reader thread (process.py) calls
`_apply` and `_answer`; the public API (client.py) reads the same state, under the same lock.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import subprocess
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.core.live import HostSnapshot
from tui.core.model import VmConfig
from tui.services.loadhistory import LoadHistory
from tui.services.poller import EventCallback, NoticeCallback, PollerSettings, SnapshotCallback
from tui.services.pollworker.framing import FrameWriter


@dataclass
class WorkerStats:
    pid: int | None = None
    restarts: int = 0
    batches: int = 0
    samples: int = 0
    last_cycle_s: float | None = None


class PendingCall:
    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None


class WorkerInbox:
    """The state the worker poller keeps in the console's process, and the reader thread's handling
    of the worker's messages."""

    def __init__(
        self,
        hosts: Iterable[HostRecord],
        config: VmConfig | None = None,
        settings: PollerSettings | None = None,
        *,
        history: LoadHistory | None = None,
    ) -> None:
        self.settings = settings or PollerSettings()
        self.config = config
        self.stats = WorkerStats()
        # The shards of one WorkerPoller record into the one history the console shows (it locks).
        self.history = history if history is not None else LoadHistory()
        self._lock = threading.Lock()
        self._records = list(hosts)
        self._names = {r.name for r in self._records}
        self._last: dict[str, HostSnapshot] = {}
        self._fresh: dict[str, tuple[int, float, float | None]] = {}  # newer poll, same view
        self._uuids: dict[str, tuple[str, ...]] = {}
        self._subscribers: list[SnapshotCallback] = []
        self._every_poll: list[SnapshotCallback] = []  # subscribed without changes_only
        self._event_subscribers: list[EventCallback] = []
        self._notice_subscribers: list[NoticeCallback] = []
        self._calls: dict[int, PendingCall] = {}
        self._requests = itertools.count(1)
        self._released: collections.deque[int] = collections.deque()  # from GC finalizers: no lock
        self._running = False
        self._closed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: FrameWriter | None = None
        self._generation = 0
        self._max_seq = 0
        self._started_at = 0.0
        self._quick_deaths = 0

    # --- news from the worker (reader thread) ----------------------------------------------------------
    def _apply(
        self, snaps: list[HostSnapshot], samples: list[tuple[Any, ...]], events: list[LifecycleEvent]
    ) -> None:
        every: list[HostSnapshot] = []
        with self._lock:
            self.stats.batches += 1
            self.stats.samples += len(samples)
            for snap in snaps:
                if snap.host not in self._names:
                    continue  # removed by set_hosts while this batch was on its way
                current = self._last.get(snap.host)
                if current is None or current.seq < snap.seq or current.uri != snap.uri:
                    self._last[snap.host] = snap  # (a poll_once answer may have brought a newer one)
                self._max_seq = max(self._max_seq, snap.seq)
            recorded = []
            for host, seq, at, took, cpu, memory, packed, uuids in samples:
                if uuids is not None:
                    self._uuids[host] = uuids
                self._fresh[host] = (seq, at, took)
                self._max_seq = max(self._max_seq, seq)
                recorded.append((host, at, cpu, memory, self._uuids.get(host, ()), packed))
            subscribers = list(self._subscribers)
            plain = list(self._every_poll)
            if plain:
                sent = {s.host: s.seq for s in snaps}
                for host, seq, at, took, *_ in samples:
                    last = self._last.get(host)
                    if last is not None and sent.get(host, -1) < seq:
                        every.append(replace(last, seq=seq, polled_at=at, poll_seconds=took))
            listeners = list(self._event_subscribers) if events else []
        for host, at, cpu, memory, uuids, packed in recorded:
            rates = array("f")
            rates.frombytes(packed)
            if len(rates) == len(uuids):
                self.history.record_sample(host, at, cpu, memory, uuids, rates)
        for snap in snaps:
            for callback in subscribers:
                with contextlib.suppress(Exception):  # a broken subscriber must not stop the others
                    callback(snap)
        for snap in every:
            for callback in plain:
                with contextlib.suppress(Exception):
                    callback(snap)
        for event in events:
            for listener in listeners:
                with contextlib.suppress(Exception):
                    listener(event)

    def _answer(self, req: int, ok: bool, value: object) -> None:
        with self._lock:
            call = self._calls.pop(req, None)
        if call is not None:
            call.ok, call.value = ok, value
            call.done.set()
