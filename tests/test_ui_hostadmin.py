"""Host administration in the console, driven with Pilot: add (URI rules, then a real connection),
edit, remove (refused while vmdeck's VMs run there), reconcile, the realm's pools, read-only mode.

Real parts: the sample config, real store directories, the demo's libvirt test:/// hosts, and the
real libvirtd test bed (tests/testbed.py) for the URI check and the pools — where every object a
test creates carries its own prefix and is removed afterwards (others' domains may be there).
Each test asserts on the store and its audit log, not only on what is shown.
"""

from __future__ import annotations

import shutil
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Input, SelectionList, Static

from tui.console.app import VmdeckApp, make_app
from tui.console.dialogs import ActionScreen
from tui.console.hostadmin import HostFormScreen, ReconcileScreen
from tui.console.launch import build_console
from tui.console.session import Session
from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainState, ManagedVm
from tui.core.live.reconcile import ReconcileKind
from tui.core.model import HardwareProfile, Realm, VmConfig
from tui.services.config import load_config
from tui.services.poller import PollerSettings
from tui.services.store import Store

from . import testbed
from .conftest import SAMPLE_CONFIG
from .test_ui_actions import finished, on_vms_pane, running_vm
from .test_ui_console import SIZE, console, polled, select_host, table_rows, wait_for

URIS = testbed.testbed_uris()
needs_testbed = pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
TAG = uuidlib.uuid4().hex[:6]
PREFIX = f"vmdeck-test-hostadmin-{TAG}"
# Host B's socket directory with a socket that does not exist: allowed by the URI rules, refused by
# the daemon at once (no socket), so the failed connection is real and fast.
DEAD_URI = f"qemu+unix:///system?socket={testbed.TESTBED_DIR}/{PREFIX}-nowhere/libvirt-sock"


def empty_console(db: Path, read_only: bool = False) -> VmdeckApp:
    return build_console(SAMPLE_CONFIG, db, read_only=read_only)


def entries(db: Path, what: str) -> list:
    return [e for e in Store(db).audit() if e.what == what]


def status(app: VmdeckApp) -> str:
    return str(app.screen.query_one(".action-status", Static).render())


def section(app: VmdeckApp, name: str) -> str:
    return str(app.screen.query_one(f"#hostform-{name}", Static).render())


def refusals(app: VmdeckApp) -> list[str]:
    return [str(n.message) for n in app._notifications if n.title == "Refused"]


async def fill(pilot: Pilot[None], values: dict[str, str]) -> None:
    """Set the form's fields by id (prefilled ones replaced), then enter on the last one."""
    screen = pilot.app.screen
    for key, value in values.items():
        screen.query_one(f"#hostform-{key}", Input).value = value
    screen.set_focus(screen.query_one("#hostform-reason", Input))
    await pilot.press("enter")
    await pilot.pause()


async def confirmed_after_probe(pilot: Pilot[None], app: VmdeckApp) -> str:
    await wait_for(pilot, lambda: "Confirm:" in status(app), "the URI check and the question")
    return status(app)


# --- the empty store, the palette -------------------------------------------------------------------------
async def test_empty_store_says_how_to_add_the_first_host(tmp_path: Path) -> None:
    async with empty_console(tmp_path / "db").run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.pause()
        hint = app.screen.query_one("#hosts-empty", Static)
        text = str(hint.render())
        assert hint.display
        assert "Press a to add the first host" in text
        assert "vmdeck hosts add NAME --uri URI --profile ID" in text
    async with empty_console(tmp_path / "db", read_only=True).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(pilot.app.screen.query_one("#hosts-empty", Static).render())
        assert "read-only" in text
        assert "Press a" not in text  # the key is not offered where it is refused


