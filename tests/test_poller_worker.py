"""The poller worker process: the console's polls and libvirt calls run in a child process.

Real parts only: libvirt test:/// hosts (whose state lives in the worker's connections, so an action
the worker did not run would not be seen), the real test bed, the real console driven by Pilot, and
real processes killed with SIGKILL. Waits are bounded conditions, never timing asserts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path

import libvirt
import pytest

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.core.live import DomainState, HostStatus
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.poller import Poller, PollerSettings
from tui.services.pollworker import WorkerPoller
from tui.services.pollworker.process import RESTART_DELAY_S

from . import testbed
from .livefixtures import make_config, wait_for
from .test_poller_starvation import black_holes
from .test_ui_actions import confirm, facts, finished, notes, on_vms_pane, running_vm
from .test_ui_console import SIZE, console, polled
from .test_ui_console import wait_for as pilot_wait

FAST = PollerSettings(open_timeout=3.0, call_timeout=10.0, backoff_base=0.05, backoff_max=0.5, period=0.3)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a zombie has exited: only its parent's wait is due)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    assert wait_for(lambda: bool(predicate()), timeout), f"gave up waiting for {what}"


def destroy_first(conn: libvirt.virConnect, name: str) -> None:
    """Run in the worker (module-level: it is pickled by reference)."""
    conn.lookupByName(name).destroy()


def names_and_state(conn: libvirt.virConnect) -> list[tuple[str, int]]:
    return sorted((d.name(), d.state()[0]) for d in conn.listAllDomains(0))


@pytest.fixture
def fleet(tmp_path: Path) -> list[HostRecord]:
    return fake_fleet(tmp_path / "fleet", 4, 3)


def test_worker_polls_and_actions_use_its_connections(fleet: list[HostRecord]) -> None:
    poller = WorkerPoller(fleet, make_config(), FAST)
    events: list[LifecycleEvent] = []
    poller.subscribe_events(events.append)
    try:
        snaps = poller.poll_once()
        assert {s.status for s in snaps.values()} == {HostStatus.CONNECTED}
        assert poller.pid is not None
        assert poller.pid != os.getpid()
        host = fleet[0].name
        vm = next(d for d in snaps[host].domains if d.state is DomainState.RUNNING)
        # run_on: a module-level function runs on the worker's connection (the test driver's state
        # is per connection: a connection of our own would not see this VM's change)
        poller.run_on(host, destroy_first, vm.name)
        assert (vm.name, libvirt.VIR_DOMAIN_SHUTOFF) in poller.run_on(host, names_and_state)
        poller.start()
        until(
            lambda: (
                next(d for d in poller.snapshots()[host].domains if d.uuid == vm.uuid).state
                is DomainState.SHUTOFF
            ),
            "the worker's poll to show the VM off",
        )
        until(lambda: any(e.vm == vm.name for e in events), "the lifecycle event")
        [event] = [e for e in events if e.vm == vm.name]
        assert (event.host, event.event, event.detail) == (host, "stopped", "destroyed")
        # the proxy: libvirt objects stay in the worker, errors keep libvirt's code
        conn = poller.connection(host)
        assert conn is not None
        dom = conn.lookupByUUIDString(vm.uuid)
        assert dom.name() == vm.name
        dom.create()
        assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        with pytest.raises(libvirt.libvirtError) as refused:
            conn.lookupByName("no-such-vm")
        assert refused.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        with pytest.raises(TypeError, match="callback"):
            conn.domainEventRegister(lambda *_: None, None)
        with pytest.raises(TypeError, match="worker owns it"):
            conn.close()
        # samples keep the console's load history and sequence numbers moving without snapshots
        seq = poller.snapshots()[host].seq
        until(lambda: poller.snapshots()[host].seq > seq, "a newer poll")
        assert len(poller.history.host(host)) >= 2
    finally:
        pid = poller.pid
        poller.close()
    assert pid is not None
    assert gone_within(pid, 2.0)


def test_in_process_run_on_is_the_same_call(fleet: list[HostRecord]) -> None:
    poller = Poller(fleet, make_config(), FAST)
    try:
        poller.poll_once()
        host = fleet[1].name
        vm = next(d for d in poller.snapshots()[host].domains if d.state is DomainState.RUNNING)
        poller.run_on(host, destroy_first, vm.name)
        assert (vm.name, libvirt.VIR_DOMAIN_SHUTOFF) in poller.run_on(host, names_and_state)
    finally:
        poller.close()


def test_killed_worker_is_restarted_and_said(fleet: list[HostRecord]) -> None:
    poller = WorkerPoller(fleet, make_config(), FAST)
    said: list[str] = []
    poller.subscribe_notices(said.append)
    try:
        poller.start()
        until(lambda: len(poller.snapshots()) == len(fleet), "the first poll")
        first = poller.pid
        assert first is not None
        seq = max(s.seq for s in poller.snapshots().values())
        os.kill(first, signal.SIGKILL)
        until(lambda: said, "the restart notice", timeout=10 + RESTART_DELAY_S)
        assert "restarted" in said[0]
        assert "-9" in said[0]
        assert poller.pid not in (None, first)
        assert not alive(first)
        host = fleet[0].name
        until(lambda: poller.snapshots()[host].seq > seq, "a poll by the new worker")
        assert poller.snapshots()[host].live
    finally:
        poller.close()


async def test_console_through_the_worker_sees_polls_and_its_action(tmp_path: Path) -> None:
    app = console(tmp_path / "demo")
    assert isinstance(app.poller, WorkerPoller)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        pid = app.poller.pid
        assert pid is not None
        assert alive(pid)
        await pilot_wait(
            pilot,
            lambda: any(d.state is DomainState.RUNNING for d in app.view.domains("pool2-01")),
            "pool2-01",
        )
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("k")
        await pilot.pause()
        await confirm(pilot, "worker test")
        await finished(pilot, app)
        # the destroy ran on the worker's connection: only then does the worker's poll show it
        await pilot_wait(
            pilot, lambda: facts(app, "pool2-01", vm.uuid).state is DomainState.SHUTOFF, "shutoff"
        )
        os.kill(pid, signal.SIGKILL)
        await pilot_wait(pilot, lambda: "restarted" in notes(app), "the console's notice")
        await pilot_wait(pilot, lambda: app.poller.pid not in (None, pid), "a new worker")
        second = app.poller.pid
    assert second is not None
    assert gone_within(second, 2.0)


def test_close_never_waits_for_a_hung_host(tmp_path: Path) -> None:
    (healthy,) = fake_fleet(tmp_path / "fleet", 1, 2)
    with black_holes(1) as (port,):
        hung = HostRecord("hung", f"qemu+tcp://127.0.0.1:{port}/system", "pool1", "libvirt1")
        # bounds far beyond the test: only close() not waiting for the hung open() can end it
        settings = PollerSettings(open_timeout=600.0, call_timeout=600.0)
        poller = WorkerPoller([hung, healthy], make_config(), settings)
        poller.start()
        until(
            lambda: (
                poller.snapshots().get(healthy.name) is not None and poller.snapshots()[healthy.name].live
            ),
            "the healthy host",
        )
        until(lambda: poller.snapshots().get("hung") is not None, "the hung host's first snapshot")
        assert poller.snapshots()["hung"].status is HostStatus.CONNECTING  # its open() is still blocked
        pid = poller.pid
        assert pid is not None
        poller.close()
        assert not alive(pid)  # close() returned with the worker gone, its open() still unanswered


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tui.services.libvirt.testdriver import fake_fleet
    from tui.services.poller import PollerSettings
    from tui.services.pollworker import WorkerPoller
    poller = WorkerPoller(fake_fleet(Path(sys.argv[1]), 2, 2), settings=PollerSettings(period=0.2))
    poller.start()
    while not poller.snapshots():
        time.sleep(0.05)
    print(poller.pid, flush=True)
    time.sleep(600)
    """
)


