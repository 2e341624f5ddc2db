"""`Dispatcher`: the poller's dispatcher thread, which decides which host is due, and its watchdog.

A host is due its realm's poll-frequency after its previous poll ended, at once after a domain
event, after a backoff when it failed; the dispatcher queues it for the pool or starts an opener
(attempts.py).

The watchdog is what keeps bad hosts from stalling the rest, whatever their number: a pool worker
whose poll has run longer than SLOW_POLL_S is released (a fresh worker takes its place, the slow
one ends when its call returns); a poll or open() that exceeds its bound is abandoned (the host is
published as unreachable) and retried with exponential backoff. A host with too many abandoned calls
still stuck is not retried until one of them returns, so a black-hole host cannot eat threads without
limit (at most MAX_ABANDONED + 1 threads per host).
"""

from __future__ import annotations

import time

from tui.core.live import HostSnapshot, HostStatus
from tui.services.poller.attempts import Attempts
from tui.services.poller.settings import DISPATCH_SLACK_S, MAX_ABANDONED, SLOW_POLL_S, WATCHDOG_TICK_S
from tui.services.poller.slots import Slot, opens_on_lane


class Dispatcher(Attempts):
    """The dispatch loop and the watchdog that bounds every attempt in flight."""

    def _dispatch_loop(self, generation: int) -> None:
        with self._lock:
            scan = True
            while self._running and self._generation == generation:
                now = time.monotonic()
                published = self._watchdog_locked(now)
                if not (scan or published or now + DISPATCH_SLACK_S >= self._next_due):
                    # A watchdog tick with nothing due: no need to look at every host again.
                    tick = WATCHDOG_TICK_S if self._inflight else 1.0
                    scan = self._wake.wait(timeout=max(0.0, min(self._next_due - now, tick)))
                    continue
                next_due = now + 1.0
                for name, slot in self._slots.items():
                    if slot.queued or slot.started is not None or slot.disabled is not None:
                        continue
                    if slot.abandoned >= MAX_ABANDONED:
                        continue
                    if slot.due <= now + DISPATCH_SLACK_S:
                        if (slot.conn is None or slot.conn.dead.is_set()) and not opens_on_lane(slot):
                            self._spawn_opener_locked(name, slot)
                        else:
                            slot.queued = True
                            self._lane_locked(slot).queue.put(name)
                    else:
                        next_due = min(next_due, slot.due)
                self._next_due = next_due
                if published:
                    self._lock.release()
                    try:
                        self._deliver(published)
                    finally:
                        self._lock.acquire()
                    scan = True
                    continue
                # Wake for the next due host, or soon enough to enforce the bounds of running polls;
                # a notify (a host became due sooner) makes the next pass scan every host.
                tick = WATCHDOG_TICK_S if self._inflight else 1.0
                scan = self._wake.wait(timeout=max(0.0, min(next_due - now, tick)))

    def _watchdog_locked(self, now: float) -> list[HostSnapshot]:
        published = []
        slow = min(SLOW_POLL_S, self.settings.call_timeout / 2)
        for slot in list(self._inflight.values()):
            if slot.started is None:
                continue
            if slot.pooled is not None and now - slot.started > slow:
                self._release_worker_locked(slot)
            bound = self.settings.open_timeout if slot.phase == "open" else self.settings.call_timeout
            if now - slot.started <= bound:
                continue
            published.append(self._abandon_locked(slot, now, bound))
        return published

    def _abandon_locked(self, slot: Slot, now: float, bound: float) -> HostSnapshot:
        """Stop waiting for the attempt in flight: the stuck thread keeps its call; we carry on."""
        self._release_worker_locked(slot)
        slot.token += 1
        slot.abandoned += 1
        slot.started = None
        self._inflight.pop(id(slot), None)
        slot.conn = None  # the stuck thread holds it and closes it if it ever returns
        slot.attempts += 1
        slot.failures += 1
        slot.due = now + self._backoff(slot)
        self._next_due = min(self._next_due, slot.due)
        self.stats.abandoned += 1
        what = "connecting" if slot.phase == "open" else "polling"
        error = f"no answer within {bound:g} s while {what}; retrying with backoff"
        self._attempt_ended_locked()
        return self._publish_locked(slot, HostStatus.UNREACHABLE, error)

    def _release_worker_locked(self, slot: Slot) -> None:
        """The pool worker running this slot's attempt is slow: a fresh one takes its place at once;
        the slow one ends when its call returns (it finds its attempt in `_released`)."""
        lane = slot.pooled
        if lane is None:
            return
        slot.pooled = None
        self._released.add((id(slot), slot.token))
        lane.live -= 1
        if self._running:
            self._spawn_worker_locked(lane)
