"""The poller against libvirt's test driver: facts, statuses, events, read-only mode, reconnect."""

from __future__ import annotations

from dataclasses import replace

import libvirt
import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainState, HostStatus
from tui.services.libvirt import effective_uri, parse_hostdevs
from tui.services.libvirt.testdriver import FakeDomain, fake_fleet, write_node_file
from tui.services.poller import Poller, PollerSettings

from .livefixtures import Recorder, black_hole, make_config, wait_for

FAST = PollerSettings(open_timeout=2.0, call_timeout=5.0, backoff_base=0.05, backoff_max=0.2)


def test_fleet_of_test_hosts_polled_once(tmp_path):
    hosts = fake_fleet(tmp_path, 40, 8)
    poller = Poller(hosts, make_config(), FAST)
    try:
        snaps = poller.poll_once()
    finally:
        poller.close()
    assert sorted(snaps) == sorted(h.name for h in hosts)
    for snap in snaps.values():
        assert snap.status is HostStatus.CONNECTED
        assert snap.error is None
        assert (snap.node.cores, snap.node.threads, snap.node.memory) == (8, 2, 32 << 30)
        assert len(snap.domains) == 8
        states = [d.state for d in snap.domains]
        assert states.count(DomainState.RUNNING) == 6
        assert states.count(DomainState.SHUTOFF) == 2
        assert all(len(d.uuid) == 36 for d in snap.domains)
    assert len({d.uuid for s in snaps.values() for d in s.domains}) == 40 * 8


def test_test_driver_hosts_open_on_the_opens_lane_and_are_read_on_the_local_lane(tmp_path):
    """Opens run in parallel on the opens lane's threads (as many as `open_workers`); every read of a
    test-driver host, the first included, runs on the local lane's thread (its calls are in-process:
    threads would only trade the interpreter lock)."""
    import threading

    hosts = fake_fleet(tmp_path, 12, 2)
    threads: dict[HostStatus, list[str]] = {}

    def record(snap):
        threads.setdefault(snap.status, []).append(threading.current_thread().name)

    poller = Poller(hosts, make_config(), replace(FAST, open_workers=2))
    poller.subscribe(record)
    try:
        first = poller.poll_once()
        second = poller.poll_once()
    finally:
        poller.close()
    assert all(s.status is HostStatus.CONNECTED for s in [*first.values(), *second.values()])
    opening, reading = threads[HostStatus.CONNECTING], threads[HostStatus.CONNECTED]
    assert len(opening) == 12
    assert len(reading) == 24
    assert all(n.startswith("poller-opens-") for n in opening), opening
    assert len(set(opening)) <= 2, opening  # the lane's two threads, never the pool's four
    assert all(n.startswith("poller-local-") for n in reading), reading


def test_domain_facts_including_pci_hostdevs(tmp_path):
    doms = [
        FakeDomain("gpu-vm", vcpus=4, memory_kib=2 << 20, hostdevs=("01:02.0", "0000:02:03.0")),
        FakeDomain("idle", vcpus=2, running=False),
    ]
    uri = write_node_file(tmp_path / "n.xml", "g1", doms, cores=16)
    poller = Poller([HostRecord("g1", uri, "gpu", "libvirt1")], make_config(), FAST)
    try:
        snap = poller.poll_once()["g1"]
    finally:
        poller.close()
    by_name = {d.name: d for d in snap.domains}
    gpu = by_name["gpu-vm"]
    assert (gpu.state, gpu.vcpus, gpu.memory) == (DomainState.RUNNING, 4, 2 << 30)
    assert gpu.hostdevs == ("0000:01:02.0", "0000:02:03.0")
    assert by_name["idle"].state is DomainState.SHUTOFF
    assert snap.node.cpus == 32


