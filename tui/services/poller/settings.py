"""The poller's settings and the timing rules it applies to every host (bounds, backoff, ticks).

Apart from the classes that use them so a reader finds every number that bounds a poll in one place,
and so the worker process (tui/services/pollworker) can send `PollerSettings` without the poller.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ABANDONED = 2  # stuck calls per host before we stop retrying it until one returns
EVENT_DEBOUNCE_S = 0.1  # an event burst (RESUMED + STARTED, ...) becomes one poll
WATCHDOG_TICK_S = 0.05
# A pool worker busy this long on one poll is replaced, so slow hosts never hold the pool; polls of a
# test-driver or LAN host take milliseconds, a slow ssh link may take a second.
SLOW_POLL_S = 2.0
# Hosts due within this much of each other are dispatched in one pass: with 1,000 hosts whose due
# times are spread out, waking for each one would scan every slot ~100 times a second.
DISPATCH_SLACK_S = 0.05
# Threads polling test-driver hosts (the local lane, slots.Lane): their calls run in this process, so
# one thread is the fastest (more only hand the interpreter lock to each other).
LOCAL_WORKERS = 1


@dataclass(frozen=True)
class PollerSettings:
    read_only: bool = False
    open_timeout: float = 10.0  # bound on open() (ssh/TCP handshake, auth)
    call_timeout: float = 30.0  # bound on one poll of an open connection
    keepalive: tuple[int, int] | None = (5, 3)  # interval s, missed replies -> close callback after ~20 s
    workers: int = 4  # the pool: threads polling network and daemon hosts (their calls wait on I/O)
    # Threads opening test-driver hosts side by side (open() parses the node file in C, without the
    # interpreter lock); None: one per core. The sharded poller gives each shard its share of the cores.
    open_workers: int | None = None
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
