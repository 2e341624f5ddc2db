"""VM and host actions in the console, driven with Pilot on the demo (real libvirt test:/// hosts).

The demo's hosts are libvirt test-driver hosts: define/create/shutdown/destroy/setVcpus/setMemory
work, live migration does not — so migrate and drain must fail with the driver's own message. Each
test asserts on the view, on what is displayed, and on the audit log the Deck wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tui.console.app import VmdeckApp
from tui.console.dialogs import ActionScreen, HelpScreen
from tui.console.messages import ActionFinished, ActionJob
from tui.core.fleet import HostState
from tui.core.live import DomainFacts, DomainState
from tui.core.scheduling import CostEngine, FleetState, Request, explain_request
from tui.services.actions import Outcome, Result
from tui.services.store import AuditEntry, Store

from .test_ui_console import SIZE, console, header, polled, select_host, table_rows, wait_for

GIB = 1 << 30
MIGRATE_UNSUPPORTED = "this function is not supported by the connection driver: virDomainMigrate3"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def audit(demo: Path, what: str) -> list[AuditEntry]:
    return [e for e in Store(demo / "db").audit() if e.what == what]


def running_vm(app: VmdeckApp, host: str, *, plain: bool = True) -> DomainFacts:
    """A running VM of `host` (without PCI devices when `plain`)."""
    return next(
        d for d in app.view.domains(host) if d.state is DomainState.RUNNING and not (plain and d.hostdevs)
    )


def facts(app: VmdeckApp, host: str, uuid: str) -> DomainFacts | None:
    return next((d for d in app.view.domains(host) if d.uuid == uuid), None)


async def on_vms_pane(pilot: Pilot[None], host: str, vm: DomainFacts) -> None:
    await pilot.press("4")
    await pilot.pause()
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(f"{host}/{vm.uuid}"))
    await pilot.pause()


def dialog_text(app: VmdeckApp, part: str) -> str:
    return str(app.screen.query_one(f"#action-{part}", Static).render())


async def confirm(pilot: Pilot[None], *fields: str) -> None:
    """Type each field (enter after each), then answer y to the confirmation."""
    app = pilot.app
    assert isinstance(app.screen, ActionScreen)
    for text in fields:
        await pilot.press(*text, "enter")
    await pilot.pause()
    assert "Confirm:" in str(app.screen.query_one(".action-status", Static).render())
    await pilot.press("y")
    await pilot.pause()


async def finished(pilot: Pilot[None], app: VmdeckApp) -> None:
    """Wait for the action workers and for their outcomes to be shown."""
    await app.workers.wait_for_complete()
    await wait_for(pilot, lambda: not app.activity.running, "the action to finish")
    await pilot.pause()


def notes(app: VmdeckApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


def status_line(app: VmdeckApp) -> str:
    return str(app.screen.query_one("#pane-status", Static).render())


async def test_stop_shuts_the_vm_down_and_audits(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("x")
        await pilot.pause()
        assert f"Stop {vm.name} on pool2-01" in dialog_text(app, "title")
        await confirm(pilot, "maintenance window")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, "pool2-01", vm.uuid).state is DomainState.SHUTOFF, "shutoff")
        await wait_for(pilot, lambda: table_rows(app)[f"pool2-01/{vm.uuid}"][2] == "shutoff", "the row")
        assert table_rows(app)[f"pool2-01/{vm.uuid}"][6] == "-"  # no address once it is off
        [entry] = audit(demo, "vm.stop")
        assert (entry.host, entry.reason, entry.after["result"]) == ("pool2-01", "maintenance window", "ok")
        assert f"ok: vm.stop {vm.name}" in status_line(app)
        assert f"{vm.name} shut down on pool2-01" in notes(app)


async def test_destroy_powers_off_and_audits(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool1-02", plain=False)
        await on_vms_pane(pilot, "pool1-02", vm)
        await pilot.press("k")
        await pilot.pause()
        await confirm(pilot, "hung guest")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, "pool1-02", vm.uuid).state is DomainState.SHUTOFF, "shutoff")
        [entry] = audit(demo, "vm.destroy")
        assert (entry.host, entry.reason, entry.after["result"]) == ("pool1-02", "hung guest", "ok")
        assert f"{vm.name} powered off (destroyed) on pool1-02" in notes(app)


async def test_destroy_of_a_vm_already_off_is_refused_before_any_question(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = next(d for d in app.view.domains("pool2-01") if d.state is DomainState.SHUTOFF)
        await on_vms_pane(pilot, "pool2-01", vm)
        for key, verb in (("k", "destroy"), ("x", "stop")):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen)  # no reason asked, no confirmation
            assert (
                status_line(app)
                == f"REFUSED: {verb} {vm.name}: {vm.name} is not running (already shut off) — 6 Activity"
            )
        await app.workers.wait_for_complete()
        refused = audit(demo, "console.refused")
        assert [e.after["action"] for e in refused] == [f"destroy {vm.name}", f"stop {vm.name}"]
        assert audit(demo, "vm.destroy") == []


async def test_scale_changes_vcpus_live(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = next(d for d in app.view.domains("pool2-01") if d.state is DomainState.RUNNING and d.vcpus > 1)
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("c")
        await pilot.pause()
        vcpus = app.screen.query_one("#action-vcpus")
        assert vcpus.value == str(vm.vcpus)  # type: ignore[attr-defined]
        assert app.screen.query_one("#action-memory").value == f"{vm.memory // GIB}GiB"  # type: ignore[attr-defined]
        vcpus.value = "1"  # type: ignore[attr-defined]
        app.screen.query_one("#action-reason").focus()
        await confirm(pilot, "right-size")
        await finished(pilot, app)
        await wait_for(pilot, lambda: facts(app, "pool2-01", vm.uuid).vcpus == 1, "1 vCPU")
        await wait_for(pilot, lambda: table_rows(app)[f"pool2-01/{vm.uuid}"][3] == "1", "the row")
        [entry] = audit(demo, "vm.scale")
        assert entry.after["result"] == "ok"
        assert entry.after["after"] == {"vcpus": 1, "memory": vm.memory}
        assert entry.reason == "right-size"


async def test_scale_memory_reports_the_test_drivers_refusal(demo: Path) -> None:
    # The scale action sets memory with AFFECT_LIVE | AFFECT_CONFIG (what qemu does in one call);
    # libvirt's test driver refuses that combination, and the console shows its message as it is.
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one("#action-memory").value = "2GiB"  # type: ignore[attr-defined]
        app.screen.query_one("#action-reason").focus()
        await confirm(pilot, "shrink")
        await finished(pilot, app)
        [entry] = audit(demo, "vm.scale")
        assert entry.after["result"] == "failed"
        assert "mutually exclusive" in entry.after["message"]
        assert status_line(app).startswith(f"FAILED: vm.scale {vm.name}")
        assert facts(app, "pool2-01", vm.uuid).memory == vm.memory


async def test_scale_dialog_rejects_bad_input_before_confirming(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one("#action-memory").value = "4Gib"  # type: ignore[attr-defined]
        app.screen.query_one("#action-reason").focus()
        await pilot.press(*"why", "enter")
        await pilot.pause()
        status = str(app.screen.query_one("#action-status", Static).render())
        assert "did you mean" in status
        assert "Confirm:" not in status
        await pilot.press("escape")
        assert audit(demo, "vm.scale") == []


async def test_migrate_on_the_test_driver_fails_with_its_real_message(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("m")
        await pilot.pause()
        await confirm(pilot, "", "rebalance")  # empty target: the scheduler's best other host
        await finished(pilot, app)
        [entry] = audit(demo, "vm.migrate")
        assert entry.after["result"] == "failed"
        assert MIGRATE_UNSUPPORTED in entry.after["message"]
        state = FleetState(app.view.config, app.deck.fleet("libvirt2", unschedulable=("pool2-01",)))  # type: ignore[union-attr]
        best = explain_request(state, CostEngine(state), Request.of(vm.vcpus, vm.memory)).host
        assert entry.after["to"] == best
        assert MIGRATE_UNSUPPORTED in notes(app)
        assert status_line(app).startswith(f"FAILED: vm.migrate {vm.name}")
        assert facts(app, "pool2-01", vm.uuid).state is DomainState.RUNNING  # nothing moved


async def test_migrate_to_a_named_disabled_host_is_refused(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("m")
        await confirm(pilot, "pool2-10", "test")
        await finished(pilot, app)
        [entry] = audit(demo, "vm.migrate")
        assert entry.after["result"] == "refused"
        assert "host 'pool2-10' is Disabled: it accepts no VMs" in status_line(app)


async def test_start_places_through_the_scheduler(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        state = FleetState(app.view.config, app.deck.fleet("libvirt2"))  # type: ignore[union-attr]
        expected = explain_request(state, CostEngine(state), Request.of(2, 4 * GIB)).host
        await select_host(pilot, "pool2-02")  # its realm, libvirt2, is offered
        await pilot.press("s")
        await pilot.pause()
        assert app.screen.query_one("#action-realm").value == "libvirt2"  # type: ignore[attr-defined]
        await confirm(pilot, "web-01", "2 4GiB", "", "new service")
        await finished(pilot, app)
        [entry] = audit(demo, "vm.start")
        assert entry.after["result"] == "ok", entry.after["message"]
        assert entry.host == expected
        assert entry.reason == "new service"
        await wait_for(pilot, lambda: any(d.name == "web-01" for d in app.view.domains(expected)), "the VM")
        started = next(d for d in app.view.domains(expected) if d.name == "web-01")
        assert (started.state, started.vcpus, started.memory) == (DomainState.RUNNING, 2, 4 * GIB)
        await pilot.press("4")
        await pilot.pause()
        assert table_rows(app)[f"{expected}/{started.uuid}"][:3] == ["web-01", expected, "running"]
        assert f"started web-01 on {expected}" in notes(app)


async def test_drain_shows_plan_and_unmovable_then_reports_each_migration(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "gpu-01")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionScreen), "the drain dialog")
        plan = dialog_text(app, "plan")
        stuck = dialog_text(app, "unmovable")
        gpu_vms = [d for d in app.view.vms_holding_resources("gpu-01") if d.hostdevs]
        movable = [d for d in app.view.vms_holding_resources("gpu-01") if not d.hostdevs]
        assert gpu_vms  # the demo's GPU host has a VM with a passed-through GPU
        assert f"Plan: {len(movable)} VM(s) to migrate" in plan
        assert all(d.name in plan for d in movable)
        assert all(d.name in stuck and "PCI host devices" in stuck for d in gpu_vms)
        await confirm(pilot, "replace GPU")
        await finished(pilot, app)
        await wait_for(pilot, lambda: app.view.records["gpu-01"].state is HostState.NO_SCHEDULING, "state")
        assert Store(demo / "db").host("gpu-01").state is HostState.NO_SCHEDULING  # type: ignore[union-attr]
        [drain] = audit(demo, "host.drain")
        assert drain.reason == "replace GPU"
        assert drain.after["result"] == "failed"
        migrations = audit(demo, "vm.migrate")
        assert len(migrations) == len(movable)
        assert all(MIGRATE_UNSUPPORTED in e.after["message"] for e in migrations)
        progress = [n for n in app._notifications if n.title == "Progress"]
        assert len(progress) == len(movable)
        assert all("FAILED" in str(n.message) and "drain gpu-01" in str(n.message) for n in progress)
        await pilot.press("1")
        await wait_for(pilot, lambda: table_rows(app)["gpu-01"][1] == "No Scheduling", "the row")


async def test_force_is_offered_when_a_graceful_stop_times_out(demo: Path) -> None:
    # The test driver's guests always obey a shutdown, so the timed-out outcome is posted as the Deck
    # would return it; what follows (the offer, the destroy) is the real flow.
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-04")
        job = ActionJob(f"stop {vm.name}", lambda deck, report: None, vm.name, "pool2-04", "stuck")  # type: ignore[arg-type,return-value]
        timed_out = Outcome(
            "vm.stop", vm.name, "pool2-04", Result.TIMED_OUT, f"{vm.name} ignored the shutdown"
        )
        app.post_message(ActionFinished(job, timed_out))
        await wait_for(pilot, lambda: isinstance(app.screen, ActionScreen), "the force offer")
        assert f"{vm.name} did not shut down" in dialog_text(app, "title")
        assert "Confirm: force" in dialog_text(app, "status")
        await pilot.press("y")
        await finished(pilot, app)
        await wait_for(
            pilot, lambda: facts(app, "pool2-04", vm.uuid).state is DomainState.SHUTOFF, "forced off"
        )
        [entry] = audit(demo, "vm.destroy")
        assert (entry.reason, entry.after["result"]) == ("stuck", "ok")


async def test_unreachable_and_disabled_hosts_are_refused_before_asking(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        for host, why in [("pool1-10", "is unreachable"), ("pool2-10", "is Disabled")]:
            await select_host(pilot, host)
            await pilot.press("r")
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen)
            assert f"host {host!r} {why}" in notes(app)
        assert audit(demo, "host.drain") == []


async def test_read_only_refuses_every_action_key(demo: Path) -> None:
    async with console(demo, read_only=True).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool2-01")
        for key in "rs":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        for key in "xkmcs":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ActionScreen), key
        refusals = [n for n in app._notifications if n.title == "Refused"]
        assert len(refusals) == 7
        assert all("read-only mode" in str(n.message) for n in refusals)
        assert "READ-ONLY" in header(app)
        # Nothing changed: besides the demo's set-up, the audit holds only the seven refusals.
        await app.workers.wait_for_complete()
        entries = Store(demo / "db").audit()
        assert {e.what for e in entries} == {"host.add", "console.refused"}
        refused = [e for e in entries if e.what == "console.refused"]
        assert len(refused) == 7
        assert all(e.after["result"] == "refused" for e in refused)
        assert facts(app, "pool2-01", vm.uuid).state is DomainState.RUNNING


async def test_help_and_palette_offer_every_action(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        for key, what in [
            ("s", "Start VM"),
            ("x", "Stop"),
            ("k", "Destroy"),
            ("m", "Migrate"),
            ("c", "Scale"),
        ]:
            assert f"  {key:<14} {what}" in text
        await pilot.press("escape", "1", "question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text", Static).render())
        assert f"  {'r':<14} Drain" in text
        await pilot.press("escape")
        titles = {title for title, _help, _cb in app.palette_actions()}
        assert {
            "Start a VM",
            "Stop the VM selected on the VMs pane",
            "Destroy the VM selected on the VMs pane",
            "Migrate the VM selected on the VMs pane",
            "Scale the VM selected on the VMs pane",
            "Drain host gpu-02",
        } <= titles


async def test_palette_runs_a_vm_action_on_the_selected_vm(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Stop the VM selected")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionScreen), "the stop dialog")
        assert f"Stop {vm.name} on pool2-01" in dialog_text(app, "title")
