"""Load history: fixed-size rings per host and VM (bounded memory whatever the number of polls),
fed by the poller from real test-driver hosts; samples older than an hour are not returned."""

from __future__ import annotations

import math
import sys
from array import array
from pathlib import Path

from textual.widgets import Static

from tui.console.dialogs import HostDetailScreen
from tui.console.text import spark
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, NodeFacts
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.loadhistory import FIRST_SLOTS, HOST_BYTES, SLOTS, VM_BYTES, WINDOW_S, LoadHistory, Ring
from tui.services.poller import Poller, PollerSettings

from .livefixtures import make_config
from .test_ui_console import SIZE, console, polled, select_host, table_rows, wait_for

FAST = PollerSettings(open_timeout=2.0, call_timeout=5.0, backoff_base=0.05, backoff_max=0.2)


def test_ring_keeps_the_last_slots_oldest_first() -> None:
    ring = Ring(1)
    for i in range(SLOTS + 25):
        ring.add(float(i), float(i) / 2)
    rows = ring.read(since=0.0)
    assert len(rows) == SLOTS  # bounded: the first 25 were overwritten
    assert rows[0] == (25.0, 12.5)
    assert rows[-1] == (float(SLOTS + 24), (SLOTS + 24) / 2)
    assert [r[0] for r in ring.read(since=float(SLOTS + 20))] == [float(SLOTS + t) for t in range(20, 25)]


def _buffer_bytes(ring: Ring) -> int:
    """The bytes the ring's buffers have allocated (what sys.getsizeof counts past an empty array),
    spare room included."""
    return sum(sys.getsizeof(a) - sys.getsizeof(array(a.typecode)) for a in (ring._times, *ring._columns))


def test_bytes_per_host_and_vm() -> None:
    assert HOST_BYTES == SLOTS * (8 + 4 + 4)
    assert VM_BYTES == SLOTS * (8 + 4)
    host, vm = Ring(2), Ring(1)
    # A new ring holds room for a few samples only: a first poll of many VMs allocates little.
    assert _buffer_bytes(host) == FIRST_SLOTS * (8 + 4 + 4)
    assert _buffer_bytes(vm) == FIRST_SLOTS * (8 + 4)
    for i in range(SLOTS + 3):
        host.add(float(i), 0.5, 0.25)
        vm.add1(float(i), 1.0)
        assert len(host.read(since=0.0)) == min(i + 1, SLOTS)
    # Full and wrapped: exactly the design's bytes, never more however many polls follow.
    assert _buffer_bytes(host) == HOST_BYTES
    assert _buffer_bytes(vm) == VM_BYTES
    assert [r[0] for r in vm.read(since=0.0)] == [float(t) for t in range(3, SLOTS + 3)]


def test_a_growing_ring_reads_what_was_added() -> None:
    ring = Ring(2)
    added = FIRST_SLOTS * 2 + 1  # past two doublings
    for i in range(added):
        ring.add(float(i), float(i), -float(i))
    assert ring.read(since=0.0) == [(float(i), float(i), -float(i)) for i in range(added)]
    assert ring.read(since=0.0, last=2) == [(float(i), float(i), -float(i)) for i in (added - 2, added - 1)]


def test_old_samples_are_not_returned_and_gone_vms_are_forgotten() -> None:
    node = NodeFacts("x86_64", 64 << 30, 16, 2000, 1, 1, 8, 2)
    history = LoadHistory()

    vm = DomainFacts("a", "u-1", DomainState.RUNNING, 4, 16 << 30, 16 << 30, cpu_rate=2.0)
    snap = HostSnapshot("h", "test:///", HostStatus.CONNECTED, node=node, domains=(vm,), polled_at=1000.0)
    history.record(snap, at=1000.0)
    history.record(snap, at=1000.0 + WINDOW_S - 1)
    [(at, cpu, memory)] = history.host("h", now=1000.0 + WINDOW_S + 5)  # the first is over an hour old
    assert at == 1000.0 + WINDOW_S - 1
    assert math.isclose(cpu, 2.0 / 16)
    assert math.isclose(memory, 0.25)
    assert [v for _t, v in history.vm("h", "u-1", now=1000.0 + WINDOW_S)] == [2.0, 2.0]
    history.record(HostSnapshot("h", "test:///", HostStatus.CONNECTED, node=node, polled_at=9e3), at=9e3)
    assert history.vm("h", "u-1", now=9e3) == []


def test_poller_records_every_connected_poll(tmp_path: Path) -> None:
    hosts = fake_fleet(tmp_path, 3, 4)
    poller = Poller(hosts, make_config(), FAST)
    try:
        for _ in range(3):
            snaps = poller.poll_once()
    finally:
        poller.close()
    for name, snap in snaps.items():
        rows = poller.history.host(name)
        assert len(rows) == 3
        assert all(0.0 <= memory <= 1.0 for _t, _cpu, memory in rows)
        expected = sum(d.memory for d in snap.domains if d.state is DomainState.RUNNING) / snap.node.memory  # type: ignore[union-attr]
        assert math.isclose(rows[-1][2], expected, rel_tol=1e-6)
        for dom in snap.domains:
            assert len(poller.history.vm(name, dom.uuid)) == 3


async def test_trend_column_and_host_detail_show_the_load_history(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        name = "pool2-05"
        for _ in range(4):
            app.poller.request_poll(name)  # type: ignore[union-attr]
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: len(app.poller.history.host(name)) >= 3, "three samples")  # type: ignore[union-attr]
        cpu = [row[1] for row in app.poller.history.host(name)]  # type: ignore[union-attr]
        assert any(v > 0 for v in cpu)  # the demo's running VMs keep CPUs busy
        await select_host(pilot, name)  # on screen: its Trend cell follows the history
        app.panes["hosts"].refresh_trends()  # what the pane's timer runs
        await pilot.pause()
        trend = table_rows(app)[name][8]
        assert len(trend) >= 3
        assert trend == app.view.trend(name) == spark(app.view.load_series(name)[0], width=16)
        assert app.panes["hosts"]._rows[name][8] == trend  # the model too (filter, sort)
        await select_host(pilot, name)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HostDetailScreen)
        summary = str(app.screen.query_one("#detail-summary", Static).render())
        assert "CPU use" in summary
        assert "Memory use" in summary
        assert "Cost" in summary


def test_ring_reads_only_the_newest_when_asked() -> None:
    ring = Ring(1)
    for i in range(10):
        ring.add(float(i), float(i))
    assert [r[0] for r in ring.read(since=0.0, last=3)] == [7.0, 8.0, 9.0]
    assert ring.read(since=0.0, last=0) == []