async def test_the_palette_finds_add_and_opens_the_form(tmp_path: Path) -> None:
    async with empty_console(tmp_path / "db").run_test(size=SIZE) as pilot:
        app = pilot.app
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"add")
        await pilot.pause(0.3)
        options = app.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Add a host" in p for p in prompts), prompts
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HostFormScreen), "the add form")
        titles = {title for title, _help, _run in app.palette_actions()}
        assert {"Add a host", "Reconcile: adopt or forget VMs"} <= titles


# --- add -------------------------------------------------------------------------------------------------
@needs_testbed
async def test_add_connects_to_the_uri_then_saves_and_audits(tmp_path: Path) -> None:
    assert URIS is not None
    db = tmp_path / "db"
    async with empty_console(db).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HostFormScreen)
        await fill(
            pilot,
            {"name": "bed-a", "uri": URIS[0], "profile": "pool1", "realm": "libvirt1", "reason": "new rack"},
        )
        question = await confirmed_after_probe(pilot, app)
        assert "add host bed-a (Enabled, profile pool1, realm libvirt1)" in question
        assert "connected: libvirt " in question
        assert section(app, "probe").startswith("URI check OK")
        await pilot.press("y")
        await finished(pilot, app)
        await wait_for(pilot, lambda: "bed-a" in table_rows(app), "the new host's row")
        assert not app.screen.query_one("#hosts-empty", Static).display
    record = Store(db).host("bed-a")
    assert record == HostRecord("bed-a", URIS[0], "pool1", "libvirt1")
    [entry] = entries(db, "host.add")
    assert (entry.reason, entry.after["uri"]) == ("new rack", URIS[0])


@needs_testbed
async def test_add_with_a_bad_uri_refuses_or_saves_only_when_confirmed(tmp_path: Path) -> None:
    db = tmp_path / "db"
    async with empty_console(db).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        await pilot.press("a")
        await pilot.pause()
        # The CLI's rules first: a transport that runs a program never reaches a connection.
        await fill(
            pilot,
            {"name": "evil", "uri": "qemu+ext:///system?command=/bin/sh", "profile": "pool1", "reason": "x"},
        )
        assert "ext runs a program: refused" in status(app)
        assert "Confirm:" not in status(app)
        assert not isinstance(app.screen, HostFormScreen) or not app.screen.probes
        # A URI the rules accept but nothing answers: the failure is shown, and n saves nothing.
        await fill(
            pilot, {"name": "dead", "uri": DEAD_URI, "realm": "libvirt1", "reason": "racked, not cabled"}
        )
        question = await confirmed_after_probe(pilot, app)
        assert "connection FAILED" in question
        assert "save anyway" in question
        assert section(app, "probe").startswith("URI check FAILED")
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert Store(db).hosts() == []
        # The same again, and y: the admin's decision, saved with the reason.
        await pilot.press("a")
        await pilot.pause()
        await fill(
            pilot,
            {
                "name": "dead",
                "uri": DEAD_URI,
                "profile": "pool1",
                "realm": "libvirt1",
                "state": "disabled",
                "reason": "racked",
            },
        )
        await confirmed_after_probe(pilot, app)
        await pilot.press("y")
        await finished(pilot, app)
    record = Store(db).host("dead")
    assert record is not None
    assert record.state is HostState.DISABLED
    assert [e.reason for e in entries(db, "host.add")] == ["racked"]


# --- edit ---------------------------------------------------------------------------------------------------
async def test_edit_changes_the_record_and_audits_before_and_after(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-01")
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, HostFormScreen)
        assert app.screen.query_one("#hostform-profile", Input).value == "pool1"
        await fill(
            pilot, {"profile": "pool2", "nat_ip": "192.0.2.7", "nat_port": "30000", "reason": "re-cabled"}
        )
        question = status(app)
        assert "change pool1-01: nat → 192.0.2.7:30000+, profile → pool2" in question
        assert "connected" not in question  # the URI did not change: no connection needed
        await pilot.press("y")
        await finished(pilot, app)
        assert app.view.records["pool1-01"].profile == "pool2"
    record = Store(demo / "db").host("pool1-01")
    assert record is not None
    assert (record.profile, record.nat is not None) == ("pool2", True)
    [entry] = entries(demo / "db", "host.edit")
    assert (entry.before["profile"], entry.after["profile"], entry.reason) == ("pool1", "pool2", "re-cabled")


