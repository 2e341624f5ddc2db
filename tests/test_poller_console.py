"""What the console needs from the poller: guest addresses, a quiet terminal for missing test:///
files, changed-only delivery, batching, and an inventory change that re-polls only what changed."""

from __future__ import annotations

import threading
from pathlib import Path

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus
from tui.services.demo import DemoHost, DemoVm, node_xml
from tui.services.libvirt import missing_node_file
from tui.services.libvirt.testdriver import FakeDomain, fake_fleet
from tui.services.poller import Poller, PollerSettings, SnapshotBatcher

from .livefixtures import Recorder, make_config, wait_for

FAST = PollerSettings(open_timeout=2.0, call_timeout=5.0, backoff_base=0.05, backoff_max=0.2)


def demo_host(tmp_path: Path, name: str = "n1") -> HostRecord:
    """A host written like the demo's: a `default` network and a NIC per VM, so leases exist."""
    record = HostRecord(name, f"test://{tmp_path / (name + '.xml')}", "pool1", "libvirt1")
    vms = (DemoVm(f"{name}-a", 2, 4, True), DemoVm(f"{name}-b", 1, 2, False), DemoVm(f"{name}-c", 1, 2, True))
    (tmp_path / f"{name}.xml").write_text(node_xml(DemoHost(record, 8, 32, vms)))
    return record


def test_guest_addresses_come_with_the_domain_facts(tmp_path: Path) -> None:
    record = demo_host(tmp_path)
    poller = Poller([record], make_config(), FAST)
    try:
        snap = poller.poll_once()[record.name]
    finally:
        poller.close()
    by_name = {d.name: d for d in snap.domains}
    running = [by_name["n1-a"].address, by_name["n1-c"].address]
    assert all(a is not None and a.startswith("192.168.122.") for a in running)
    assert len(set(running)) == 2
    assert by_name["n1-b"].address is None  # shut off: holds no lease
    assert by_name["n1-a"].to_json()["address"] == running[0]


def test_domains_without_a_nic_have_no_address(tmp_path: Path) -> None:
    [host] = fake_fleet(tmp_path, 1, 2)  # FakeDomain XML has no <interface>
    poller = Poller([host], make_config(), FAST)
    try:
        snap = poller.poll_once()[host.name]
    finally:
        poller.close()
    assert [d.address for d in snap.domains] == [None, None]


def test_missing_node_file_is_unreachable_and_prints_nothing(tmp_path: Path, capfd) -> None:
    gone = tmp_path / "nowhere" / "gone.xml"
    record = HostRecord("gone", f"test://{gone}", "pool1", "libvirt1")
    assert missing_node_file(record.uri) == str(gone)
    assert missing_node_file("test:///default") is None
    poller = Poller([record], make_config(), FAST)
    try:
        snap = poller.poll_once()["gone"]
    finally:
        poller.close()
    assert snap.status is HostStatus.UNREACHABLE
    assert snap.error == f"test driver node file not found: {gone}"
    # libxml2 would have written "I/O warning : failed to load external entity" to fd 2.
    assert capfd.readouterr().err == ""


def test_changes_only_subscriber_sees_a_host_again_only_when_it_changed(tmp_path: Path) -> None:
    hosts = fake_fleet(tmp_path, 3, 2)
    every, changes = Recorder(), Recorder()
    poller = Poller(hosts, make_config(poll_frequency_s=0.05), FAST)
    poller.subscribe(every)
    poller.subscribe(changes, changes_only=True)
    poller.start()
    try:
        name = hosts[0].name
        assert wait_for(lambda: all(len(every.of(h.name)) >= 8 for h in hosts))
        connected = [s for s in changes.of(name) if s.status is HostStatus.CONNECTED]
        assert len(connected) == 1  # many polls, nothing visible changed
        dom = poller.connection(name).defineXML(FakeDomain("late").xml(name))
        dom.create()
        assert wait_for(lambda: any(d.name == "late" for s in changes.of(name) for d in s.domains))
    finally:
        poller.close()
    after = [s for s in changes.of(name) if s.status is HostStatus.CONNECTED]
    assert len(after) in (2, 3)  # the new domain (defined, then running: one or two polls saw it)
    assert [s.seq for s in changes.of(name)] == sorted(s.seq for s in changes.of(name))


def test_looks_like_ignores_cpu_counters_but_not_state() -> None:
    dom = DomainFacts("v", "u", DomainState.RUNNING, 1, 1 << 30, 1 << 30, cpu_time_ns=5, cpu_rate=0.1)
    snap = HostSnapshot("h", "test:///x", HostStatus.CONNECTED, domains=(dom,), polled_at=1.0, seq=1)
    later = HostSnapshot(
        "h",
        "test:///x",
        HostStatus.CONNECTED,
        domains=(
            DomainFacts("v", "u", DomainState.RUNNING, 1, 1 << 30, 1 << 30, cpu_time_ns=9, cpu_rate=0.3),
        ),
        polled_at=2.0,
        seq=2,
    )
    assert later.looks_like(snap)
    paused = HostSnapshot(
        "h", "test:///x", HostStatus.CONNECTED, domains=(DomainFacts("v", "u", DomainState.PAUSED, 1, 1, 1),)
    )
    assert not paused.looks_like(snap)
    moved = HostSnapshot(
        "h",
        "test:///x",
        HostStatus.CONNECTED,
        domains=(dom.__class__(**{**dom.__dict__, "address": "10.0.0.2"}),),
    )
    assert not moved.looks_like(snap)
    assert not snap.looks_like(None)


