"""`WorkerPoller`: the console's poller, with its polls and libvirt calls in a child process.

Same public interface as the in-process `Poller` (`LivePoller`), so the console and the actions
need not know which they hold. The console's side does only bookkeeping: one reader thread takes
the worker's batches (changed snapshots, compact load samples, lifecycle events) and hands them to
the subscribers, records the samples in `history`, and answers pending `run_on` calls.

Why a child process started with subprocess (rather than multiprocessing): the console's
interpreter must spend nothing on polling, so the child is a fresh interpreter that imports only the
poller (no Textual, no re-import of the console's __main__ as multiprocessing's spawn does); its
stdin/stdout are the pipe, its stderr is /dev/null (or $VMDECK_POLLER_LOG), so nothing it prints
reaches the terminal the console draws on; it runs in a session of its own, so terminal signals do
not reach it; and its lifetime is tied to the pipe, which the kernel closes whatever way the console
ends (child.py exits at end of input, PR_SET_PDEATHSIG backs that up).

A worker that dies is restarted (after a growing delay when it keeps dying right away), the hosts
sent again and polled at once, and every `subscribe_notices` callback is told. Calls in flight
fail with a libvirtError saying so. Sequence numbers continue above the last one seen.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import subprocess
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, TypeVar

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.core.live import HostSnapshot
from tui.core.model import VmConfig
from tui.services.libvirt.errors import libvirt_error
from tui.services.loadhistory import LoadHistory
from tui.services.poller import (
    ChangesOnly,
    EventCallback,
    NoticeCallback,
    PollerSettings,
    SnapshotCallback,
)
from tui.services.pollworker.framing import FrameWriter, read_frame
from tui.services.pollworker.remote import RemoteObject

T = TypeVar("T")

EXIT_GRACE_S = 1.0  # close(): the worker exits at end of input at once; after this it is killed
RESTART_DELAY_S = 0.5
RESTART_DELAY_MAX_S = 30.0
QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting backs the restart off
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the directory holding `tui`


@dataclass(frozen=True)
class WorkerNotice:
    """Said to `subscribe_notices` callbacks (as its `text`) when the worker was restarted."""

    text: str
    restarts: int
    exit_code: int | None


@dataclass
class WorkerStats:
    pid: int | None = None
    restarts: int = 0
    batches: int = 0
    samples: int = 0
    last_cycle_s: float | None = None


class _Call:
    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None


class WorkerPoller:
    def __init__(
        self,
        hosts: Iterable[HostRecord],
        config: VmConfig | None = None,
        settings: PollerSettings | None = None,
    ) -> None:
        self.settings = settings or PollerSettings()
        self.config = config
        self.stats = WorkerStats()
        self.history = LoadHistory()
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
        self._calls: dict[int, _Call] = {}
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

    # --- the worker process ----------------------------------------------------------------------------
    def _ensure_worker_locked(self) -> None:
        if self._proc is None and not self._closed:
            self._spawn_locked()

    def _spawn_locked(self) -> None:
        env = dict(os.environ)
        env["VMDECK_POLLER_PARENT"] = str(os.getpid())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        log = env.get("VMDECK_POLLER_LOG")
        err: IO[bytes] | int = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tui.services.pollworker.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                close_fds=True,
                start_new_session=True,  # ctrl+c / ctrl+z on the terminal are the console's, not its
            )
        finally:
            if not isinstance(err, int):
                err.close()
        assert proc.stdin is not None
        assert proc.stdout is not None
        out = FrameWriter(proc.stdin)
        self._generation += 1
        self._proc, self._out, self._started_at = proc, out, time.monotonic()
        self.stats.pid = proc.pid
        try:
            out.send(("init", self._records, self.config, self.settings, self._max_seq))
            if self._running:
                out.send(("start",))
        except OSError:
            pass  # it died at once: the reader sees the end of its output and restarts it
        threading.Thread(
            target=self._read, args=(proc, self._generation), name="poller-worker-reader", daemon=True
        ).start()

    def _send(self, message: tuple[Any, ...]) -> bool:
        with self._lock:
            out = self._out
        if out is None:
            return False
        try:
            out.send(message)
            return True
        except OSError:
            return False  # the reader thread notices the death and restarts it

    def _read(self, proc: subprocess.Popen[bytes], generation: int) -> None:
        assert proc.stdout is not None
        while True:
            try:
                message = read_frame(proc.stdout)
            except Exception:
                message = None
            if not isinstance(message, tuple):
                break
            kind = message[0]
            if kind == "batch":
                self._apply(message[1], message[2], message[3])
            elif kind == "reply":
                self._answer(message[1], message[2], message[3])
        self._died(proc, generation)

    def _died(self, proc: subprocess.Popen[bytes], generation: int) -> None:
        try:
            code: int | None = proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()  # it closed its output but lives on: no half-dead workers
            code = proc.wait()
        with self._lock:
            if self._closed or generation != self._generation:
                return
            self._proc = self._out = None
            quick = time.monotonic() - self._started_at < QUICK_DEATH_S
            self._quick_deaths = self._quick_deaths + 1 if quick else 0
            calls, self._calls = self._calls, {}
        for call in calls.values():
            call.value = ("libvirt", "the poller worker stopped during the call: check the host", None)
            call.done.set()
        delay = min(RESTART_DELAY_MAX_S, RESTART_DELAY_S * 2.0 ** min(self._quick_deaths, 8))
        time.sleep(delay if self._quick_deaths else 0.0)
        with self._lock:
            if self._closed or self._proc is not None:
                return
            self.stats.restarts += 1
            self._spawn_locked()
            notice = WorkerNotice(
                f"the poller worker stopped (exit code {code}); restarted it (pid {self.stats.pid})",
                self.stats.restarts,
                code,
            )
            listeners = list(self._notice_subscribers)
        for callback in listeners:
            with contextlib.suppress(Exception):
                callback(notice.text)

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
        call = _Call()
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
        call = _Call()
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

    def close(self, wait: float | None = None) -> None:
        """Stop the worker: it exits at end of input without waiting for any host; killed after
        EXIT_GRACE_S if it has not (a thread stuck in C code). Never leaves a process behind."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._running = False
            proc, out = self._proc, self._out
            self._proc = self._out = None
            calls, self._calls = self._calls, {}
        for call in calls.values():
            call.value = ("libvirt", "the poller was closed during the call", None)
            call.done.set()
        if proc is None or out is None:
            return
        with contextlib.suppress(OSError):
            out.send(("close",))
        out.close()
        try:
            proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before it is started or after close)."""
        with self._lock:
            return self._proc.pid if self._proc is not None else None