# --- remove ---------------------------------------------------------------------------------------------------
async def test_remove_is_refused_while_vmdecks_vm_runs_and_allowed_after(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    app = console(demo)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        host = "pool2-01"
        vm = running_vm(app, host)
        Store(demo / "db").record_vm(ManagedVm(vm.uuid, vm.name, host), reason="started by vmdeck")
        await select_host(pilot, host)
        await pilot.press("delete")
        await wait_for(pilot, lambda: bool(refusals(app)), "the refusal")
        assert not isinstance(app.screen, ActionScreen)  # refused before any question
        [why] = refusals(app)
        assert f"host '{host}' still runs vmdeck's VM(s): {vm.name} (running)" in why
        await wait_for(pilot, lambda: bool(entries(demo / "db", "console.refused")), "the audited refusal")
        # Stop it (destroy, through the console), then the host can go.
        await on_vms_pane(pilot, host, vm)
        await pilot.press("k", *"decommission", "enter")
        await pilot.pause()
        await pilot.press("y")
        await finished(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                next(d for d in app.view.domains(host) if d.uuid == vm.uuid).state is not DomainState.RUNNING
            ),
            "the VM to be off",
        )
        await pilot.press("1")
        await select_host(pilot, host)
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionScreen), "the remove dialog")
        assert "vmdeck's VMs recorded here: 1, none running" in str(
            app.screen.query_one("#action-vms", Static).render()
        )
        await pilot.press(*"decommissioned", "enter")
        await pilot.pause()
        await pilot.press("y")
        await finished(pilot, app)
        await wait_for(pilot, lambda: host not in app.view.records, "the host to leave the view")
        assert host not in table_rows(app)
    assert Store(demo / "db").host(host) is None
    [entry] = entries(demo / "db", "host.remove")
    assert (entry.host, entry.reason, entry.after) == (host, "decommissioned", None)


# --- reconcile ----------------------------------------------------------------------------------------------------
async def test_reconcile_lists_first_then_adopts_and_forgets_the_chosen(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    app = console(demo)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        gone = str(uuidlib.uuid4())
        Store(demo / "db").record_vm(ManagedVm(gone, "old-vm", "pool1-01"), reason="started long ago")
        adopt = running_vm(app, "pool1-02")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ReconcileScreen), "the reconcile list")
        screen = app.screen
        assert isinstance(screen, ReconcileScreen)
        kinds = {f.uuid: f.kind for f in screen.candidates}
        assert kinds[gone] is ReconcileKind.MISSING
        assert kinds[adopt.uuid] is ReconcileKind.UNMANAGED
        listing = screen.query_one(SelectionList)
        assert app.screen.focused is listing
        assert listing.render_line(0).text.startswith("▐ ▌")  # not selected: no X (not colour alone)
        await pilot.press("space")  # the first candidate, highlighted: selected, then deselected
        assert len(listing.selected) == 1
        assert listing.render_line(0).text.startswith("▐X▌")
        await pilot.press("space")
        assert listing.selected == []
        listing.select(gone)
        listing.select(adopt.uuid)
        await pilot.press("tab", *"audit cleanup", "enter")
        await pilot.pause()
        assert "adopt 1 and forget 1" in status(app)
        await pilot.press("y")
        await finished(pilot, app)
        assert "adopted" in app.activity.last
        assert "forgot old-vm" in app.activity.last
    managed = {vm.uuid: vm for vm in Store(demo / "db").managed_vms()}
    assert gone not in managed
    assert managed[adopt.uuid].host == "pool1-02"
    assert [e.reason for e in entries(demo / "db", "vm.forget")] == ["audit cleanup"]
    assert "audit cleanup" in [e.reason for e in entries(demo / "db", "vm.record")]


