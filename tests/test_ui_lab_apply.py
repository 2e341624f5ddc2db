"""The lab's actions that leave the lab: `m` applies a plan, `h` saves the edited HOCON.

`m` on a lab plan: the plan's moves, a reason and a confirmation, then one action job that runs the
migrate action for each move and stops at the first that fails (the test driver cannot migrate)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.test_ui_lab import SIZE, console, open_lab, wait_for
from tui.console.dialogs import ActionScreen
from tui.console.lab.curvelab import CurveLabView
from tui.services.store import Store


async def test_applying_a_plan_asks_then_migrates_through_the_action_and_stops_at_a_failure(
    tmp_path: Path,
) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: "consolidate" in sim.lab_state.results, "the consolidation plan")
        moves = sim.lab_state.results["consolidate"]["moves"]
        assert moves, "the demo fleet has something to consolidate"
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ActionScreen)
        await pilot.press(*"tidy up", "enter")
        await pilot.pause()
        assert "Confirm:" in str(app.screen.query_one(".action-status", Static).render())
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: not app.activity.running, "the plan's job to finish")
        migrations = [e for e in Store(tmp_path / "demo" / "db").audit() if e.what == "vm.migrate"]
        # The first move was tried (and audited with the plan's reason); the test driver refuses it,
        # so the rest were never started.
        assert [(e.target, e.reason, e.after["result"]) for e in migrations] == [
            (moves[0]["vm"], "tidy up", "failed")
        ]
        assert "consolidate plan stopped after 0 of" in app.activity.line()


async def test_the_curve_labs_hocon_is_saved_to_the_admins_file_and_a_bad_path_is_named(
    tmp_path: Path,
) -> None:
    async with console(tmp_path / "demo").run_test(size=SIZE) as pilot:
        app, sim = await open_lab(pilot)
        await pilot.press("e", *"pool1.vcpus.soft=4", "enter")
        curve = sim.query_one(CurveLabView)
        await wait_for(
            pilot, lambda: curve.outcome is not None and bool(curve.outcome.hocon), "the edited HOCON"
        )
        await pilot.press("escape")  # the curve lab's edit line keeps the cursor: leave it
        target = tmp_path / "cf.conf"
        await pilot.press("h", *str(target), "enter")
        await wait_for(pilot, lambda: any(n.title == "Saved" for n in app._notifications), "the save")
        assert target.read_text(encoding="utf-8") == curve.outcome.hocon
        await pilot.press("h", *str(tmp_path / "no-such-dir" / "cf.conf"), "enter")
        await wait_for(pilot, lambda: any(n.title == "Not saved" for n in app._notifications), "the refusal")
        [note] = [n for n in app._notifications if n.title == "Not saved"]
        assert str(tmp_path / "no-such-dir" / "cf.conf") in note.message
