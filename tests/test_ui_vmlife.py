"""A VM's life in the console, driven with Pilot on the demo fleet (real libvirt test:/// hosts):
power on with `s` on a shut-off VM, suspend/resume and their refusals before any question, the VM
detail (Enter) read from the host with a snapshot taken from it, the profile detail, and the
serial-console key where the terminal cannot be handed over (Pilot's headless driver)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static, TabbedContent

from tui.console.dialogs import ActionScreen
from tui.console.profiledetail import ProfileDetailScreen
from tui.console.vmdetail import VmDetailScreen
from tui.core.live import DomainState

from .test_ui_actions import audit, confirm, facts, finished, notes, on_vms_pane, running_vm
from .test_ui_console import SIZE, console, polled, wait_for


async def test_s_on_a_shut_off_vm_powers_it_on(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        host, vm = next(
            (h, d)
            for h in sorted(app.view.records)
            for d in app.view.domains(h)
            if d.state is DomainState.SHUTOFF
        )
        await on_vms_pane(pilot, host, vm)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ActionScreen)
        assert f"Power on {vm.name} on {host}" in str(app.screen.query_one("#action-title", Static).render())
        await confirm(pilot, "back to work")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, host, vm.uuid).state is DomainState.RUNNING, "running")
        [entry] = audit(demo, "vm.power-on")
        assert (entry.host, entry.reason, entry.after["result"]) == (host, "back to work", "ok")
        assert "cost there" in notes(app)


async def test_suspend_resume_and_a_refusal_before_any_question(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("u")  # resume a running VM: refused at once, no dialog
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert "not suspended" in notes(app)
        await pilot.press("z")
        await pilot.pause()
        await confirm(pilot, "pause it")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, "pool2-01", vm.uuid).state is DomainState.PAUSED, "paused")
        await on_vms_pane(pilot, "pool2-01", facts(app, "pool2-01", vm.uuid))
        await pilot.press("u")
        await pilot.pause()
        await confirm(pilot, "go on")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, "pool2-01", vm.uuid).state is DomainState.RUNNING, "running")
        assert [e.after["result"] for e in audit(demo, "vm.suspend")] == ["ok"]
        assert [e.after["result"] for e in audit(demo, "vm.resume")] == ["ok"]


async def test_enter_opens_the_vm_detail_and_t_takes_a_snapshot(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VmDetailScreen)
        await wait_for(pilot, lambda: screen.info is not None, "the VM's facts from its host")
        summary = str(screen.query_one("#vmd-summary", Static).render())
        assert f"VM {vm.name}" in summary
        assert f"vCPUs {vm.vcpus} of" in summary
        assert "<domain" in screen.info.xml if screen.info else False
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, ActionScreen)
        await confirm(pilot, "s1", "before the upgrade")
        await finished(pilot, app)
        [entry] = audit(demo, "vm.snapshot.create")
        assert entry.after["result"] == "ok", entry.after
        await pilot.press("g")
        await wait_for(
            pilot, lambda: screen.info is not None and [s.name for s in screen.info.snapshots] == ["s1"], "s1"
        )
        snaps = screen.query_one("#vmd-snapshots", DataTable)
        assert snaps.row_count == 1
        history = screen.query_one("#vmd-history", DataTable)
        assert any("vm.snapshot.create" in str(history.get_row_at(i)) for i in range(history.row_count))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, VmDetailScreen)


async def test_enter_on_a_profile_shows_devices_cost_function_and_hosts(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        gpu = next(k.value for k in table.rows if app.view.config.hardware_profiles[str(k.value)].devices)
        table.move_cursor(row=table.get_row_index(gpu))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProfileDetailScreen)
        profile = app.view.config.hardware_profiles[str(gpu)]
        assert screen.query_one("#pd-devices", DataTable).row_count == len(profile.devices)
        terms = screen.query_one("#pd-terms", DataTable)
        assert [str(terms.get_row_at(i)[0]) for i in range(3)] == ["vms", "vcpus", "memory"]
        hosts = screen.query_one("#pd-hosts", DataTable)
        assert hosts.row_count == sum(1 for r in app.view.records.values() if r.profile == gpu)


async def test_console_key_says_why_when_the_terminal_cannot_be_handed_over(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("o")
        await pilot.pause()
        assert f"vmdeck vms console {vm.name}" in notes(app)


async def test_undefine_lists_the_volumes_first_and_refuses_a_running_vm(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("D")
        await pilot.pause()
        assert not isinstance(app.screen, ActionScreen)
        assert "stop or destroy it before undefining it" in notes(app)
        host, off = next(
            (h, d)
            for h in sorted(app.view.records)
            for d in app.view.domains(h)
            if d.state is DomainState.SHUTOFF
        )
        await on_vms_pane(pilot, host, off)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionScreen), "the confirmation")
        what = str(app.screen.query_one("#action-what", Static).render())
        assert f"Removes {off.name}'s definition" in what
        assert "none in the realm's pools" in what  # the demo's VMs have no drive in a realm pool
        await confirm(pilot, "decommissioned")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, host, off.uuid) is None, "the VM gone from the view")
        [entry] = audit(demo, "vm.undefine")
        assert (entry.reason, entry.after["result"]) == ("decommissioned", "ok")


async def test_the_vm_detail_shown_again_starts_afresh_on_the_new_vm(tmp_path: Path) -> None:
    """The VMs pane shows one detail screen for every VM (vmdetail.py): opened on a second VM
    after the first was read and its XML tab shown, it is on the Overview tab with the second
    VM's facts only, and its tables hold no row of the first."""
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        first = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", first)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VmDetailScreen)
        await wait_for(pilot, lambda: screen.info is not None, "the first VM's facts")
        screen.query_one("#vmd-tabs", TabbedContent).active = "vmd-tab-xml"
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        second = next(d for d in app.view.domains("pool2-01") if d.uuid != first.uuid)
        await on_vms_pane(pilot, "pool2-01", second)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # the same screen, shown anew
        assert screen.query_one("#vmd-tabs", TabbedContent).active == "vmd-tab-overview"
        summary = str(screen.query_one("#vmd-summary", Static).render())
        assert f"VM {second.name} " in summary
        assert first.name not in summary
        await wait_for(pilot, lambda: screen.info is not None, "the second VM's facts")
        assert screen.info is not None
        assert screen.info.uuid == second.uuid
        assert f"VM {second.name} " in str(screen.query_one("#vmd-summary", Static).render())
