"""Per-host bookkeeping of the in-process poller: a `Slot` per host, the counters in `PollerStats`,
the `Lane`s whose threads run the polls.

A slot holds everything the dispatcher, the watchdog and the attempts agree on about one host (its
connection, when it is due, the attempt in flight and its token, failures, the last snapshot); the
poller's one lock guards every slot.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field

from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot
from tui.services.libvirt import Connection, HostReader


@dataclass(eq=False)
class Lane:
    """A queue of due hosts and the worker threads that take hosts from it.

    Three lanes: the pool (`PollerSettings.workers` threads) polls hosts over the network, where a
    thread per call in flight is what keeps a slow host from holding the others; the local lane (one
    thread) polls test-driver hosts, whose calls run in this process and cannot hang: threads gain
    them nothing, since each call is a few microseconds of C between two takes of the interpreter
    lock, and four threads handing that lock to each other made a cycle of 2,000 such hosts 3-6x
    slower than one thread making the same calls; the opens lane (`PollerSettings.open_workers`, one
    thread per core) opens test-driver hosts, whose open() is milliseconds of C without the lock:
    those do run in parallel, but more threads than cores only fight over the cores (2,000 hosts
    sharded over two processes on two cores: 17.0 s of CPU for the first poll with four threads a
    process, 13.4 s with one)."""

    name: str
    size: int  # threads it keeps (the watchdog replaces a slow one)
    queue: queue.SimpleQueue[str | None] = field(default_factory=queue.SimpleQueue)
    live: int = 0  # threads taking from the queue now


@dataclass
class Slot:
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
    pooled: Lane | None = None  # the lane whose worker runs the attempt in flight (None: its own thread)


@dataclass
class PollerStats:
    polls: int = 0
    abandoned: int = 0
    callback_errors: int = 0
    workers_started: int = 0
    openers_started: int = 0
    last_cycle_s: float | None = field(default=None)


def polls_in_process(slot: Slot) -> bool:
    """A test-driver host: libvirt runs its calls in this process (no daemon, no network)."""
    return slot.record.uri.startswith("test:")


def opens_on_lane(slot: Slot) -> bool:
    """A test-driver host's open() only parses its node file in this process: it cannot hang, so it
    runs on a lane worker (the opens lane) like a poll. 2,000 such opens in threads of their own
    fought over the interpreter lock and over-ran their bound on a busy machine."""
    return polls_in_process(slot)