def test_disabled_hosts_and_disabled_realms_are_not_connected(tmp_path):
    missing = f"test://{tmp_path}/does-not-exist.xml"  # would be unreachable if anyone tried it
    hosts = [
        HostRecord("off", missing, "pool1", "libvirt1", HostState.DISABLED),
        HostRecord("in-off-realm", missing, "pool1", "off"),
    ]
    poller = Poller(hosts, make_config(), FAST)
    try:
        snaps = poller.poll_once()
    finally:
        poller.close()
    assert snaps["off"].status is HostStatus.DISABLED
    assert "Disabled" in snaps["off"].error
    assert snaps["in-off-realm"].status is HostStatus.DISABLED
    assert "realm 'off' is disabled" in snaps["in-off-realm"].error
    assert poller.stats.polls == 0


def test_no_scheduling_hosts_are_connected(tmp_path):
    [host] = fake_fleet(tmp_path, 1, 2)
    poller = Poller([host.with_changes(state=HostState.NO_SCHEDULING)], make_config(), FAST)
    try:
        assert poller.poll_once()[host.name].status is HostStatus.CONNECTED
    finally:
        poller.close()


def test_unreachable_then_reconnects_with_backoff(tmp_path):
    path = tmp_path / "late.xml"
    uri = f"test://{path}"
    rec = Recorder()
    poller = Poller([HostRecord("late", uri, "pool1", "libvirt1")], make_config(), FAST)
    poller.subscribe(rec)
    poller.start()
    try:
        assert wait_for(lambda: any(s.status is HostStatus.UNREACHABLE for s in rec.of("late")))
        bad = next(s for s in rec.of("late") if s.status is HostStatus.UNREACHABLE)
        assert bad.error  # libvirt's own message, e.g. the file cannot be read
        write_node_file(path, "late", [FakeDomain("v1")])
        assert wait_for(lambda: any(s.status is HostStatus.CONNECTED for s in rec.of("late")))
    finally:
        poller.close()
    statuses = [s.status for s in rec.of("late")]
    assert statuses[0] is HostStatus.CONNECTING
    assert statuses.count(HostStatus.UNREACHABLE) >= 1
    assert [s.seq for s in rec.of("late")] == sorted(s.seq for s in rec.of("late"))


def test_lifecycle_event_triggers_a_poll_of_that_host(tmp_path):
    hosts = fake_fleet(tmp_path, 3, 2)
    config = make_config(poll_frequency_s=3600.0)  # only an event can cause a second poll
    rec = Recorder()
    poller = Poller(hosts, config, FAST)
    poller.subscribe(rec)
    poller.start()
    try:
        name = hosts[1].name
        assert wait_for(lambda: any(s.status is HostStatus.CONNECTED for s in rec.of(name)))
        conn = poller.connection(name)
        dom = conn.defineXML(
            FakeDomain("born-by-event").xml(name).replace("<test:runstate>1</test:runstate>", "")
        )
        dom.create()

        def seen() -> bool:
            return any(
                d.name == "born-by-event" and d.state is DomainState.RUNNING
                for s in rec.of(name)
                for d in s.domains
            )

        assert wait_for(seen)
        others = [h.name for h in hosts if h.name != name]
        assert all(len([s for s in rec.of(o) if s.status is HostStatus.CONNECTED]) == 1 for o in others)
    finally:
        poller.close()


def test_read_only_mode_refuses_mutation(tmp_path):
    [host] = fake_fleet(tmp_path, 1, 1)
    poller = Poller([host], make_config(), PollerSettings(read_only=True, open_timeout=2.0))
    try:
        assert poller.poll_once()[host.name].status is HostStatus.CONNECTED
        conn = poller.connection(host.name)
        with pytest.raises(libvirt.libvirtError) as info:
            conn.defineXML(FakeDomain("nope").xml(host.name))
        assert info.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    finally:
        poller.close()


def test_inventory_change_applies(tmp_path):
    hosts = fake_fleet(tmp_path, 2, 1)
    poller = Poller(hosts, make_config(), FAST)
    try:
        poller.poll_once()
        poller.set_hosts([hosts[0], hosts[1].with_changes(state=HostState.DISABLED)])
        snaps = poller.poll_once()
        assert snaps[hosts[1].name].status is HostStatus.DISABLED
        assert poller.connection(hosts[1].name) is None
        poller.set_hosts([hosts[0]])
        assert sorted(poller.poll_once()) == [hosts[0].name]
    finally:
        poller.close()


