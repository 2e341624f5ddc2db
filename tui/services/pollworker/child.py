"""The poller worker process: an in-process Poller whose news goes to the console over stdout.

Started by `WorkerShard` as `python -m tui.services.pollworker.child`. fd 0 and fd 1 are the pipe
(framing.py) and are moved out of the way at once, so nothing libvirt or Python prints can corrupt a
frame. What goes back, in one "batch" message every BATCH_S at most:
- the snapshots of hosts whose view changed (`changes_only`), the newest per host ("connecting" only
  once an open has lasted CONNECTING_HOLD_S: a host that answers at once never flickers);
- one compact load sample per connected poll (sequence number, poll time, host CPU and memory use,
  the VMs' CPU rates; their UUIDs only when the host's set of VMs changed), which the console's
  LoadHistory records and which advance its copy of the host's sequence number;
- lifecycle events.
"call" messages run a function on a host's connection in a thread of their own (a hung host never
holds the others) and answer with "reply".

The worker never outlives the console: end of input (the console exited, closed the pipe, or was
killed) ends it at once with os._exit, without waiting for any host; PR_SET_PDEATHSIG and a check of
the parent's pid back that up.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
import sys
import threading
import time
from array import array
from collections.abc import Callable
from typing import IO, Any

import libvirt

from tui.core.lifecycle import LifecycleEvent
from tui.core.live import HostSnapshot, HostStatus
from tui.services.libvirt import ensure_runtime
from tui.services.libvirt.errors import libvirt_error
from tui.services.loadhistory import load_sample
from tui.services.poller import ChangesOnly, Poller
from tui.services.pollworker import remote
from tui.services.pollworker.framing import FrameWriter, read_frame

BATCH_S = 0.05  # news is coalesced this long: one message (one console wake-up) per batch
CONNECTING_HOLD_S = 0.5
MAX_PENDING = 50_000  # samples (and events) held while the console does not read: bounded memory
PARENT_CHECK_S = 1.0
FULL_GC_S = 60.0
NEVER = 1 << 30  # a generation threshold that is never reached

Sample = tuple[str, int, float, float | None, float, float, bytes, tuple[str, ...] | None]


class _Outbox:
    """What happened since the last batch: collected from poller threads, sent by one thread."""

    def __init__(self, out: FrameWriter, looks_like_previous: Callable[[HostSnapshot], bool]) -> None:
        self._out = out
        # What the poller gives `changed`: only snapshots that look different from the last one.
        self.changes = ChangesOnly(self.changed, looks_like_previous)
        self._cond = threading.Condition()
        self._snaps: dict[str, HostSnapshot] = {}
        self._samples: list[Sample] = []
        self._events: list[LifecycleEvent] = []
        self._uuids: dict[str, tuple[str, ...]] = {}  # per host, the VM UUIDs of its last sample
        self._sent: dict[str, HostSnapshot] = {}  # per host, the snapshot the console holds
        self._connecting: dict[str, tuple[HostSnapshot, float]] = {}  # held back until the deadline

    def changed(self, snap: HostSnapshot) -> None:
        with self._cond:
            if snap.status is HostStatus.CONNECTING:
                # Most opens take milliseconds: "connecting" is said only when one lasts longer.
                self._connecting[snap.host] = (snap, time.monotonic() + CONNECTING_HOLD_S)
                self._cond.notify()
                return
            self._connecting.pop(snap.host, None)
            self._snaps[snap.host] = snap
            self._sent[snap.host] = snap
            self._cond.notify()

    def _due_connecting_locked(self, now: float) -> float | None:
        """Move "connecting" snapshots held long enough into the batch; the next deadline, if any."""
        next_due = None
        for host, (snap, due) in list(self._connecting.items()):
            if due <= now:
                del self._connecting[host]
                self._snaps[host] = self._sent[host] = snap
            elif next_due is None or due < next_due:
                next_due = due
        return next_due

    def compact(self, snaps: dict[str, HostSnapshot]) -> list[object]:
        """poll_once's answer: a snapshot where the console's copy looks different, else only
        (host, seq, polled_at, poll_seconds) to bring its copy up to date."""
        out: list[object] = []
        with self._cond:
            for host, snap in snaps.items():
                # one still waiting in the outbox has not reached the console yet
                held = self._sent.get(host) if host not in self._snaps else None
                if held is None or held.uri != snap.uri or not self._console_has(snap, held):
                    self._sent[host] = snap
                    out.append(snap)
                else:
                    out.append((host, snap.seq, snap.polled_at, snap.poll_seconds))
        return out

    def _console_has(self, snap: HostSnapshot, held: HostSnapshot) -> bool:
        """`snap` looks like `held`, the console's copy: known at once when `held` is the snapshot
        `changes` last passed on and `snap` the newest it judged (at 2,000 hosts, comparing every
        domain of every host cost more than the rest of the answer)."""
        return self.changes.passed_lookalike(snap) is held or snap.looks_like(held)

    def polled(self, snap: HostSnapshot) -> None:
        sample = load_sample(snap)
        if sample is None:
            return
        at, cpu, memory, rates = sample
        uuids = tuple(d.uuid for d in snap.domains)
        with self._cond:
            new = uuids if self._uuids.get(snap.host) != uuids else None
            self._uuids[snap.host] = uuids
            packed = array("f", rates).tobytes()
            self._samples.append((snap.host, snap.seq, at, snap.poll_seconds, cpu, memory, packed, new))
            if len(self._samples) > MAX_PENDING:
                # The console stopped reading (suspended with ctrl+z): keep the newest, bounded.
                # A dropped sample that announced new UUIDs is re-announced by the next one.
                dropped = self._samples[: len(self._samples) - MAX_PENDING]
                del self._samples[: len(dropped)]
                for host, *_ in dropped:
                    self._uuids.pop(host, None)
            self._cond.notify()

    def event(self, event: LifecycleEvent) -> None:
        with self._cond:
            self._events.append(event)
            del self._events[:-MAX_PENDING]
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                while True:
                    next_due = self._due_connecting_locked(time.monotonic())
                    if self._snaps or self._samples or self._events:
                        break
                    self._cond.wait(None if next_due is None else max(0.0, next_due - time.monotonic()))
            time.sleep(BATCH_S)  # let the rest of a burst arrive
            with self._cond:
                self._due_connecting_locked(time.monotonic())
                snaps, self._snaps = list(self._snaps.values()), {}
                samples, self._samples = self._samples, []
                events, self._events = self._events, []
            try:
                self._out.send(("batch", snaps, samples, events))
            except OSError:
                os._exit(0)  # the console is gone


class _Worker:
    def __init__(self, out: FrameWriter, poller: Poller, outbox: _Outbox) -> None:
        self.out = out
        self.poller = poller
        self.outbox = outbox

    def reply(self, req: int, ok: bool, value: object) -> None:
        try:
            self.out.send(("reply", req, ok, value))
        except OSError:
            os._exit(0)
        except Exception as exc:  # the result would not pickle: say so instead of never answering
            self.out.send(("reply", req, False, ("error", RuntimeError(f"unpicklable result: {exc}"))))

    def call(self, req: int, host: str, fn: Any, args: tuple[Any, ...]) -> None:
        conn = self.poller.connection(host)
        try:
            if conn is None:
                raise libvirt_error(f"host {host!r} is not connected")
            value = fn(conn, *args)
        except libvirt.libvirtError as exc:
            self.reply(req, False, ("libvirt", str(exc), tuple(exc.err) if exc.err else None))
            return
        except Exception as exc:
            self.reply(req, False, ("error", _portable(exc)))
            return
        self.reply(req, True, value)

    def poll_once(self, req: int, timeout: float | None) -> None:
        self.reply(req, True, self.outbox.compact(self.poller.poll_once(timeout)))

    def handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "call":
            _, req, host, fn, args = message
            threading.Thread(
                target=self.call, args=(req, host, fn, args), name="worker-call", daemon=True
            ).start()
        elif kind == "poll_once":
            threading.Thread(target=self.poll_once, args=message[1:], name="worker-poll", daemon=True).start()
        elif kind == "hosts":
            self.poller.set_hosts(message[1])
        elif kind == "poll":
            self.poller.request_poll(message[1])
        elif kind == "start":
            self.poller.start()
        elif kind == "stop":
            self.poller.stop()
        elif kind == "release":
            remote.release(message[1])


def _portable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _die_with_parent(parent: int) -> None:
    # The kernel sends this signal when the thread that forked us ends, not the process: the
    # console forks every worker from its long-lived spawner thread (spawner.py) for that reason.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)  # the parent died before prctl took effect

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="worker-parent", daemon=True).start()


def _collect_on_a_timer() -> None:
    """Full garbage collections every FULL_GC_S instead of CPython's automatic ones.

    The worker's objects are many, long-lived and acyclic (a fact per domain, a snapshot per host,
    the readers' caches: ~700,000 at 2,000 hosts x 20 domains), and every poll replaces a running
    domain's facts, so the automatic full collection ran every few polls and traversed them all:
    0.13 s each, a third of the CPU of a cycle, at random cycles. The young generations are still
    collected automatically (cheap: they hold only what is new since); what little cyclic garbage
    reaches the old one waits at most FULL_GC_S."""
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)

    def collect() -> None:
        while True:
            time.sleep(FULL_GC_S)
            gc.collect()

    threading.Thread(target=collect, name="worker-gc", daemon=True).start()


def main() -> None:
    parent = int(os.environ.get("VMDECK_POLLER_PARENT", os.getppid()))
    _die_with_parent(parent)
    _collect_on_a_timer()
    # The pipe moves to private fds; 0 and 1 become /dev/null and stderr so stray output is harmless.
    inp: IO[bytes] = os.fdopen(os.dup(0), "rb", buffering=0)
    out = FrameWriter(os.fdopen(os.dup(1), "wb"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    init = read_frame(inp)
    if not (isinstance(init, tuple) and init[0] == "init"):
        os._exit(2)
    _, records, config, settings, seq_base = init
    ensure_runtime()
    poller = Poller(records, config, settings, seq_base=seq_base, keep_history=False)
    remote.serve_connections(poller.connection)
    outbox = _Outbox(out, poller.looks_like_previous)
    poller.subscribe(outbox.changes, current=True)
    poller.subscribe(outbox.polled)
    poller.subscribe_events(outbox.event)
    threading.Thread(target=outbox.run, name="worker-outbox", daemon=True).start()
    worker = _Worker(out, poller, outbox)
    out.send(("ready", os.getpid()))
    while True:
        try:
            message = read_frame(inp)
        except Exception:
            message = None  # a broken pipe or frame: the console is gone or confused; end either way
        if message is None or (isinstance(message, tuple) and message[0] == "close"):
            sys.stderr.flush()
            os._exit(0)  # never wait for a host: connections die with the process
        if isinstance(message, tuple):
            worker.handle(message)


if __name__ == "__main__":
    main()
