"""Load over the last hour, per host (CPU use, memory use) and per VM (CPU use), in bounded memory.

Each series is a ring of at most `SLOTS` samples in `array` buffers (no per-sample objects): a
full host ring costs `HOST_BYTES` (time as a double, CPU and memory as floats) and each VM's
`VM_BYTES`, whatever the poll period. A ring starts with room for FIRST_SLOTS samples and doubles
as they arrive: a new console's first poll of 100,000 VMs makes 100,000 small rings, not 430 MB of
NaN (at 2,000 hosts x 20 domains, 170 MB and 0.12 s of CPU in the first poll). A sample older than
`WINDOW_S` is not returned; with polls faster than WINDOW_S / SLOTS the ring holds the last SLOTS
samples (less than an hour, never more memory).

A host's CPU use is the host CPUs its VMs keep busy over its CPUs (0..1); a VM's is the host CPUs
it keeps busy (DomainFacts.cpu_rate); memory use is the running VMs' memory over the host's (0..1).
Written by poller threads, read by any: one lock per history.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Iterable, Sequence

from tui.core.live import DomainState, HostSnapshot

WINDOW_S = 3600.0
SLOTS = 360  # one sample per 10 s over an hour: the realm's usual poll period
FIRST_SLOTS = 8  # room a new ring has; it doubles while filling (8, 16, ..., 256, then SLOTS)
NAN = math.nan
_RUNNING = DomainState.RUNNING


def load_sample(snap: HostSnapshot) -> tuple[float, float, float, list[float]] | None:
    """(time, host CPU use, memory use, each VM's CPU rate in domain order; NaN: unknown) of a
    connected snapshot, or None for one that is not."""
    if not snap.live or snap.node is None:
        return None
    when = snap.polled_at or time.time()
    cpus = max(1, snap.node.cpus)
    # One pass over the domains (once per host per poll): the rates, their sum in domain order, and
    # the running guests' memory.
    rates: list[float] = []
    busy = 0.0
    known = False
    running = 0
    for d in snap.domains:
        rate = d.cpu_rate
        if rate is None:
            rates.append(NAN)
        else:
            rates.append(rate)
            busy += rate
            known = True
        if d.state is _RUNNING:
            running += d.memory
    cpu = busy / cpus if known or not rates else NAN
    memory = running / snap.node.memory if snap.node.memory else NAN
    return when, cpu, memory, rates


class Ring:
    """The last `SLOTS` (time, value...) samples of one series, oldest first when read."""

    __slots__ = ("_columns", "_count", "_next", "_times")

    def __init__(self, columns: int) -> None:
        self._times = array("d", [NAN]) * FIRST_SLOTS
        self._columns = [array("f", [NAN]) * FIRST_SLOTS for _ in range(columns)]
        self._next = 0
        self._count = 0

    def _grow(self) -> None:
        """Twice the room, at most SLOTS. By concatenation, which makes arrays of the exact size (an
        append over-allocates): a full ring holds exactly SLOTS samples."""
        extra = min(SLOTS, 2 * len(self._times)) - len(self._times)
        self._times = self._times + array("d", [NAN]) * extra
        self._columns = [column + array("f", [NAN]) * extra for column in self._columns]

    def add(self, at: float, *values: float) -> None:
        i = self._next
        if i == len(self._times):  # only while filling: a full ring's next slot wraps below SLOTS
            self._grow()
        self._times[i] = at
        for column, value in zip(self._columns, values, strict=True):
            column[i] = value
        self._next = (i + 1) % SLOTS
        self._count = min(self._count + 1, SLOTS)

    def add1(self, at: float, value: float) -> None:
        """add() for a one-column ring (a VM's), without the general loop: called per VM per poll."""
        i = self._next
        if i == len(self._times):
            self._grow()
        self._times[i] = at
        self._columns[0][i] = value
        self._next = (i + 1) % SLOTS
        if self._count < SLOTS:
            self._count += 1

    def read(self, since: float, last: int | None = None) -> list[tuple[float, ...]]:
        """(time, value...) of the samples at or after `since` (only the newest `last`), oldest
        first; NaN: unknown."""
        count = self._count if last is None else min(self._count, max(0, last))
        start = (self._next - count) % SLOTS
        out = []
        for k in range(count):
            i = (start + k) % SLOTS
            at = self._times[i]
            if at >= since:
                out.append((at, *(float(c[i]) for c in self._columns)))
        return out

    @staticmethod
    def nbytes(columns: int) -> int:
        """The buffers' bytes of a full ring."""
        return SLOTS * (8 + 4 * columns)


HOST_BYTES = Ring.nbytes(2)
VM_BYTES = Ring.nbytes(1)


class LoadHistory:
    """Per host and per VM rings, fed with every connected snapshot (`record`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, Ring] = {}
        self._vms: dict[str, dict[str, Ring]] = {}  # host -> VM UUID -> ring

    def record(self, snap: HostSnapshot, at: float | None = None) -> None:
        sample = load_sample(snap)
        if sample is None:
            return
        when, cpu, memory, rates = sample
        self.record_sample(
            snap.host, at if at is not None else when, cpu, memory, tuple(d.uuid for d in snap.domains), rates
        )

    def record_sample(
        self, host: str, at: float, cpu: float, memory: float, uuids: tuple[str, ...], rates: Sequence[float]
    ) -> None:
        """One poll's figures as `load_sample` computed them (the poller worker sends just these)."""
        with self._lock:
            self._hosts.setdefault(host, Ring(2)).add(at, cpu, memory)
            vms = self._vms.setdefault(host, {})
            added = False
            for uuid, rate in zip(uuids, rates, strict=True):
                ring = vms.get(uuid)
                if ring is None:
                    ring = vms[uuid] = Ring(1)
                    added = True
                ring.add1(at, rate)
            if added or len(vms) != len(uuids):
                present = set(uuids)
                for uuid in list(vms):
                    if uuid not in present:
                        del vms[uuid]  # gone from the host: its history goes too (bounded by VMs now)

    def forget(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._hosts.pop(name, None)
                self._vms.pop(name, None)

    def host(
        self, name: str, now: float | None = None, last: int | None = None
    ) -> list[tuple[float, float, float]]:
        """(time, CPU use 0..1, memory use 0..1) over the last hour (the newest `last`), oldest first."""
        since = (now if now is not None else time.time()) - WINDOW_S
        with self._lock:
            ring = self._hosts.get(name)
            rows = ring.read(since, last) if ring is not None else []
        return [(r[0], r[1], r[2]) for r in rows]

    def vm(self, host: str, uuid: str, now: float | None = None) -> list[tuple[float, float]]:
        """(time, host CPUs busy) of one VM over the last hour, oldest first."""
        since = (now if now is not None else time.time()) - WINDOW_S
        with self._lock:
            ring = self._vms.get(host, {}).get(uuid)
            rows = ring.read(since) if ring is not None else []
        return [(r[0], r[1]) for r in rows]
