"""The console driven with Pilot on the demo fleet (real libvirt test:/// hosts, real store).

Each test asserts on state (store, audit, view) and on what is displayed (table cells, header and
dialog text). No timing asserts: helpers wait for a condition, bounded only to fail rather than hang.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tui.console.app import VmdeckApp
from tui.console.dialogs import HelpScreen, HostDetailScreen, StateChangeScreen
from tui.console.launch import build_console
from tui.console.widgets.curveplot import CurvePlot, render_lines
from tui.core.fleet import HostState
from tui.core.scheduling import CostEngine, FleetState, explain_request
from tui.core.scheduling.request import parse_request
from tui.services.actions.path import READ_ONLY_MESSAGE
from tui.services.store import Store

SIZE = (120, 40)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def console(demo: Path, read_only: bool = False) -> VmdeckApp:
    return build_console(None, None, read_only=read_only, demo_dir=demo)


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def polled(pilot: Pilot[None]) -> VmdeckApp:
    app = pilot.app
    assert isinstance(app, VmdeckApp)
    await wait_for(pilot, lambda: len(app.view.snapshots) == len(app.view.records), "the first poll")
    await pilot.pause()
    return app


def header(app: VmdeckApp) -> str:
    return str(app.screen.query_one("#pane-header", Static).render())


def table_rows(app: VmdeckApp) -> dict[str, list[str]]:
    table = app.screen.query_one(DataTable)
    return {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}


async def select_host(pilot: Pilot[None], name: str) -> None:
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()


async def test_hosts_pane_lists_every_host_with_status(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        rows = table_rows(app)
        assert len(rows) == 24
        assert rows["pool1-10"][:3] == ["pool1-10", "Enabled", "DOWN"]  # missing node file: unreachable
        assert rows["pool2-10"][1:3] == ["Disabled", "off"]
        assert rows["pool2-03"][1] == "No Scheduling"
        alloc = app.view.allocation("pool1-01")
        assert alloc is not None
        assert rows["pool1-01"][3] == str(alloc.vms)
        assert rows["pool1-01"][4] == f"{alloc.vcpus}/8" + ("!" if alloc.vcpus > 8 else "")
        assert "1 UNREACHABLE" in header(app)
        assert rows["gpu-01"][6].endswith("/2")  # devices used/total on the GPU profile


async def test_command_line_switches_every_pane(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        for command, title in [
            ("profiles", "Profiles"),
            ("curves", "Curves"),
            ("vms", "VMs"),
            ("sim", "Simulation"),
            ("hosts", "Hosts"),
        ]:
            await pilot.press("colon", *command, "enter")
            await pilot.pause()
            assert app.current_mode == command
            assert f"vmdeck · {title}" in header(app)
        await pilot.press("colon", *"nope", "enter")
        await pilot.pause()
        assert app.current_mode == "hosts"
        assert any("unknown command :nope" in str(n.message) for n in app._notifications)


async def test_escape_goes_back_to_previous_pane(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("2")
        await pilot.press("4")
        assert app.current_mode == "vms"
        await pilot.press("escape")
        assert app.current_mode == "profiles"
        await pilot.press("escape")
        assert app.current_mode == "hosts"


async def test_filter_substring_regex_and_escape(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("slash", *"POOL2", "enter")
        await pilot.pause()
        rows = table_rows(app)
        assert sorted(rows) == [f"pool2-{n:02d}" for n in range(1, 11)]
        assert "filter /POOL2/ (text)" in header(app)
        await pilot.press("slash", *("\b" * 0))  # reopen: the prompt shows the current filter
        prompt = app.screen.query_one(Input)
        assert prompt.value == "POOL2"
        prompt.value = r"^gpu-0[12]$"
        await pilot.press("enter")
        await pilot.pause()
        assert sorted(table_rows(app)) == ["gpu-01", "gpu-02"]
        assert "(regex)" in header(app)
        await pilot.press("escape")
        await pilot.pause()
        assert len(table_rows(app)) == 24
        assert "filter" not in header(app)


async def test_filter_on_vms_pane_matches_address_and_host(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4", "slash", *"203.0.113.30", "enter")
        await pilot.pause()
        rows = table_rows(app)
        assert rows
        assert all(r[1] == "gpu-01" for r in rows.values())


async def test_help_lists_every_key(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        for key, what in [
            ("e", "Enable"),
            ("n", "No Sched"),
            ("d", "Disable"),
            (":", "Command"),
            ("/", "Filter"),
        ]:
            assert f"  {key:<14} {what}" in text
        assert "ctrl+p" in text
        assert "esc" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_disable_asks_reason_shows_vms_confirms_and_audits(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-01")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, StateChangeScreen)
        vms_text = str(dialog.query_one("#state-vms", Static).render())
        running = app.view.vms_holding_resources("pool1-01")
        assert f"VMs affected: {len(running)}" in vms_text
        assert all(d.name in vms_text for d in running[:8])
        await pilot.press("enter")  # no reason yet: refused, dialog stays
        await pilot.pause()
        assert "reason is required" in str(dialog.query_one("#state-status", Static).render())
        await pilot.press(*"kernel update", "enter")
        await pilot.pause()
        assert "Confirm: set pool1-01 to Disabled" in str(dialog.query_one("#state-status", Static).render())
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: app.view.records["pool1-01"].state is HostState.DISABLED, "the change")
        stored = Store(demo / "db")
        assert stored.host("pool1-01").state is HostState.DISABLED  # type: ignore[union-attr]
        entry = stored.audit("pool1-01")[-1]
        assert (entry.what, entry.reason, entry.after["state"]) == ("host.state", "kernel update", "disabled")
        await wait_for(pilot, lambda: table_rows(app)["pool1-01"][1:3] == ["Disabled", "off"], "the row")


async def test_enable_and_no_scheduling_keys(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool2-03")
        await pilot.press("e", *"done draining", "enter", "y")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: table_rows(app)["pool2-03"][1] == "Enabled", "Enabled")
        await select_host(pilot, "pool1-02")
        await pilot.press("n", *"drain", "enter", "y")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: table_rows(app)["pool1-02"][1] == "No Scheduling", "No Scheduling")
        states = {h.name: h.state for h in Store(demo / "db").hosts()}
        assert states["pool2-03"] is HostState.ENABLED
        assert states["pool1-02"] is HostState.NO_SCHEDULING


async def test_state_change_cancelled_changes_nothing(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-03")
        await pilot.press("d", *"oops", "enter", "n")
        await pilot.pause()
        assert not isinstance(app.screen, StateChangeScreen)
        await select_host(pilot, "pool1-03")
        await pilot.press("d", "escape")
        await pilot.pause()
        assert Store(demo / "db").host("pool1-03").state is HostState.ENABLED  # type: ignore[union-attr]
        assert [e for e in Store(demo / "db").audit("pool1-03") if e.what == "host.state"] == []
        assert table_rows(app)["pool1-03"][1] == "Enabled"


async def test_read_only_blocks_every_change(demo: Path) -> None:
    async with console(demo, read_only=True).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        assert "READ-ONLY" in header(app)
        await select_host(pilot, "pool1-01")
        for key in "end":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, StateChangeScreen)
        assert any("read-only" in str(n.message) for n in app._notifications)
        store = Store(demo / "db")
        assert store.host("pool1-01").state is HostState.ENABLED  # type: ignore[union-attr]
        # Each refused attempt is audited: who tried what on which host, and why it was refused.
        await app.workers.wait_for_complete()
        refused = [e for e in store.audit("pool1-01") if e.what == "console.refused"]
        assert len(refused) == 3
        assert {e.after["action"] for e in refused} == {
            "set pool1-01 Enabled",
            "set pool1-01 No Scheduling",
            "set pool1-01 Disabled",
        }
        assert all(e.reason == READ_ONLY_MESSAGE for e in refused)


async def test_palette_offers_host_actions(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        titles = [title for title, _help, _cb in app.palette_actions()]
        assert {
            "Show Curves pane",
            "Disable host gpu-03",
            "Enable host gpu-03",
            "No Scheduling for host gpu-03",
        } <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Disable host gpu-03")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, StateChangeScreen), "the dialog from the palette"
        )
        assert "Set gpu-03: Enabled → Disabled" in str(app.screen.query_one("#state-title", Static).render())


async def test_host_detail_shows_breakdown_per_term(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "gpu-02")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HostDetailScreen)
        terms = app.screen.query_one("#detail-terms", DataTable)
        names = [str(terms.get_row_at(i)[0]) for i in range(terms.row_count)]
        assert names[:4] == ["vms", "vcpus", "memory", "devices.nvidia-gpu"]
        breakdown = app.view.breakdown("gpu-02")
        assert breakdown is not None
        total_row = terms.get_row_at(terms.row_count - 1)
        assert total_row[0] == "= total"
        assert "Over capacity (!)" in str(app.screen.query_one("#detail-summary", Static).render())
        await pilot.press("escape")
        assert app.current_mode == "hosts"
        assert app.screen is app.panes["hosts"]


async def test_curves_pane_marks_infinity_knees_and_hosts(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("3")
        await pilot.pause()
        plot = app.screen.query_one("#plot-pool1-vcpus", CurvePlot)
        lines = render_lines(plot.spec, 60)
        assert "∞" in lines[0]
        assert "cost 0…32 ∞>16" in lines[0]
        assert "^" in lines[1]
        assert "×" in lines[1]
        hosts = [h for h, r in app.view.records.items() if r.profile == "pool1"]
        assert sum(1 if c == "▲" else int(c) for c in lines[2][12:72] if c not in " +") == len(hosts)
        rendered = str(plot.render())
        assert "∞" in rendered
        await pilot.press("slash", *"gpu", "enter")
        await pilot.pause()
        assert not app.screen.query_one("#plot-pool1-vcpus", CurvePlot).display
        assert app.screen.query_one("#plot-nvidia-gpu-devices_nvidia-gpu", CurvePlot).display


async def test_vms_pane_addresses_through_nat(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        rows = table_rows(app)
        total = sum(len(app.view.domains(n)) for n in app.view.records)
        assert len(rows) == total
        nat = app.view.records["pool2-01"].nat
        assert nat is not None
        running = [r for r in rows.values() if r[1] == "pool2-01" and r[2] == "running"]
        assert running
        for cells in running:
            address = cells[6]
            vm_ip = address.split("(")[1].rstrip(")")
            assert address.startswith(f"{nat.ip}:{nat.base_port + int(vm_ip.rsplit('.', 1)[1])} ")
        stopped = [r for r in rows.values() if r[2] == "shutoff"]
        assert stopped
        assert all(r[6] == "-" for r in stopped)


async def test_sim_pane_places_like_the_engine(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5", "r", *"2 4GiB", "enter")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: app.panes["sim"].placement is not None, "the placement")
        state = FleetState(app.view.config, app.view.fleet())
        expected = explain_request(state, CostEngine(state), parse_request("2 4GiB"))
        result = str(app.screen.query_one("#sim-result", Static).render())
        assert f"→ {expected.host} at cost" in result
        rows = table_rows(app)
        assert len(rows) == 24
        assert rows[expected.host][3].startswith("→ ")
        assert "Disabled" in rows["pool2-10"][2]
        assert "host is Disabled" in rows["pool2-10"][-1]
        await pilot.press("r")
        app.screen.query_one(Input).value = ""
        await pilot.press(*"8 64GiB", "enter")
        await app.workers.wait_for_complete()
        await wait_for(
            pilot,
            lambda: "NOT PLACED" in str(app.screen.query_one("#sim-result", Static).render()),
            "refusal",
        )


def test_parse_request_forms() -> None:
    gib = 1024**3
    assert parse_request("2 4GiB").to_json() == {"vcpus": 2, "memory": 4 * gib, "devices": {}}
    assert parse_request("vcpus=4 memory = 8 GiB nvidia-gpu:1").to_json() == {
        "vcpus": 4,
        "memory": 8 * gib,
        "devices": {"nvidia-gpu": 1},
    }
    with pytest.raises(ValueError, match="vCPUs and memory"):
        parse_request("4")
    with pytest.raises(ValueError, match="did you mean"):
        parse_request("2 4Gib")


@pytest.mark.parametrize("size", [(80, 24), (250, 60)])
async def test_every_pane_renders_at_the_size_limits(demo: Path, size: tuple[int, int]) -> None:
    async with console(demo).run_test(size=size) as pilot:
        app = await polled(pilot)
        for key, title in [
            ("1", "Hosts"),
            ("2", "Profiles"),
            ("3", "Curves"),
            ("4", "VMs"),
            ("5", "Simulation"),
        ]:
            await pilot.press(key)
            await pilot.pause()
            assert header(app).startswith(f"vmdeck · {title}")
            assert app.screen.size.width == size[0]
        await pilot.press("1")
        await select_host(pilot, "gpu-01")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, StateChangeScreen)
        box = dialog.query_one("#state-dialog")
        assert box.region.right <= size[0]
        assert box.region.bottom <= size[1]
