"""Which way a host's domain counters are read: one bulk call, or one `info()` per domain.

Measured on the test bed's QEMU hosts (tiny guests), the bulk call with the groups a poll needs
(state, CPU, balloon, vCPU: `getAllDomainStats` asks every running guest's monitor) cost ~2 ms a
guest, where `info()` costs one round trip: 0.11-0.12 ms over the local socket, 0.26-0.36 ms over
ssh. One bulk call wins only where a round trip costs more than that (a distant host). So each host's reader
times both ways on its own connection — the bulk call whole, `info()` on a few domains — on its
first poll, and again every RECHECK_POLLS polls (a host's guests and its network change), and reads
by the cheaper way meanwhile.

Both ways report the same facts, but not the same CPU clock: `info()` counts the QEMU process's CPU
in scheduler ticks (10 ms), the bulk call its cgroup's in nanoseconds. A CPU rate spans one way
only: the first poll after a change of way has none.
"""

from __future__ import annotations

# Polls between two timings: at the realm's usual 10 s, every 5 minutes. Each timing costs one bulk
# call (while reading per domain) or TIMED_INFOS round trips (while reading in bulk).
RECHECK_POLLS = 30
TIMED_INFOS = 4  # domains whose info() is timed: the per-domain way costs one such call a domain


class ReadWay:
    """The way chosen for a host's connection, and when to time both again."""

    __slots__ = ("_since", "_timed", "in_bulk")

    def __init__(self) -> None:
        self.in_bulk = True
        self._timed = False
        self._since = 0

    def reset(self) -> None:
        """A new connection: what was timed on the old one does not hold."""
        self.in_bulk, self._timed, self._since = True, False, 0

    def timing_due(self) -> bool:
        """True when this poll should time both ways (asked once per poll): until a timing has had
        domains to time, then every RECHECK_POLLS polls."""
        if not self._timed:
            return True
        self._since += 1
        if self._since < RECHECK_POLLS:
            return False
        self._since = 0
        return True

    def decide(self, bulk_s: float, info_s: float, domains: int) -> None:
        """Choose from one timing: the bulk call took `bulk_s` for `domains` domains, an `info()` took
        `info_s` (the per-domain way makes one per domain, plus the listing: one call more)."""
        if domains <= 0:
            return  # nothing to compare: time again next poll
        self._timed = True
        self._since = 0
        self.in_bulk = bulk_s <= info_s * (domains + 1)