def test_batcher_wakes_once_per_batch_and_keeps_the_newest() -> None:
    wakes = []
    batcher = SnapshotBatcher(lambda: wakes.append(1))
    for seq, host in [(1, "a"), (1, "b"), (3, "a"), (2, "a")]:
        batcher(HostSnapshot(host, "test:///x", HostStatus.CONNECTED, seq=seq))
    assert len(wakes) == 1
    batch = {s.host: s.seq for s in batcher.drain()}
    assert batch == {"a": 3, "b": 1}
    assert batcher.drain() == []
    batcher(HostSnapshot("a", "test:///x", HostStatus.CONNECTED, seq=4))
    assert len(wakes) == 2


def test_batcher_from_many_threads_loses_nothing() -> None:
    event = threading.Event()
    batcher = SnapshotBatcher(event.set)
    threads = [
        threading.Thread(
            target=lambda h=h: [
                batcher(HostSnapshot(f"h{h}", "u", HostStatus.CONNECTED, seq=s)) for s in range(200)
            ]
        )
        for h in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert event.is_set()
    assert {s.host: s.seq for s in batcher.drain()} == {f"h{h}": 199 for h in range(8)}


def test_subscribe_current_gives_what_was_published_before(tmp_path: Path) -> None:
    [host] = fake_fleet(tmp_path, 1, 1)
    off = host.with_changes(state=HostState.DISABLED)
    poller = Poller([off], make_config(), FAST)  # publishes DISABLED at once, before anyone listens
    late, replayed = Recorder(), Recorder()
    poller.subscribe(late)
    poller.subscribe(replayed, current=True)
    assert late.of(host.name) == []
    assert [s.status for s in replayed.of(host.name)] == [HostStatus.DISABLED]


def test_changing_one_host_repolls_only_that_host(tmp_path: Path) -> None:
    hosts = fake_fleet(tmp_path, 4, 1)
    rec = Recorder()
    poller = Poller(hosts, make_config(poll_frequency_s=3600.0), FAST)  # no second poll by itself
    poller.subscribe(rec)
    poller.start()
    try:
        assert wait_for(lambda: all(any(s.live for s in rec.of(h.name)) for h in hosts))
        changed = hosts[2].with_changes(state=HostState.NO_SCHEDULING)
        poller.set_hosts([*hosts[:2], changed, hosts[3]])
        assert wait_for(lambda: len([s for s in rec.of(changed.name) if s.live]) == 2)
    finally:
        poller.close()
    assert all(len([s for s in rec.of(h.name) if s.live]) == 1 for h in hosts if h.name != changed.name)


def test_changes_only_knows_which_passed_snapshot_the_newest_looks_like() -> None:
    """The worker answers poll_once with this identity check instead of comparing every domain."""
    from dataclasses import replace

    from tui.services.poller import ChangesOnly

    passed: list[HostSnapshot] = []
    changes = ChangesOnly(passed.append)
    dom = DomainFacts("v", "u", DomainState.RUNNING, 1, 1 << 30, 1 << 30, cpu_time_ns=5, cpu_rate=0.1)
    first = HostSnapshot("h", "test:///x", HostStatus.CONNECTED, domains=(dom,), polled_at=1.0, seq=1)
    again = replace(first, domains=(replace(dom, cpu_time_ns=9, cpu_rate=0.3),), polled_at=2.0, seq=2)
    changes(first)
    changes(again)
    assert passed == [first]
    assert changes.passed_lookalike(again) is first
    assert changes.passed_lookalike(first) is None  # no longer the newest judged: unknown
    gone = replace(again, status=HostStatus.UNREACHABLE, error="no route", seq=3)
    changes(gone)
    changes(first)  # a late, older snapshot is dropped and changes nothing
    assert passed == [first, gone]
    assert changes.passed_lookalike(gone) is gone
    assert changes.passed_lookalike(replace(gone, seq=4)) is None  # never judged


def test_a_host_removed_and_added_again_reaches_changes_only_subscribers(tmp_path: Path) -> None:
    [host] = fake_fleet(tmp_path, 1, 2)
    changes = Recorder()
    poller = Poller([host], make_config(), FAST)
    poller.subscribe(changes, changes_only=True)
    try:
        poller.poll_once()
        first = [s for s in changes.of(host.name) if s.status is HostStatus.CONNECTED]
        assert len(first) == 1
        poller.set_hosts([])
        poller.set_hosts([host])
        again = poller.poll_once()[host.name]
    finally:
        poller.close()
    # Its numbering went on from the removed slot's: the subscriber took it as news, not as an old one.
    assert again.seq > first[0].seq
    assert changes.of(host.name)[-1].seq == again.seq
