"""The what-if lab in the Simulation pane, driven with Pilot on the demo fleet.

Each test compares what the pane shows with tui.core.whatif computed independently here over the same
fleet the job used (the demo's test:/// hosts are static), so a view that draws the wrong host, cost
or rank fails. No timing asserts: helpers wait for a condition, bounded only to fail rather than hang.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from tui.console.app import VmdeckApp
from tui.console.lab.curvelab import CurveLabView
from tui.console.lab.curvetext import rank_text
from tui.console.lab.dialogs import ScenarioPickScreen
from tui.console.lab.keys import LAB_BINDINGS
from tui.console.lab.replays import ReplayView
from tui.console.lab.state import DEFAULT_REQUEST
from tui.console.launch import build_console
from tui.console.panes.sim import SimPane
from tui.console.text import spark
from tui.core.costs import format_cost
from tui.core.scheduling.workload import WorkloadSpec, generate
from tui.core.whatif import (
    ab_replay,
    apply_edits,
    live_model,
    load_response,
    parse_edits,
    rebalance_plan,
    replay_policies,
    rerank,
)
from tui.services.scenarios import ScenarioStore

SIZE = (120, 40)


def console(demo: Path, read_only: bool = False) -> VmdeckApp:
    return build_console(None, None, read_only=read_only, demo_dir=demo)


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def open_lab(pilot: Pilot[None]) -> tuple[VmdeckApp, SimPane]:
    app = pilot.app
    assert isinstance(app, VmdeckApp)
    await wait_for(pilot, lambda: len(app.view.snapshots) == len(app.view.records), "the first poll")
    await pilot.press("5")
    await pilot.pause()
    sim = app.panes["sim"]
    assert isinstance(sim, SimPane)
    return app, sim


def rows(app: VmdeckApp, table_id: str) -> dict[str, list[str]]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}


def text(app: VmdeckApp, widget_id: str) -> str:
    return str(app.screen.query_one(f"#{widget_id}", Static).render())


def model(app: VmdeckApp):  # type: ignore[no-untyped-def]
    config = app.view.config
    known = [r for r in app.view.records.values() if r.profile in config.hardware_profiles]
    return live_model(known, app.view.snapshots, config)


async def test_curve_lab_edit_shows_the_engines_new_costs_and_ranking(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("e")
        await pilot.press(*"pool2.offset=0")  # typed, not committed: recomputed as you type
        edits = parse_edits(["pool2.offset=0"])
        curve = sim.query_one(CurveLabView)
        await wait_for(
            pilot, lambda: curve.outcome is not None and curve.outcome.edits == tuple(edits), "the edit"
        )
        await pilot.pause()
        config = app.view.config
        expected = rerank(config, apply_edits(config, edits).config, model(app).fleet, DEFAULT_REQUEST)
        shown = rows(app, "curve-costs")
        assert list(shown) == [h.host for h in expected.hosts]  # the new ranking, in order
        for h in expected.hosts:
            cells = shown[h.host]
            assert cells[1] == rank_text(h.old_rank, h.new_rank)
            assert (cells[2], cells[3]) == (format_cost(h.old_cost), format_cost(h.new_cost))
        pool2 = [h for h in expected.hosts if h.profile == "pool2" and h.old_rank]
        assert pool2
        assert all(h.old_cost - h.new_cost == 1000 for h in pool2)  # the offset is gone
        assert any(rank_text(h.old_rank, h.new_rank).endswith("▲") for h in pool2)  # and they climb
        assert shown[expected.hosts[0].host][0].startswith("→ ")  # where the request goes now
        assert f"{expected.changed_ranks} ranks change" in text(app, "curve-summary")
        # The edited cost function as HOCON, checked by the real loader.
        assert "pool2 {" in text(app, "curve-hocon")
        await wait_for(pilot, lambda: "loader: OK" in text(app, "curve-diag"), "the loader's verdict")
        assert app.view.config.cost_functions["pool2"].offset == 1000  # the live config is untouched
        # A refusal is shown with its key path while typing; enter keeps a valid edit.
        await pilot.press("ctrl+u", *"pool1.vcpus.slope=3")
        await wait_for(pilot, lambda: "has no parameter 'slope'" in text(app, "curve-diag"), "the refusal")
        assert "cost-functions.pool1.vcpus.slope" in text(app, "curve-diag")
        await pilot.press("ctrl+u", *"pool1.vcpus.soft=4", "enter")
        await wait_for(
            pilot, lambda: [e.to_text() for e in sim.lab_state.edits] == ["pool1.vcpus.soft=4"], "commit"
        )
        await wait_for(
            pilot, lambda: rows(app, "curve-params")["pool1.vcpus.soft"][2] == "4", "the edited value"
        )
        assert rows(app, "curve-params")["pool1.vcpus.soft"][1] == "8"


async def test_ab_shows_exactly_the_engines_differences(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("e", *"pool2.offset=0", "enter", "escape")
        await wait_for(pilot, lambda: len(sim.lab_state.edits) == 1, "the edit")
        await pilot.press("a", "a", "ctrl+u", *"vms=300 rate=1 lifetime=10 seed=4", "enter")
        await wait_for(pilot, lambda: "ab" in sim.lab_state.results, "the A/B")
        await pilot.pause()
        config = app.view.config
        events = generate(WorkloadSpec(starts=300, rate=1.0, mean_lifetime=10.0, seed=4))
        expected = ab_replay(
            config, apply_edits(config, sim.lab_state.edits).config, model(app).fleet, events
        )
        diffs = expected.comparison.differences
        assert diffs  # pool 2 without its offset takes VMs pool 1 would have had
        shown = rows(app, "ab-diffs")
        assert list(shown) == [d.id for d in diffs]
        for d in diffs:
            assert shown[d.id][1:] == [
                d.a.host or "rejected",
                format_cost(d.a.cost),
                d.b.host or "rejected",
                format_cost(d.b.cost),
            ]
        assert f"{len(diffs)} of {len(expected.comparison.a.placements)} decisions differ" in text(
            app, "ab-summary"
        )
        hosts = rows(app, "ab-hosts")
        for a, b in zip(expected.hosts_a, expected.hosts_b, strict=True):
            assert hosts[a.host][1] == str(a.vms)
            assert hosts[a.host][3] == str(b.vms)


async def test_scenario_saved_and_reopened_in_a_new_console(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    async with console(demo).run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("e", *"pool1.vcpus.soft=6", "enter", "escape")
        await wait_for(
            pilot, lambda: len(sim.lab_state.edits) == 1 and "curve" in sim.lab_state.results, "the edit"
        )
        await pilot.press("w", "w", "ctrl+u", *"vms=100 seed=2", "enter", "escape")
        await wait_for(pilot, lambda: "replay" in sim.lab_state.results, "the replay")
        await pilot.press("s", *"tuning-1", "enter")
        store = ScenarioStore(app.session.db or "")
        await wait_for(pilot, lambda: [s.name for s in store.list()] == ["tuning-1"], "the saved scenario")
        saved = store.get("tuning-1")
        assert saved.edits == ("pool1.vcpus.soft=6",)
        assert sorted(saved.results) == ["curve", "replay"]
        assert saved.workload is not None
        assert saved.workload["spec"]["vms"] == 100
        assert saved.fleet is not None
        assert len(saved.fleet["hosts"]) == len(app.view.records)
    async with console(demo).run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ScenarioPickScreen), "the scenario list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: sim.lab_state.scenario is not None, "the reopened scenario")
        await pilot.pause()
        assert [e.to_text() for e in sim.lab_state.edits] == ["pool1.vcpus.soft=6"]
        assert sim.query_one(ReplayView).params.startswith("vms=100 ")
        shown = text(app, "scenario-text")
        assert "pool1.vcpus.soft=6" in shown
        assert "(the same as the console's)" in shown
        assert "replay: cost placed" in shown
        assert "scenario tuning-1's fleet" in sim.lab_state.header()
        await pilot.press("e")  # the curve lab shows the restored edit
        await wait_for(
            pilot, lambda: rows(app, "curve-params").get("pool1.vcpus.soft", ["", "", ""])[2] == "6", "edit"
        )
        export = tmp_path / "out.json"
        await pilot.press("escape", "x", *str(export), "enter")  # esc: out of the edit line first
        await wait_for(pilot, export.exists, "the JSON export")
        await pilot.press("x", *str(tmp_path / "csv"), "enter")
        await wait_for(pilot, lambda: (tmp_path / "csv" / "replay-policies.csv").exists(), "the CSV export")


async def test_load_response_and_rebalance_match_the_engine(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: "response" in sim.lab_state.results, "the load response")
        await pilot.pause()
        response = load_response(app.view.config, model(app).fleet, DEFAULT_REQUEST)
        shown = rows(app, "response-table")
        for h in response.hosts:
            assert shown[h.host][3] == spark(h.costs)
            assert shown[h.host][4] == (str(h.infinite_at) if h.infinite_at else "-")
        assert any("∞" in r[3] for r in shown.values())  # infinity is drawn, not left out
        assert f"the fleet takes {response.fleet_fits}" in text(app, "response-summary")
        await pilot.press("b")
        await wait_for(pilot, lambda: "rebalance" in sim.lab_state.results, "the rebalance plan")
        await pilot.pause()
        plan = rebalance_plan(app.view.config, model(app))
        assert list(rows(app, "plan-moves")) == [m.vm for m in plan.moves]
        assert all(m.target_after < m.source_before for m in plan.moves)
        stuck = text(app, "plan-stuck")
        assert all(s.vm in stuck for s in plan.unmovable[:20])
        assert "PCI host devices" in stuck  # the GPU VMs cannot move


async def test_replay_runs_every_policy_side_by_side(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("w", "w", "ctrl+u", *"vms=200 seed=3 add=pool1:2", "enter")
        await wait_for(pilot, lambda: "replay" in sim.lab_state.results, "the replay")
        await pilot.pause()
        from tui.core.whatif import add_hosts

        bigger = add_hosts(model(app), "pool1", 2, app.view.config)
        expected = replay_policies(
            app.view.config, bigger.fleet, generate(WorkloadSpec(starts=200, mean_lifetime=20.0, seed=3))
        )
        shown = rows(app, "replay-policies")
        assert list(shown) == ["cost", "first-fit", "best-fit", "spread"]
        for run in expected.runs:
            assert shown[run.policy][1:3] == [str(run.result.placed), str(run.result.rejected)]
            assert shown[run.policy][5] == str(run.hosts_in_use)
        assert "pool1-new-02" in rows(app, "replay-hosts")  # the hypothetical hosts are in the fleet


async def test_plans_are_refused_in_read_only_mode_and_drain_previews(tmp_path: Path) -> None:
    async with console(tmp_path / "demo", read_only=True).run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: "consolidate" in sim.lab_state.results, "the consolidation plan")
        await pilot.pause()
        assert "cannot apply: read-only mode" in text(app, "plan-summary").lower()
        await pilot.press("m")
        await wait_for(pilot, lambda: "REFUSED: apply the plan" in app.activity.line(), "the refusal")
        await pilot.press("d", "d", "ctrl+u", *"pool1-01", "enter")
        await wait_for(pilot, lambda: "drain" in sim.lab_state.results, "the drain preview")
        await pilot.pause()
        assert sim.lab_state.results["drain"]["emptied"] == ["pool1-01"]
        assert set(rows(app, "plan-moves")) == {m["vm"] for m in sim.lab_state.results["drain"]["moves"]}


@pytest.mark.parametrize("size", [(80, 24), (250, 60)])
async def test_every_lab_view_fits_the_size_limits(tmp_path: Path, size: tuple[int, int]) -> None:
    async with console(tmp_path / "demo").run_test(size=size) as pilot:
        app, sim = await open_lab(pilot)
        for key, view in [("l", "response"), ("e", "curve"), ("w", "replay"), ("b", "plan"), ("p", "place")]:
            await pilot.press(key)
            if view == "curve":
                await pilot.press("escape")  # the curve lab's edit line has the cursor: leave it
            await app.workers.wait_for_complete()
            box = app.screen.query_one(f"#lab-{view}")

            def fits(box: Widget = box) -> bool:
                region = box.region
                return bool(box.display) and region.right <= size[0] and region.bottom <= size[1]

            # A loaded CI machine may need more than one pause before the layout settles: wait for it
            # (bounded), so that only a view that never fits fails.
            await wait_for(pilot, fits, f"the {view} view to fit {size}")
            assert box.region.height >= 5  # room for a summary and some rows even at 80×24
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = str(app.screen.query_one("#help-text", Static).render())
        assert "Curve lab" in help_text
        assert "Save scenario" in help_text


async def test_lab_params_refuse_bad_words(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("w", "w", "ctrl+u", *"vms=ten", "enter")
        await wait_for(pilot, lambda: "vms: expected a int" in text(app, "replay-summary"), "the refusal")
        assert app.screen.query_one("#lab-params", Input).value == "vms=ten"


async def test_palette_offers_every_lab_action(tmp_path: Path) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, VmdeckApp)
        actions = {title: run for title, _help, run in app.palette_actions()}
        assert all(f"Lab: {b.description}" in actions for b in LAB_BINDINGS)
        actions["Lab: Rebalance plan"]()  # from the hosts pane: shows the lab, then plans
        sim = app.panes["sim"]
        assert isinstance(sim, SimPane)
        await wait_for(
            pilot, lambda: app.current_mode == "sim" and sim.showing == "rebalance", "the lab view"
        )
        await wait_for(pilot, lambda: "rebalance" in sim.lab_state.results, "the plan")
