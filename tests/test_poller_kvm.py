"""The poller against real libvirtd hosts with tiny KVM guests (scripts/libvirt-testbed.sh)."""

from __future__ import annotations

import contextlib
import uuid as uuidlib

import libvirt
import pytest

from tui.core.hosts import HostRecord
from tui.core.live import DomainState, HostStatus, allocation
from tui.services.poller import Poller, PollerSettings

from . import testbed
from .livefixtures import Recorder, make_config, wait_for
from .testbed import tiny_domain_xml

pytestmark = pytest.mark.kvm

URIS = testbed.testbed_uris()
needs_testbed = pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root "
    "(needs /dev/kvm; `bash scripts/setup.sh test` installs and starts it)",
)


@pytest.fixture
def guests():
    """Define and start tiny guests on host A; destroy and undefine them afterwards."""
    assert URIS is not None
    conn = libvirt.open(URIS[0])
    made: list[libvirt.virDomain] = []

    def make(count: int, vcpus: int = 1) -> list[str]:
        names = []
        for _ in range(count):
            name = f"vmdeck-test-poll-{uuidlib.uuid4().hex[:8]}"
            xml = tiny_domain_xml(
                name,
                str(uuidlib.uuid4()),
                vcpus=vcpus,
                max_vcpus=2,
                domain_type="kvm" if testbed.testbed_kvm() else "qemu",
            )
            dom = conn.defineXML(xml)
            made.append(dom)
            dom.create()
            names.append(name)
        return names

    yield conn, make
    for dom in made:
        for step in (dom.destroy, dom.undefine):
            with contextlib.suppress(libvirt.libvirtError):
                step()
    conn.close()


@needs_testbed
def test_real_host_domains_and_allocation(guests):
    conn, make = guests
    names = make(3, vcpus=2)
    host = HostRecord("a", URIS[0], "pool1", "libvirt1")
    poller = Poller([host], make_config(), PollerSettings(open_timeout=5.0))
    try:
        poller.poll_once()
        snap = poller.poll_once()["a"]  # the second poll has CPU-time rates
        assert poller.connection("a") is not None
    finally:
        poller.close()
    assert snap.status is HostStatus.CONNECTED
    mine = {d.name: d for d in snap.domains if d.name in names}
    assert sorted(mine) == sorted(names)
    for dom in mine.values():
        assert (dom.state, dom.vcpus, dom.memory) == (DomainState.RUNNING, 2, 65536 * 1024)
        assert dom.cpu_time_ns > 0
        assert dom.cpu_rate is not None
        assert dom.cpu_rate >= 0
    alloc = allocation(host, snap, make_config())
    running = [d for d in snap.domains if d.state.holds_resources]
    assert alloc.vms == len(running)
    assert alloc.vcpus == sum(d.vcpus for d in running)
    assert snap.node.memory > 0
    assert snap.node.cpus > 0


@needs_testbed
def test_real_lifecycle_event_triggers_poll(guests):
    conn, make = guests
    [name] = make(1)
    rec = Recorder()
    poller = Poller([HostRecord("a", URIS[0], "pool1", "libvirt1")], make_config(3600.0), PollerSettings())
    poller.subscribe(rec)
    poller.start()
    try:
        assert wait_for(lambda: any(s.status is HostStatus.CONNECTED for s in rec.of("a")))
        conn.lookupByName(name).destroy()

        def stopped() -> bool:
            return any(
                d.name == name and d.state is DomainState.SHUTOFF for s in rec.of("a") for d in s.domains
            )

        assert wait_for(stopped)
    finally:
        poller.close()


@needs_testbed
def test_two_real_hosts_read_only():
    hosts = [HostRecord("a", URIS[0], "pool1", "libvirt1"), HostRecord("b", URIS[1], "pool1", "libvirt1")]
    poller = Poller(hosts, make_config(), PollerSettings(read_only=True))
    try:
        snaps = poller.poll_once()
        with pytest.raises(libvirt.libvirtError) as info:
            poller.connection("b").defineXML(tiny_domain_xml("vmdeck-test-ro", str(uuidlib.uuid4())))
        assert info.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    finally:
        poller.close()
    assert {s.status for s in snaps.values()} == {HostStatus.CONNECTED}


@needs_testbed
def test_bulk_statistics_give_the_facts_of_per_domain_calls(guests):
    """One getAllDomainStats round trip replaces an info() per domain: the facts are the same, for
    running and shut-off guests alike."""
    import time

    from tui.services.libvirt import HostReader

    conn, make = guests
    names = make(2)
    conn.lookupByName(names[1]).destroy()  # one running, one shut off
    bulk, single = HostReader(), HostReader()
    single.bulk = False
    fast = {d.name: d for d in bulk.domains(conn, time.monotonic()) if d.name in names}
    slow = {d.name: d for d in single.domains(conn, time.monotonic()) if d.name in names}
    assert bulk.bulk, "qemu reports every field in bulk: no fallback expected"
    assert sorted(fast) == sorted(names)
    assert {n: d.visible() for n, d in fast.items()} == {n: d.visible() for n, d in slow.items()}
    assert fast[names[0]].state is DomainState.RUNNING
    assert fast[names[0]].cpu_time_ns > 0
    assert fast[names[1]].state is DomainState.SHUTOFF
    # A stopped guest's CPU time no longer moves: bulk and info() agree on it exactly.
    assert fast[names[1]].cpu_time_ns == slow[names[1]].cpu_time_ns == conn.lookupByName(names[1]).info()[4]


@needs_testbed
def test_a_reader_times_both_ways_and_keeps_cpu_rates_within_one(guests):
    """The reader times the bulk call and info() on its first poll and reads by the cheaper way (on
    QEMU the two count CPU time differently): the facts are the same either way, a CPU rate never
    spans the two ways (none in the poll after a change), and the next poll has one again."""
    import time

    from tui.services.libvirt import HostReader

    conn, make = guests
    names = make(2)
    reader = HostReader()

    def poll() -> dict[str, object]:
        return {d.name: d for d in reader.domains(conn, time.monotonic()) if d.name in names}

    first = poll()
    assert sorted(first) == sorted(names)
    assert reader.bulk, "qemu reports every field in bulk: both ways stay open"
    chosen = reader.way.in_bulk
    time.sleep(0.05)
    steady = poll()
    assert reader.way.in_bulk is chosen  # no timing before RECHECK_POLLS polls: the way holds
    assert all(d.cpu_rate is not None for d in steady.values())
    reader.way.in_bulk = not chosen  # as a later timing would, had the network changed
    time.sleep(0.05)
    switched = poll()
    assert all(d.cpu_rate is None for d in switched.values())
    assert {n: d.visible() for n, d in switched.items()} == {n: d.visible() for n, d in steady.items()}
    time.sleep(0.05)
    assert all(d.cpu_rate is not None for d in poll().values())
