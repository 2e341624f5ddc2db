"""Per-host bookkeeping of the in-process poller: a `Slot` per host, the counters in `PollerStats`.

A slot holds everything the dispatcher, the watchdog and the attempts agree on about one host (its
connection, when it is due, the attempt in flight and its token, failures, the last snapshot); the
poller's one lock guards every slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot
from tui.services.libvirt import Connection, HostReader


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
    pooled: bool = False  # the attempt in flight runs on a pool worker (not its own thread)


@dataclass
class PollerStats:
    polls: int = 0
    abandoned: int = 0
    callback_errors: int = 0
    workers_started: int = 0
    openers_started: int = 0
    last_cycle_s: float | None = field(default=None)


def opens_in_pool(slot: Slot) -> bool:
    """A test-driver host's open() only parses its node file in this process: it cannot hang, so it
    runs on a pool worker like a poll. 2,000 such opens in threads of their own fought over the
    interpreter lock and over-ran their bound on a busy machine."""
    return slot.record.uri.startswith("test:")
