"""`WorkerShard`: a poller whose polls and libvirt calls run in one child process.

Same public interface as the in-process `Poller` (`LivePoller`). The console holds a `WorkerPoller`
(shards.py): one WorkerShard for most fleets, one per core for large test-driver ones. The
console's side does only bookkeeping: one reader thread takes the worker's batches (changed
snapshots, compact load samples, lifecycle events) and hands them to the subscribers, records the
samples in `history`, and answers pending `run_on` calls.

The parts: the state and the worker's news (inbox.py), the process (process.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar

from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot
from tui.services.libvirt.errors import libvirt_error
from tui.services.poller import ChangesOnly, EventCallback, NoticeCallback, SnapshotCallback
from tui.services.pollworker.inbox import PendingCall
from tui.services.pollworker.process import WorkerProcess
from tui.services.pollworker.remote import RemoteObject

T = TypeVar("T")


class WorkerShard(WorkerProcess):
    """`LivePoller` over one worker process; built as `WorkerShard(hosts, config, settings)` (the
    constructor is WorkerInbox's)."""

    # --- public API (LivePoller) ---------------------------------------------------------------------
    def subscribe(
        self, callback: SnapshotCallback, *, changes_only: bool = False, current: bool = False
    ) -> Callable[[], None]:
        """As Poller.subscribe; callbacks run on the reader thread and must only hand snapshots on."""
        wrapped = ChangesOnly(callback) if changes_only else callback
        with self._lock:
            self._subscribers.append(wrapped)
            if not changes_only:
                self._every_poll.append(wrapped)
            already = list(self._last.values()) if current else []
        for snap in already:
            wrapped(snap)

        def unsubscribe() -> None:
            with self._lock:
                for registry in (self._subscribers, self._every_poll):
                    with contextlib.suppress(ValueError):
                        registry.remove(wrapped)

        return unsubscribe

    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]:
        return self._register(self._event_subscribers, callback)

    def subscribe_notices(self, callback: NoticeCallback) -> Callable[[], None]:
        return self._register(self._notice_subscribers, callback)

    def _register(self, registry: list[Any], callback: Any) -> Callable[[], None]:
        with self._lock:
            registry.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                registry.remove(callback)

        return unsubscribe

    def snapshots(self) -> dict[str, HostSnapshot]:
        with self._lock:
            for host, (seq, at, took) in self._fresh.items():
                snap = self._last.get(host)
                if snap is not None and snap.live and seq > snap.seq:
                    self._last[host] = replace(snap, seq=seq, polled_at=at, poll_seconds=took)
            self._fresh.clear()
            return dict(self._last)

    def connection(self, name: str) -> RemoteObject | None:
        """A proxy for the worker's connection to the host (calls run there), or None when the host
        is not connected."""
        with self._lock:
            snap = self._last.get(name)
            alive = self._out is not None
        return RemoteObject(self, name, None) if alive and snap is not None and snap.live else None

    def run_on(self, host: str, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """`fn(connection, *args)` in the worker on its connection to `host`; `fn` must be a
        module-level function and `args` picklable. Raises what `fn` raised (libvirtError with its
        code), libvirtError when the host is not connected or the worker died meanwhile, and
        TimeoutError after `timeout` seconds (the call may still complete in the worker)."""
        call = PendingCall()
        with self._lock:
            if self._closed:
                raise libvirt_error("the poller is closed")
            self._ensure_worker_locked()
            req = next(self._requests)
            self._calls[req] = call
        self._flush_released()
        if not self._send(("call", req, host, fn, args)):
            with self._lock:
                self._calls.pop(req, None)
            raise libvirt_error("the poller worker is restarting: try again in a moment")
        if not call.done.wait(timeout):
            with self._lock:
                self._calls.pop(req, None)
            raise TimeoutError(f"no answer from the poller worker within {timeout:g} s")
        if call.ok:
            return call.value  # type: ignore[no-any-return]
        kind, *rest = call.value
        if kind == "libvirt":
            message, err = rest
            raise libvirt_error(message, err)
        raise rest[0]

    def release_handles(self, ids: list[int]) -> None:
        """Called by garbage collection (any thread, any moment): only queue; sent with the next call."""
        self._released.extend(ids)

    def _flush_released(self) -> None:
        ids = []
        with contextlib.suppress(IndexError):
            while True:
                ids.append(self._released.popleft())
        if ids:
            self._send(("release", ids))

    def set_hosts(self, hosts: Iterable[HostRecord]) -> None:
        records = list(hosts)
        with self._lock:
            self._records = records
            self._names = wanted = {r.name for r in records}
            for gone in [h for h in self._last if h not in wanted]:
                del self._last[gone]
                self._fresh.pop(gone, None)
        self._send(("hosts", records))

    def request_poll(self, name: str) -> None:
        self._send(("poll", name))

    def start(self) -> None:
        with self._lock:
            if self._running or self._closed:
                return
            self._running = True
            spawned = self._proc is None
            self._ensure_worker_locked()
        if not spawned:
            self._send(("start",))

    def stop(self) -> None:
        with self._lock:
            if not self._running:
                return
            self._running = False
        self._send(("stop",))

    def poll_once(self, timeout: float | None = None) -> dict[str, HostSnapshot]:
        bound = timeout or (self.settings.open_timeout + self.settings.call_timeout + 1.0)
        began = time.monotonic()
        call = PendingCall()
        with self._lock:
            if self._closed:
                return dict(self._last)
            self._ensure_worker_locked()
            req = next(self._requests)
            self._calls[req] = call
        if self._send(("poll_once", req, bound)) and call.done.wait(bound + 10.0) and call.ok:
            hosts = []
            with self._lock:
                for item in call.value:
                    if isinstance(item, HostSnapshot):
                        current = self._last.get(item.host)
                        if current is None or current.seq <= item.seq or current.uri != item.uri:
                            self._last[item.host] = item
                        host, seq = item.host, item.seq
                    else:
                        host, seq, at, took = item
                        known = self._fresh.get(host)
                        if known is None or known[0] < seq:
                            self._fresh[host] = (seq, at, took)
                    self._max_seq = max(self._max_seq, seq)
                    hosts.append(host)
            self.stats.last_cycle_s = time.monotonic() - began
            snaps = self.snapshots()
            return {h: snaps[h] for h in hosts if h in snaps}
        with self._lock:
            self._calls.pop(req, None)
        return self.snapshots()