# --- read-only ----------------------------------------------------------------------------------------------------
async def test_read_only_refuses_every_change_before_any_question_and_hides_the_keys(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo, read_only=True).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        keybar = str(app.screen.query_one("KeyBar").render())
        assert "Add host" not in keybar
        assert "Edit host" not in keybar
        await select_host(pilot, "pool1-01")
        for key in ("a", "E", "delete", "R", "P"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen), key
        assert len(refusals(app)) == 5
        assert all("read-only mode" in r for r in refusals(app))
        actions = {title: run for title, _help, run in app.palette_actions()}
        actions["Add a host"]()
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert len(refusals(app)) == 6
        await app.workers.wait_for_complete()
    whats = {e.what for e in Store(demo / "db").audit()}
    assert whats == {"host.add", "console.refused"}  # the demo's set-up and the refusals only
    assert len(Store(demo / "db").hosts()) == 24


async def test_help_lists_the_host_administration_keys(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text", Static).render())
        for key, what in [
            ("a", "Add host"),
            ("E", "Edit host"),
            ("del", "Remove host"),
            ("R", "Reconcile VMs"),
            ("p", "Check pools"),
            ("P", "Create pools"),
        ]:
            assert f"  {key:<14} {what}" in text


# --- pools on a real test-bed host, in a throwaway realm ------------------------------------------------------
POOL_DIR = Path(f"/srv/{PREFIX}")


def _pools_config() -> VmConfig:
    sample = load_config(SAMPLE_CONFIG).config
    assert sample is not None
    realm = Realm(
        "scratch",
        volumes_pool=f"{PREFIX}-vm",
        drives_pool=f"{PREFIX}-drives",
        bricks_pool=f"{PREFIX}-bricks",
        snapshots_pool=f"{PREFIX}-snapshots",
    )
    profile: HardwareProfile = sample.hardware_profiles["pool1"]
    return VmConfig(sample.cost_functions, {"pool1": profile}, {"scratch": realm})


@pytest.fixture
def pools_bed(tmp_path: Path) -> Iterator[tuple[VmConfig, Path, str]]:
    assert URIS is not None
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("bed-a", URIS[0], "pool1", "scratch"))
    try:
        yield _pools_config(), db, URIS[0]
    finally:
        testbed.remove_test_objects(URIS[0], PREFIX)
        shutil.rmtree(POOL_DIR, ignore_errors=True)


@needs_testbed
@pytest.mark.kvm
async def test_pools_check_then_create_on_a_testbed_host(pools_bed: tuple[VmConfig, Path, str]) -> None:
    config, db, _uri = pools_bed
    store = Store(db)
    app = make_app(
        config,
        store.hosts(),
        session=Session("test bed", db=str(db)),
        store=store,
        poller_settings=PollerSettings(period=60.0),
    )
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        await wait_for(pilot, lambda: app.view.snapshots["bed-a"].live, "bed-a connected")
        await select_host(pilot, "bed-a")
        await pilot.press("p")
        await finished(pilot, app)
        assert app.activity.last.startswith("FAILED: pool.check bed-a: bed-a: pools not ready:")
        assert f"{PREFIX}-vm (missing)" in app.activity.last
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ActionScreen), refusals(app)
        base = app.screen.query_one("#action-base", Input)
        base.value = str(POOL_DIR)
        await pilot.press("enter", *"first boot", "enter")
        await pilot.pause()
        await pilot.press("y")
        await finished(pilot, app)
        assert app.activity.last.startswith("ok: pool.create bed-a"), app.activity.last
        await pilot.press("p")
        await finished(pilot, app)
        assert app.activity.last.startswith("ok: pool.check bed-a"), app.activity.last
    [entry] = [e for e in Store(db).audit() if e.what == "pool.create" and e.result == "ok"]
    assert entry.reason == "first boot"
