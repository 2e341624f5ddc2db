"""The console's long-lived heap kept out of Python's full garbage collections.

With 10,000 hosts / 100,000 VMs the fleet view and the panes' row models are a few hundred
thousand tracked objects that live as long as the console. CPython's full collection walks every
one of them each time (measured 150-230 ms at 100,000 VMs, several times a minute while snapshots
arrive): a frozen UI in the middle of a key. The Activity pane's audit history (up to 100,000 entries) is
the same kind of heap. So once the first poll of a large fleet is complete or a long audit history
has been read, and again after
each full collection, what survived is frozen (`gc.freeze`: moved to a generation the collector
never walks): a full collection then walks only what was allocated since the last one. Right after
a collection nothing frozen is garbage; objects freed by reference counting (replaced snapshots,
rows) are freed as before.

What the collector never walks it cannot reclaim when it later becomes a cycle of garbage (a closed
screen frozen while it was open). When the frozen objects have grown to LEAK_FACTOR times what the
first freeze took (measured every LEAK_CHECK_EVERY full collections), they are unfrozen: the next full collection walks everything once, reclaims such
cycles, and freezing starts again. The app unfreezes when it unmounts, so a process that runs many
consoles (the tests) collects each one's cycles after it closes.
"""

from __future__ import annotations

import gc
from typing import Any

# Below this many hosts the heap is small enough that full collections are short: nothing frozen.
FREEZE_HOSTS = 1000
FREEZE_ENTRIES = 10_000  # audit entries read when the console opens
LEAK_FACTOR = 2.0
# Full collections between two measures of the frozen heap: `gc.get_freeze_count` walks every frozen
# object (10-27 ms at 100,000 VMs), which after each full collection doubled the pause it ended.
LEAK_CHECK_EVERY = 16


class Heap:
    """Freezes the survivors of full collections once the heap is large (a large fleet polled, a long
    audit history read); unfreezes on exit."""

    def __init__(self) -> None:
        self.frozen = False
        self._baseline = 0
        self._unfrozen = False  # unfrozen for one full collection that walks everything
        self._since_check = 0  # full collections since the frozen heap was last measured

    def first_poll_done(self, hosts: int) -> None:
        if hosts >= FREEZE_HOSTS:
            self._start()

    def audit_history_read(self, entries: int) -> None:
        if entries >= FREEZE_ENTRIES:
            self._start()

    def _start(self) -> None:
        if self.frozen:
            return
        self.frozen = True
        gc.collect()  # garbage frozen would never be collected: collect it first
        gc.freeze()
        self._baseline = max(1, gc.get_freeze_count())
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        # Called by the collector after each collection; only a full one's survivors are frozen.
        if phase != "stop" or info.get("generation") != 2:
            return
        if self._unfrozen:  # this collection walked everything: what lives now is the new baseline
            self._unfrozen = False
            gc.freeze()
            self._baseline = max(1, gc.get_freeze_count())
            return
        self._since_check += 1
        if self._since_check >= LEAK_CHECK_EVERY:
            self._since_check = 0
            if gc.get_freeze_count() > LEAK_FACTOR * self._baseline:
                self._unfrozen = True
                gc.unfreeze()  # the next full collection walks everything once (see the docstring)
                return
        gc.freeze()

    def release(self) -> None:
        if self.frozen:
            self.frozen = False
            if self._collected in gc.callbacks:
                gc.callbacks.remove(self._collected)
            gc.unfreeze()
