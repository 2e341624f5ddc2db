"""The sharded worker poller: big test-driver fleets split over one worker process per core.

Real parts only: libvirt test:/// hosts (whose state lives in the connections of the worker that
opened them, so a call routed to the wrong shard would fail or not be seen), a network host on a
closed loopback port, real worker processes and real threads. Waits are bounded conditions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import libvirt
import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainState, HostSnapshot, HostStatus
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import Poller, PollerSettings
from tui.services.pollworker import WorkerPoller, WorkerShard
from tui.services.pollworker.shards import SHARD_FROM, shard_count, shard_of

from .livefixtures import Recorder, make_config, wait_for
from .test_poller_worker import FAST, alive, destroy_first, gone_within, names_and_state, until

SHARD_0_ONLY = [
    HostRecord("ssh-a", "qemu+ssh://root@kvm-a.example/system", "pool1", "libvirt1"),
    HostRecord("local-daemon", "qemu:///system", "pool1", "libvirt1"),
    HostRecord("tcp-b", "qemu+tcp://127.0.0.1:1/system", "pool1", "libvirt1"),
    HostRecord("shared-default", "test:///default", "pool1", "libvirt1"),  # one state per process
]
# A closed loopback port: refused at once, so the host is polled (unreachable) without waiting.
REFUSED = HostRecord("refused", "qemu+tcp://127.0.0.1:1/system", "pool1", "libvirt1")


@pytest.fixture
def fleet(tmp_path: Path) -> list[HostRecord]:
    return fake_fleet(tmp_path / "fleet", 12, 2)


def sharded(records: list[HostRecord], processes: int = 3) -> WorkerPoller:
    """A poller forced to `processes` shards whatever the fleet's size and the machine's cores."""
    return WorkerPoller(records, make_config(), FAST, processes=processes, shard_from=1)


def test_shard_count_comes_from_the_first_inventory(tmp_path: Path) -> None:
    big = fake_fleet(tmp_path / "big", SHARD_FROM, 1)
    cores = max(1, os.cpu_count() or 1)
    assert shard_count(big) == cores
    assert shard_count(big[:-1] + SHARD_0_ONLY) == 1  # network hosts do not count: no CPU of ours to spread
    poller = WorkerPoller(big + SHARD_0_ONLY)
    try:
        assert len(poller.shards) == cores
        assert poller.pids == [None] * cores  # nothing is started before it is needed
    finally:
        poller.close()
    small = WorkerPoller(big[:10])
    assert len(small.shards) == 1
    small.close()


ASSIGN_SCRIPT = """
import sys
from pathlib import Path
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import Poller, PollerSettings
from tui.services.pollworker.shards import shard_of
print([shard_of(r, 4) for r in fake_fleet(Path(sys.argv[1]), 64, 1)])
"""


def test_assignment_is_stable_complete_and_keeps_network_hosts_in_shard_0(tmp_path: Path) -> None:
    records = fake_fleet(tmp_path / "fleet", 64, 1)
    here = [shard_of(r, 4) for r in records]
    assert set(here) == {0, 1, 2, 3}  # 64 names spread over every shard
    # another interpreter with another str-hash seed places every host the same
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    other = subprocess.run(
        [sys.executable, "-c", ASSIGN_SCRIPT, str(tmp_path / "fleet")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert other.stdout.strip() == str(here)
    poller = WorkerPoller(records + SHARD_0_ONLY, processes=4, shard_from=1)
    try:
        held = [{r.name for r in shard._records} for shard in poller.shards]
        assert sum(len(h) for h in held) == len(records) + len(SHARD_0_ONLY)  # each host in one shard
        assert set().union(*held) == {r.name for r in records + SHARD_0_ONLY}
        assert {r.name for r in SHARD_0_ONLY} <= held[0]
        for record, index in zip(records, here, strict=True):
            assert record.name in held[index]
        # a host keeps its shard when the inventory changes around it
        poller.set_hosts(records[::2] + SHARD_0_ONLY)
        assert [poller.shard_index(r.name) for r in records[::2]] == here[::2]
        assert poller.shard_index(records[1].name) is None
        assert {n.name for n in SHARD_0_ONLY} <= {r.name for r in poller.shards[0]._records}
    finally:
        poller.close()


def test_each_shard_opens_with_its_share_of_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards run side by side: each opens its test-driver hosts with cores // shards threads (at
    least one), unless the caller chose a number; one worker keeps the poller's own rule."""
    records = fake_fleet(tmp_path / "fleet", 8, 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for processes, settings, expected in (
        (2, PollerSettings(), 4),
        (3, PollerSettings(), 2),
        (16, PollerSettings(), 1),
        (2, PollerSettings(open_workers=3), 3),
        (1, PollerSettings(), None),
    ):
        poller = WorkerPoller(records, settings=settings, processes=processes, shard_from=1)
        try:
            assert [shard.settings.open_workers for shard in poller.shards] == [expected] * processes
        finally:
            poller.close()


def test_snapshots_of_every_host_arrive_through_the_shards(tmp_path: Path) -> None:
    records = fake_fleet(tmp_path / "fleet", SHARD_FROM, 1)  # the real threshold and core count
    poller = WorkerPoller(records + [REFUSED], make_config(), FAST)
    seen = Recorder()
    poller.subscribe(seen, changes_only=True)
    try:
        snaps = poller.poll_once(120.0)
        assert set(snaps) == {r.name for r in records} | {REFUSED.name}
        assert {snaps[r.name].status for r in records} == {HostStatus.CONNECTED}
        assert snaps[REFUSED.name].status is HostStatus.UNREACHABLE
        assert REFUSED.name in poller.shards[0].snapshots()
        pids = poller.pids
        assert None not in pids
        assert len(set(pids)) == len(poller.shards) == max(1, os.cpu_count() or 1)
        for index, shard in enumerate(poller.shards):  # each host was polled by its own shard
            mine = {r.name for r in records if shard_of(r, len(poller.shards)) == index}
            assert set(shard.snapshots()) - {REFUSED.name} == mine
        until(lambda: {s.host for s in seen.seen} >= set(snaps), "every host's snapshot to a subscriber")
        assert set(poller.snapshots()) == set(snaps)
        # the load history is one: samples from every shard land in it
        poller.start()
        until(
            lambda: all(len(poller.history.host(r.name)) >= 1 for r in records[:40]),
            "load samples of hosts in every shard",
        )
    finally:
        poller.close()


def test_a_host_change_reaches_the_shard_that_owns_it(fleet: list[HostRecord]) -> None:
    poller = sharded(fleet)
    events = []
    poller.subscribe_events(events.append)
    try:
        snaps = poller.poll_once()
        host = next(r for r in fleet if shard_of(r, 3) != 0)
        owner, other = shard_of(host, 3), 0
        vm = next(d for d in snaps[host.name].domains if d.state is DomainState.RUNNING)
        # a call runs on the owner's connection: the other shard has no connection to the host
        poller.run_on(host.name, destroy_first, vm.name)
        assert (vm.name, libvirt.VIR_DOMAIN_SHUTOFF) in poller.shards[owner].run_on(
            host.name, names_and_state
        )
        with pytest.raises(libvirt.libvirtError, match="not connected"):
            poller.shards[other].run_on(host.name, names_and_state)
        conn = poller.connection(host.name)
        assert conn is not None
        assert conn.lookupByName(vm.name).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        poller.start()
        until(lambda: any(e.vm == vm.name and e.event == "stopped" for e in events), "the owner's event")
        # a state change, an added host and a removed one: each reaches the shard that owns it
        disabled = host.with_changes(state=HostState.DISABLED)
        gone = next(r for r in fleet if r is not host)
        (added,) = fake_fleet(Path(host.uri[len("test://") :]).parent, 1, 1, prefix="added")
        poller.set_hosts([disabled if r is host else r for r in fleet if r is not gone] + [added])
        until(
            lambda: poller.shards[owner].snapshots()[host.name].status is HostStatus.DISABLED,
            "the disabled host in its shard",
        )
        until(
            lambda: poller.shards[shard_of(added, 3)].snapshots().get(added.name) is not None,
            "the added host polled by its shard",
        )
        assert gone.name not in poller.snapshots()
        assert all(gone.name not in s.snapshots() for s in poller.shards)
        # a test host whose URI now points at the network moves to shard 0
        moved = disabled.with_changes(uri=REFUSED.uri, state=HostState.ENABLED)
        poller.set_hosts([moved if r is host else r for r in fleet if r is not gone])
        until(
            lambda: (
                poller.shards[0].snapshots().get(host.name) is not None
                and poller.shards[0].snapshots()[host.name].uri == REFUSED.uri
            ),
            "the moved host in shard 0",
        )
        assert host.name not in poller.shards[owner].snapshots()
        assert poller.snapshots()[host.name].uri == REFUSED.uri
    finally:
        poller.close()


def _started_on_a_thread_that_ends(poller: WorkerShard | WorkerPoller) -> None:
    """poll_once (which forks the workers) on a thread that then ends; returns once the kernel has
    reaped that thread, i.e. after any parent-death signal tied to it was sent."""
    thread = threading.Thread(target=poller.poll_once)
    thread.start()
    thread.join()
    tid = thread.native_id
    assert wait_for(lambda: not Path(f"/proc/self/task/{tid}").exists(), 10.0)


@pytest.mark.parametrize("kind", ["one worker", "three shards"])
def test_workers_survive_the_thread_that_started_them(fleet: list[HostRecord], kind: str) -> None:
    poller: WorkerShard | WorkerPoller = (
        WorkerShard(fleet, make_config(), FAST) if kind == "one worker" else sharded(fleet)
    )
    said: list[str] = []
    poller.subscribe_notices(said.append)
    try:
        _started_on_a_thread_that_ends(poller)
        pids = [poller.pid] if isinstance(poller, WorkerShard) else poller.pids
        before = {h: s.seq for h, s in poller.snapshots().items()}
        assert len(before) == len(fleet)
        # a killed worker could not answer this round trip: every host must come back newer
        after = poller.poll_once()
        assert all(after[h].seq > seq for h, seq in before.items())
        assert ([poller.pid] if isinstance(poller, WorkerShard) else poller.pids) == pids
        assert all(pid is not None and alive(pid) for pid in pids)
        assert poller.stats.restarts == 0
        assert said == []
    finally:
        poller.close()


def test_closing_leaves_no_worker_process(fleet: list[HostRecord]) -> None:
    poller = sharded(fleet)
    poller.start()
    until(lambda: len(poller.snapshots()) == len(fleet), "the first poll")
    pids = poller.pids
    assert len(pids) == 3
    assert all(pid is not None and alive(pid) for pid in pids)
    poller.close()
    assert poller.pids == [None, None, None]
    assert not any(alive(pid) for pid in pids if pid is not None)  # close() waited for each
    poller.start()  # a closed poller stays closed: nothing is forked again
    assert poller.pids == [None, None, None]


ORPHANS_SCRIPT = """
import sys, time
from pathlib import Path
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import Poller, PollerSettings
from tui.services.poller import PollerSettings
from tui.services.pollworker import WorkerPoller
poller = WorkerPoller(
    fake_fleet(Path(sys.argv[1]), 6, 1), settings=PollerSettings(period=0.2), processes=2, shard_from=1
)
poller.start()  # forks the workers from short-lived threads, through the spawner
while len(poller.snapshots()) < 6:
    time.sleep(0.05)
print(*poller.pids, flush=True)
time.sleep(600)
"""


def test_no_shard_outlives_a_killed_console(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHANS_SCRIPT, str(tmp_path / "fleet")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
        assert all(alive(pid) for pid in workers)
        parent.kill()
        parent.wait()
        assert all(gone_within(pid, 5.0) for pid in workers), "a shard outlived its SIGKILLed console"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_host_disabled_during_its_attempt_stays_disabled(tmp_path: Path) -> None:
    """The in-process Poller every shard runs: a host disabled while its attempt is in flight (here:
    from the subscriber that hears its "connecting", before its open) is not published connected by
    that attempt's end, and is not polled again. Found through the host-change test above."""
    (host,) = fake_fleet(tmp_path / "fleet", 1, 2)
    poller = Poller([host], make_config(), FAST)
    seen = Recorder()
    disabled = host.with_changes(state=HostState.DISABLED)

    def disable_while_connecting(snap: HostSnapshot) -> None:
        seen(snap)
        if snap.status is HostStatus.CONNECTING and len(seen.of(host.name)) == 1:
            poller.set_hosts([disabled])

    poller.subscribe(disable_while_connecting)
    try:
        poller.start()
        until(lambda: any(s.status is HostStatus.DISABLED for s in seen.of(host.name)), "the disable")
        # No action may reach it, even while the attempt that was opening it has not ended yet.
        assert poller.connection(host.name) is None

        def attempt_ended() -> bool:  # it has let go of the connection it opened, and nothing is queued
            with poller._lock:
                slot = poller._slots[host.name]
                return slot.conn is None and slot.started is None and not slot.queued

        until(attempt_ended, "the attempt in flight to end")
        poller.poll_once(10.0)
        assert poller.snapshots()[host.name].status is HostStatus.DISABLED
        assert [s.status for s in seen.of(host.name)] == [HostStatus.CONNECTING, HostStatus.DISABLED]
        assert poller.connection(host.name) is None
    finally:
        poller.close()
