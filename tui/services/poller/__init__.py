"""The live poller: one long-lived libvirt connection per connected host, a frozen snapshot per poll.

Threads: a dispatcher thread decides which host is due and runs the watchdog; a few pool workers
poll hosts whose connection is open; an attempt that must open a connection runs in a thread of its
own; every thread is a daemon. Why each, and how bad hosts are kept from stalling the rest: the
docstrings of attempts.py and dispatch.py. Nothing here imports Textual.

- inprocess.py    `Poller`, the in-process poller: its public API (subscribe, inventory, poll_once)
- dispatch.py     the dispatcher thread and the watchdog (bounds, abandoning, releasing slow workers)
- attempts.py     one attempt at a host (open, poll) and the threads that run it; libvirt callbacks
- state.py        the state all those parts share under one lock, and publishing a snapshot
- slots.py        the per-host bookkeeping (`Slot`) and the counters (`PollerStats`)
- settings.py     `PollerSettings`, the timing constants, `backoff_delay`
- subscribers.py  changes-only delivery (`ChangesOnly`) and `SnapshotBatcher`, used by both pollers
- interface.py    `LivePoller`, what callers use of either poller, and the callback types
"""

from __future__ import annotations

from tui.services.poller.inprocess import Poller
from tui.services.poller.interface import EventCallback, LivePoller, NoticeCallback, SnapshotCallback
from tui.services.poller.settings import PollerSettings, backoff_delay
from tui.services.poller.subscribers import ChangesOnly, SnapshotBatcher

__all__ = [
    "ChangesOnly",
    "EventCallback",
    "LivePoller",
    "NoticeCallback",
    "Poller",
    "PollerSettings",
    "SnapshotBatcher",
    "SnapshotCallback",
    "backoff_delay",
]
