"""Bulk actions in the console on the real libvirtd test bed (hosts A and B), driven with Pilot.

Each test defines its own uniquely named halt-ROM guests on host A (vmdeck-test-bulk-<tag>-*), never
assumes a host is empty (other tests' domains may be listed too: only ours are marked, through the
`/` filter and `*`), and removes what it made. The halt ROM ignores ACPI, so a graceful stop times
out for real (the shutdown timeout is 1 s here) and the VMs keep running; a destroy powers them off.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from textual.pilot import Pilot

from tui.console.app import VmdeckApp, make_app
from tui.console.session import Session
from tui.core.costs import CostFunction
from tui.core.curves import Linear
from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.model import HardwareProfile, Realm, VmConfig
from tui.services.actions import ActionSettings, CpuSpec
from tui.services.poller import PollerSettings
from tui.services.store import AuditEntry, Store

from . import testbed
from .test_ui_bulk import bulk_finished, confirm, dialog, per_target
from .test_ui_console import header, wait_for

pytestmark = pytest.mark.kvm
URIS = testbed.testbed_uris()
needs_testbed = pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
GIB = 1 << 30
SIZE = (120, 40)


def make_config() -> VmConfig:
    cf = CostFunction("c", vms=Linear(slope=1.0, base=0.0), memory=Linear(slope=1.0 / GIB, base=0.0))
    realm = Realm("r", volumes_pool="unused-vm", drives_pool="unused-drives", bricks_pool="unused-bricks")
    profile = HardwareProfile("p", cores=64, memory=64 * GIB, cost_function="c")
    return VmConfig({"c": cf}, {"p": profile}, {"r": realm})


def settings() -> ActionSettings:
    return ActionSettings(
        domain_type="kvm" if testbed.testbed_kvm() else "qemu",
        firmware=str(testbed.HALT_ROM),
        cpu=CpuSpec.custom("qemu64", ("svm",)),
        shutdown_timeout=1.0,
    )


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[tuple[Path, str, list[str]]]:
    """(store directory, name prefix, our running VMs on host A)."""
    assert URIS is not None
    prefix = f"vmdeck-test-bulk-{uuidlib.uuid4().hex[:6]}"
    db = tmp_path / "store"
    Store(db).add_hosts([HostRecord("a", URIS[0], "p", "r"), HostRecord("b", URIS[1], "p", "r")])
    names = [f"{prefix}-{i}" for i in range(1, 5)]
    conn = libvirt.open(URIS[0])
    try:
        kind = "kvm" if testbed.testbed_kvm() else "qemu"
        for name in names:
            dom = conn.defineXML(testbed.tiny_domain_xml(name, str(uuidlib.uuid4()), domain_type=kind))
            dom.create()
        yield db, prefix, names
    finally:
        conn.close()
        testbed.remove_test_objects(URIS[0], prefix)


def console(db: Path) -> VmdeckApp:
    store = Store(db)
    return make_app(
        make_config(),
        store.hosts(),
        session=Session("test bed", db=str(db)),
        store=store,
        poller_settings=PollerSettings(open_timeout=3.0, call_timeout=10.0, period=0.5),
        action_settings=settings(),
    )


def state_on_a(name: str) -> int:
    assert URIS is not None
    conn = libvirt.open(URIS[0])
    try:
        return int(conn.lookupByName(name).state()[0])
    finally:
        conn.close()


def raw(db: Path, what: str) -> list[AuditEntry]:
    return [e for e in Store(db).audit(raw=True) if e.what == what]


async def ours_marked(pilot: Pilot[None], app: VmdeckApp, prefix: str, names: list[str]) -> None:
    """On the VMs pane, once our VMs are polled: filter to them, mark all shown (`*`), clear the
    filter (the marks stay)."""
    await wait_for(pilot, lambda: {d.name for d in app.view.domains("a")} >= set(names), "our VMs polled")
    await pilot.press("4")
    await pilot.pause()
    pane = app.panes["vms"]
    pane.set_filter(prefix)
    await pilot.pause()
    await pilot.press("asterisk")
    pane.set_filter("")
    await pilot.pause()
    assert pane.marks == set(names)
    assert f"{len(names)} marked" in header(app)


@needs_testbed
async def test_bulk_stop_times_out_for_real_then_bulk_destroy_powers_off(
    bed: tuple[Path, str, list[str]],
) -> None:
    db, prefix, names = bed
    mine = names[:3]
    async with console(db).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        await ours_marked(pilot, app, f"{prefix}-[123]$", mine)
        await pilot.press("x")
        await pilot.pause()
        assert "3 VMs on 1 host" in dialog(app, "radius")
        await confirm(pilot, "bulk stop on the test bed")
        await bulk_finished(pilot, app)
        run = app.bulk.run
        assert run is not None
        assert [o.result.value for _, o in run.outcomes] == ["timed-out"] * 3
        assert all(state_on_a(n) == libvirt.VIR_DOMAIN_RUNNING for n in mine)  # ACPI ignored
        stops = raw(db, "vm.stop")
        assert per_target(stops, "intent") == dict.fromkeys(mine, 1)
        assert per_target(stops, "outcome") == dict.fromkeys(mine, 1)
        assert "3 timed out" in app.activity.last
        assert "k on the VM" in app.activity.last
        # The same VMs, marked again, destroyed in one go.
        await wait_for(pilot, lambda: not app.activity.running, "idle")
        await ours_marked(pilot, app, f"{prefix}-[123]$", mine)
        await pilot.press("k")
        await pilot.pause()
        await confirm(pilot, "bulk destroy on the test bed")
        await bulk_finished(pilot, app)
        assert all(state_on_a(n) == libvirt.VIR_DOMAIN_SHUTOFF for n in mine)
        assert state_on_a(names[3]) == libvirt.VIR_DOMAIN_RUNNING  # not marked: untouched
        destroys = raw(db, "vm.destroy")
        assert per_target(destroys, "intent") == dict.fromkeys(mine, 1)
        assert {e.result for e in destroys if e.kind == "outcome"} == {"ok"}


@needs_testbed
async def test_ctrl_c_cancels_a_bulk_stop_on_the_test_bed(bed: tuple[Path, str, list[str]]) -> None:
    db, prefix, names = bed
    async with console(db).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        await ours_marked(pilot, app, prefix, names)
        await pilot.press("x")
        await pilot.pause()
        await confirm(pilot, "cancel on the test bed")
        # Each stop waits out its 1 s timeout: cancel while the first one waits.
        await wait_for(pilot, lambda: bool(app.activity.running), "the first stop to start")
        await pilot.press("ctrl+c")
        await bulk_finished(pilot, app)
        run = app.bulk.run
        assert run is not None
        assert run.cancelled
        started = [item.vm for item, _ in run.outcomes]
        assert 1 <= len(started) < len(names)
        assert run.not_started() == len(names) - len(started)
        stops = raw(db, "vm.stop")
        assert per_target(stops, "intent") == dict.fromkeys(started, 1)
        assert per_target(stops, "outcome") == dict.fromkeys(started, 1)
        assert f"{run.not_started()} cancelled (not started)" in app.activity.last


@needs_testbed
async def test_bulk_host_state_on_the_test_bed(bed: tuple[Path, str, list[str]]) -> None:
    db, _prefix, names = bed
    async with console(db).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        await wait_for(pilot, lambda: {d.name for d in app.view.domains("a")} >= set(names), "our VMs polled")
        await pilot.press("asterisk")  # both hosts
        await pilot.press("n")
        await pilot.pause()
        radius = dialog(app, "radius")
        assert "a Enabled → No Scheduling" in radius
        assert names[0] in radius or "+" in radius  # the VMs running on A are listed
        await confirm(pilot, "bulk fence on the test bed")
        await bulk_finished(pilot, app)
        store = Store(db)
        assert [h.state for h in store.hosts()] == [HostState.NO_SCHEDULING] * 2
        changes = [e for e in store.audit() if e.what == "host.state"]
        assert sorted(e.host or "" for e in changes) == ["a", "b"]
        assert {e.reason for e in changes} == {"bulk fence on the test bed"}