def test_no_orphan_when_the_console_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(tmp_path / "fleet")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert alive(worker)
        parent.kill()
        parent.wait()
        assert gone_within(worker, 5.0), "the worker outlived its SIGKILLed parent"
    finally:
        with contextlib.suppress(ProcessLookupError):
            parent.kill()


URIS = testbed.testbed_uris()


@pytest.mark.kvm
@pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
def test_real_host_through_the_worker() -> None:
    assert URIS is not None
    name = f"vmdeck-test-worker-{uuidlib.uuid4().hex[:8]}"
    xml = testbed.tiny_domain_xml(
        name, str(uuidlib.uuid4()), domain_type="kvm" if testbed.testbed_kvm() else "qemu"
    )
    poller = WorkerPoller([HostRecord("a", URIS[0], "pool1", "libvirt1")], make_config(), FAST)
    events: list[LifecycleEvent] = []
    poller.subscribe_events(events.append)
    try:
        poller.start()
        until(lambda: poller.snapshots().get("a") is not None and poller.snapshots()["a"].live, "host A")
        conn = poller.connection("a")
        assert conn is not None
        dom = conn.defineXML(xml)
        dom.create()
        until(
            lambda: any(
                d.name == name and d.state is DomainState.RUNNING for d in poller.snapshots()["a"].domains
            ),
            "the worker's poll to show the new guest running",
        )
        until(lambda: any(e.vm == name and e.event == "started" for e in events), "the started event")
        dom.destroy()
        until(
            lambda: any(
                d.name == name and d.state is DomainState.SHUTOFF for d in poller.snapshots()["a"].domains
            ),
            "the guest off",
        )
    finally:
        testbed.remove_test_objects(URIS[0], name)
        poller.close()
