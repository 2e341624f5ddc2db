"""`WorkerPoller`: the console's poller, its polls in one worker process, or one per core for big fleets.

Why shards: a test:/// host runs inside the process that polls it (libvirt parses its node XML on
open, ~130 us a domain, mostly libxml2's XPath, and answers every call from memory), so one worker
polling 2,000 such hosts is CPU-bound on one core while the others idle. When the first inventory
holds at least SHARD_FROM test-driver hosts, they are split over one worker per core (`WorkerShard`,
client.py) by a stable hash of the host's name (crc32: Python's hash() of a str changes with every
interpreter, and a host must stay in its shard when the inventory changes). Hosts reached over the
network (qemu+ssh://, qemu:///system, anything not test:///) wait on I/O, not CPU: they all stay in
shard 0, where one pool of threads serves them as before (so do test:///default hosts, which share
one hypervisor per process). The number of shards is fixed when the
poller is built; later hosts are placed by the same rule.

The merge: a host lives in exactly one shard, so the shards' streams never overlap; each subscriber
is subscribed to every shard (a changes-only one gets a filter per shard, each judging only its own
hosts) and sees the same messages as from one worker. Snapshots, hosts, polls, calls and connection
proxies go to the shard that owns the host; the load history is one, shared by the shards.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot
from tui.core.model import VmConfig
from tui.services.loadhistory import LoadHistory
from tui.services.poller import EventCallback, NoticeCallback, PollerSettings, SnapshotCallback
from tui.services.pollworker.client import WorkerShard
from tui.services.pollworker.inbox import WorkerStats
from tui.services.pollworker.remote import RemoteObject

T = TypeVar("T")
R = TypeVar("R")

# From this many test-driver hosts in the first inventory, one worker per core: below it one worker
# polls them well within the goals (500 hosts x 20 domains: ~1 s to open, ~70 ms a cycle).
SHARD_FROM = 500


def is_test_driver(uri: str) -> bool:
    """A test:///PATH host: served inside the polling process, its cost is CPU there. Not
    test:///default, whose one hypervisor is shared by every connection in a process: hosts on it
    stay together in shard 0, as they were in one worker."""
    return uri.startswith("test:///") and not uri.startswith("test:///default")


def shard_count(
    records: Sequence[HostRecord], processes: int | None = None, shard_from: int = SHARD_FROM
) -> int:
    """How many workers poll this first inventory: one per core (or `processes`) from `shard_from`
    test-driver hosts, else one."""
    local = sum(1 for r in records if is_test_driver(r.uri))
    if local < shard_from:
        return 1
    return max(1, processes if processes is not None else (os.cpu_count() or 1))


def shard_of(record: HostRecord, count: int) -> int:
    """The shard that polls this host: network and daemon hosts 0, a test-driver host by the crc32
    of its name (the same in every process and run)."""
    if count <= 1 or not is_test_driver(record.uri):
        return 0
    return zlib.crc32(record.name.encode("utf-8")) % count


class WorkerPoller:
    """`LivePoller` over one or more `WorkerShard`s; built as `WorkerPoller(hosts, config, settings)`.

    `processes` and `shard_from` override the core count and SHARD_FROM (tests and the benchmark)."""

    def __init__(
        self,
        hosts: Iterable[HostRecord],
        config: VmConfig | None = None,
        settings: PollerSettings | None = None,
        *,
        processes: int | None = None,
        shard_from: int = SHARD_FROM,
    ) -> None:
        records = list(hosts)
        self.settings = settings or PollerSettings()
        self.config = config
        self.history = LoadHistory()
        self._lock = threading.Lock()
        self._count = shard_count(records, processes, shard_from)
        parts = self._partition(records)
        shard_settings = self._share_cores(self.settings)
        self.shards = [WorkerShard(part, config, shard_settings, history=self.history) for part in parts]
        self._owner = {r.name: shard_of(r, self._count) for r in records}
        self._last_cycle_s: float | None = None

    def _share_cores(self, settings: PollerSettings) -> PollerSettings:
        """Each shard opens its test-driver hosts with its share of the cores: the shards run side by
        side, and more open threads than cores only fight over them (see slots.Lane)."""
        if self._count <= 1 or settings.open_workers is not None:
            return settings
        return replace(settings, open_workers=max(1, (os.cpu_count() or 1) // self._count))

    def _partition(self, records: list[HostRecord]) -> list[list[HostRecord]]:
        parts: list[list[HostRecord]] = [[] for _ in range(self._count)]
        for record in records:
            parts[shard_of(record, self._count)].append(record)
        return parts

    def _shard(self, host: str) -> WorkerShard:
        # a host not in the inventory goes to shard 0, which answers as one worker would ("not connected")
        with self._lock:
            index = self._owner.get(host, 0)
        return self.shards[index]

    def _each(self, fn: Callable[[WorkerShard], R]) -> list[R]:
        """`fn` on every shard, side by side (spawning a worker and sending it the hosts waits for
        that interpreter to start: one after the other, N starts add up)."""
        if len(self.shards) == 1:
            return [fn(self.shards[0])]
        results: list[Any] = [None] * len(self.shards)
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                results[i] = fn(self.shards[i])
            except BaseException as exc:  # raised again on the caller's thread, after the others end
                errors.append(exc)

        # Short-lived threads: safe, since every worker is forked by the spawner thread (spawner.py).
        threads = [
            threading.Thread(target=run, args=(i,), name=f"poller-shard-{i}", daemon=True)
            for i in range(len(self.shards))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    # --- public API (LivePoller) -------------------------------------------------------------------------
    def subscribe(
        self, callback: SnapshotCallback, *, changes_only: bool = False, current: bool = False
    ) -> Callable[[], None]:
        """As Poller.subscribe; callbacks run on the shards' reader threads (one per shard, so the
        callback must be thread-safe, as it is for the in-process poller's threads)."""
        undo = [s.subscribe(callback, changes_only=changes_only, current=current) for s in self.shards]
        return _all(undo)

    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]:
        return _all([s.subscribe_events(callback) for s in self.shards])

    def subscribe_notices(self, callback: NoticeCallback) -> Callable[[], None]:
        return _all([s.subscribe_notices(callback) for s in self.shards])

    def snapshots(self) -> dict[str, HostSnapshot]:
        merged: dict[str, HostSnapshot] = {}
        for shard in self.shards:
            merged.update(shard.snapshots())
        return merged

    def connection(self, name: str) -> RemoteObject | None:
        return self._shard(name).connection(name)

    def run_on(self, host: str, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        return self._shard(host).run_on(host, fn, *args, timeout=timeout)

    def set_hosts(self, hosts: Iterable[HostRecord]) -> None:
        records = list(hosts)
        with self._lock:
            self._owner = {r.name: shard_of(r, self._count) for r in records}
        # Every shard is told, the ones left with none included: that is how a host leaves its shard
        # (a host whose URI moves it between test:/// and the network changes shard this way too).
        for shard, part in zip(self.shards, self._partition(records), strict=True):
            shard.set_hosts(part)

    def request_poll(self, name: str) -> None:
        self._shard(name).request_poll(name)

    def start(self) -> None:
        self._each(lambda s: s.start())

    def stop(self) -> None:
        for shard in self.shards:
            shard.stop()

    def close(self, wait: float | None = None) -> None:
        """Close every shard (side by side: each may wait its EXIT_GRACE_S for a stuck worker)."""
        self._each(lambda s: s.close(wait))

    def poll_once(self, timeout: float | None = None) -> dict[str, HostSnapshot]:
        began = time.monotonic()
        merged: dict[str, HostSnapshot] = {}
        for part in self._each(lambda s: s.poll_once(timeout)):
            merged.update(part)
        self._last_cycle_s = time.monotonic() - began
        return merged

    # --- what the benchmark and the tests look at --------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """Shard 0's worker process id (the only one for most fleets); None before start or after close."""
        return self.shards[0].pid

    @property
    def pids(self) -> list[int | None]:
        return [s.pid for s in self.shards]

    @property
    def stats(self) -> WorkerStats:
        """The shards' counters added up (a copy: shard 0's pid, the cycle time of poll_once)."""
        parts = [s.stats for s in self.shards]
        return WorkerStats(
            pid=parts[0].pid,
            restarts=sum(p.restarts for p in parts),
            batches=sum(p.batches for p in parts),
            samples=sum(p.samples for p in parts),
            last_cycle_s=self._last_cycle_s,
        )

    def shard_index(self, host: str) -> int | None:
        """The shard that owns this host now, None for a host not in the inventory."""
        with self._lock:
            return self._owner.get(host)


def _all(undo: list[Callable[[], None]]) -> Callable[[], None]:
    def unsubscribe() -> None:
        for fn in undo:
            fn()

    return unsubscribe
