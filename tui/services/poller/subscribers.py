"""Subscriber wrappers shared by both pollers: changes-only delivery and batching for a consumer loop.

A subscriber that redraws (the console) asks for `changes_only`: it then gets a host's snapshot only
when what an admin sees changed (`HostSnapshot.looks_like`), through `ChangesOnly`; a
`SnapshotBatcher` turns the stream into one wake-up per batch for a consumer loop. Both the
in-process `Poller` and the worker's `WorkerPoller` wrap subscribers with these, hence a module of
their own. Nothing here imports Textual.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tui.core.live import HostSnapshot
from tui.services.poller.interface import SnapshotCallback


class ChangesOnly:
    """Wraps a subscriber: passes a host's snapshot on only when it looks different from the last one
    passed on. Deliveries come from several poller threads, hence the lock; a snapshot older than the
    last one passed on (a late thread) is dropped."""

    def __init__(
        self, callback: SnapshotCallback, same_as_previous: Callable[[HostSnapshot], bool] | None = None
    ) -> None:
        self._callback = callback
        self._same_as_previous = same_as_previous
        self._lock = threading.Lock()
        # Per host, the newest snapshot judged; it always looks like the one last passed on (in
        # `_passed`): each one judged either was passed on or looked like its predecessor.
        self._last: dict[str, HostSnapshot] = {}
        self._passed: dict[str, HostSnapshot] = {}

    def __call__(self, snap: HostSnapshot) -> None:
        with self._lock:
            last = self._last.get(snap.host)
            # A new URI is a new slot whose sequence starts again: never compare across it.
            if last is not None and last.uri == snap.uri and (snap.seq <= last.seq or self._same(snap, last)):
                if snap.seq > last.seq:
                    self._last[snap.host] = snap
                return
            self._last[snap.host] = self._passed[snap.host] = snap
        self._callback(snap)

    def passed_lookalike(self, snap: HostSnapshot) -> HostSnapshot | None:
        """The snapshot last passed on for this host when `snap` is known to look like it (`snap` is
        the newest judged), else None: an identity check instead of comparing every domain."""
        with self._lock:
            return self._passed.get(snap.host) if self._last.get(snap.host) is snap else None

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
