"""The store's live leases as this console last read them, for the checks made before a question.

"Is an action already running on this VM?" is asked on the UI loop, before a dialog opens, so it
must not wait on the store (a PostgreSQL round trip, or a server that stopped answering). The app
reads the leases in a thread worker every LEASE_READ_S and the check consults this copy. Two
corrections keep it honest: a lease past its expiry is ignored, and so is a lease on an object this
console finished acting on after the copy was read (its own lease, released since). The Deck still
takes the lease when the action runs, so a lease taken since the last read is refused there.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from textual.message import Message

from tui.services.store import Lease

LEASE_READ_S = 2.0


class LeaseCopy:
    def __init__(self) -> None:
        self._by_key: dict[str, Lease] = {}
        self.read_at = float("-inf")  # time.monotonic() when the read that filled it began

    def replace(self, leases: Iterable[Lease], read_at: float) -> None:
        self._by_key = {lease.key: lease for lease in leases}
        self.read_at = read_at

    def holding(self, key: str, ended_here: float | None) -> Lease | None:
        """The live lease on `key`, unless this console's own action on it ended after the read."""
        lease = self._by_key.get(key)
        if lease is None or lease.expires <= time.time():
            return None
        if ended_here is not None and ended_here >= self.read_at:
            return None
        return lease


@dataclass
class LeasesRead(Message):
    """The store's live leases, read by a worker that began at `read_at` (time.monotonic())."""

    leases: list[Lease]
    read_at: float
    ok: bool = True  # False: the store could not be read; the last copy stands
