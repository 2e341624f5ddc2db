"""Many hung hosts never starve the healthy ones (issue 10 item 7).

The case from the issue: 50 hosts that accept TCP and never answer (listening sockets on 127.0.0.1)
and 50 whose Unix socket does not exist. The healthy host must keep being polled at its period while
the hung opens are still waiting for their bound, and `poll_once` must poll it too. The bounds are
generous on purpose: the old poller queued the healthy host behind the hung opens for their whole
open_timeout (4 workers, 50 hung hosts: ~2 minutes), so waiting a few seconds tells them apart.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from tui.core.hosts import HostRecord
from tui.core.live import HostStatus
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import Poller, PollerSettings

from .livefixtures import Recorder, make_config, wait_for


@contextmanager
def black_holes(count: int) -> Iterator[list[int]]:
    """`count` listening TCP ports on 127.0.0.1 that accept (kernel backlog) and never answer."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sock.listen(8)
            ports.append(sock.getsockname()[1])
        yield ports


def _bad_hosts(ports: list[int], tmp_path) -> list[HostRecord]:
    hung = [
        HostRecord(f"hung-{i:02d}", f"qemu+tcp://127.0.0.1:{port}/system", "pool1", "libvirt1")
        for i, port in enumerate(ports)
    ]
    missing = [
        HostRecord(
            f"gone-{i:02d}", f"qemu+unix:///system?socket={tmp_path}/no-such-{i}.sock", "pool1", "libvirt1"
        )
        for i in range(50)
    ]
    return hung + missing


def test_healthy_host_keeps_its_period_among_many_hung_hosts(tmp_path):
    (healthy,) = fake_fleet(tmp_path, 1, 2)
    rec = Recorder()
    # open_timeout far beyond the test: no hung open is abandoned while we watch, so nothing but the
    # poller's design can let the healthy host through.
    settings = PollerSettings(open_timeout=60.0, call_timeout=60.0, backoff_base=0.5, backoff_max=1.0)
    with black_holes(50) as ports:
        # The healthy host sorts last: in a FIFO it would be queued behind every bad one.
        hosts = [*_bad_hosts(ports, tmp_path), healthy.with_changes(name="zz-healthy")]
        poller = Poller(hosts, make_config(poll_frequency_s=0.2), settings)
        poller.subscribe(rec)
        poller.start()
        try:

            def polled_often() -> bool:
                return len([s for s in rec.of("zz-healthy") if s.status is HostStatus.CONNECTED]) >= 5

            assert wait_for(polled_often, timeout=20.0), [s.status for s in rec.of("zz-healthy")]
            # The missing sockets fail fast and are reported as unreachable meanwhile.
            assert all(
                any(s.status is HostStatus.UNREACHABLE for s in rec.of(f"gone-{i:02d}")) for i in range(50)
            )
            assert poller.snapshots()["hung-00"].status is HostStatus.CONNECTING
        finally:
            poller.close(wait=0)


def test_poll_once_polls_every_reachable_host_among_many_hung_hosts(tmp_path):
    healthy = fake_fleet(tmp_path, 3, 2)
    settings = PollerSettings(open_timeout=3.0, call_timeout=3.0)
    with black_holes(50) as ports:
        hosts = [*_bad_hosts(ports, tmp_path), *healthy]
        poller = Poller(hosts, make_config(), settings)
        try:
            snaps = poller.poll_once()
        finally:
            poller.close(wait=0)
    # Every host has a final answer: none is left "not polled" or still connecting.
    assert sorted(snaps) == sorted(h.name for h in hosts)
    for h in healthy:
        assert snaps[h.name].status is HostStatus.CONNECTED, snaps[h.name]
    for i in range(50):
        assert snaps[f"hung-{i:02d}"].status is HostStatus.UNREACHABLE
        assert "no answer within 3 s while connecting" in (snaps[f"hung-{i:02d}"].error or "")
        assert snaps[f"gone-{i:02d}"].status is HostStatus.UNREACHABLE