def test_hung_host_in_poll_once_is_unreachable_within_the_bound(tmp_path):
    hosts = fake_fleet(tmp_path, 5, 2)
    with black_hole() as port:
        hung = HostRecord("hung", f"qemu+tcp://127.0.0.1:{port}/system", "pool1", "libvirt1")
        poller = Poller([*hosts, hung], make_config(), PollerSettings(open_timeout=1.0, call_timeout=2.0))
        try:
            snaps = poller.poll_once()
        finally:
            poller.close()
    assert snaps["hung"].status is HostStatus.UNREACHABLE
    assert "no answer within 1 s while connecting" in snaps["hung"].error
    assert all(snaps[h.name].status is HostStatus.CONNECTED for h in hosts)


def test_hung_host_does_not_stop_the_others_updating(tmp_path):
    hosts = fake_fleet(tmp_path, 6, 2)
    rec = Recorder()
    settings = PollerSettings(
        open_timeout=1.0, call_timeout=2.0, workers=2, backoff_base=0.2, backoff_max=0.5
    )
    with black_hole() as port:
        hung = HostRecord("hung", f"qemu+tcp://127.0.0.1:{port}/system", "pool1", "libvirt1")
        poller = Poller([hung, *hosts], make_config(poll_frequency_s=0.05), settings)
        poller.subscribe(rec)
        poller.start()
        try:
            # While the black hole eats workers (2 of them, replaced by the watchdog), every good host
            # keeps publishing fresh polls.
            def progressed() -> bool:
                unreachable = [s for s in rec.of("hung") if s.status is HostStatus.UNREACHABLE]
                good = [len([s for s in rec.of(h.name) if s.status is HostStatus.CONNECTED]) for h in hosts]
                return len(unreachable) >= 2 and min(good) >= 10

            assert wait_for(progressed)
        finally:
            poller.close()
    assert all(s.status is not HostStatus.CONNECTED for s in rec.of("hung"))
    assert poller.stats.abandoned >= 2


def test_parse_hostdevs():
    xml = """<domain><devices>
      <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x3b' slot='0x00'
        function='0x1'/></source></hostdev>
      <hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>
    </devices></domain>"""
    assert parse_hostdevs(xml) == ("0000:3b:00.1",)
    assert parse_hostdevs("<domain/>") == ()


def test_ssh_uris_never_prompt():
    assert effective_uri("qemu+ssh://root@h/system") == "qemu+ssh://root@h/system?no_tty=1"
    assert effective_uri("qemu+ssh://h/system?keyfile=/k") == "qemu+ssh://h/system?keyfile=%2Fk&no_tty=1"
    assert effective_uri("qemu+ssh://h/system?no_tty=0") == "qemu+ssh://h/system?no_tty=0"
    assert effective_uri("qemu:///system") == "qemu:///system"


def test_backoff_doubles_then_caps_and_never_overflows() -> None:
    from tui.services.poller import backoff_delay

    assert [backoff_delay(n, 1.0, 60.0) for n in range(0, 9)] == [
        1.0,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]
    # A host unreachable for days keeps a finite, capped delay (2.0 ** 1025 would raise OverflowError).
    assert backoff_delay(10_000, 1.0, 60.0) == 60.0


def test_a_driver_without_bulk_statistics_is_read_per_domain(tmp_path):
    """The test driver's getAllDomainStats gives only the state: after one poll the reader stops
    asking for it (one call less per poll), with the same facts either way."""
    import time

    from tui.services.libvirt import HostReader

    (host,) = fake_fleet(tmp_path, 1, 5)
    conn = libvirt.open(host.uri)
    try:
        reader, plain = HostReader(), HostReader()
        plain.bulk = False
        first = reader.domains(conn, time.monotonic())
        assert not reader.bulk
        assert [d.visible() for d in first] == [d.visible() for d in plain.domains(conn, time.monotonic())]
        assert len(first) == 5
        reader.reset()  # a reconnect may reach an upgraded daemon: ask again
        assert reader.bulk
    finally:
        conn.close()
