"""What the console tells the admin: prompts that overlay, curve-lab input read like `validate`,
file errors naming the admin's path (Pilot on the demo fleet; issue 11 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.console.dialogs import ActionScreen
from tui.console.keymap import (
    ACTIVITY_BINDINGS,
    APP_BINDINGS,
    HOSTS_BINDINGS,
    PROFILES_BINDINGS,
    VMS_BINDINGS,
    describe,
)
from tui.console.lab.curvelab import CurveLabView
from tui.console.panes.sim import SimPane
from tui.core.units import UnitError, parse_size

from .test_ui_console import SIZE, console, polled, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


@pytest.mark.parametrize("opener", ["slash", "colon"])
async def test_prompts_overlay_the_pane(demo: Path, opener: str) -> None:
    async with console(demo).run_test(size=(100, 30)) as pilot:
        app = await polled(pilot)
        await pilot.press(opener, *"pool")
        await pilot.pause()
        svg = app.export_screenshot()
        assert "pool1-01" in svg  # the hosts table stays readable above the prompt
        assert "pool2-03" in svg


def diagnostics(app: object) -> str:
    return str(app.screen.query_one("#curve-diag", Static).render())  # type: ignore[attr-defined]


async def test_curve_lab_reads_sizes_like_validate(demo: Path) -> None:
    with pytest.raises(UnitError) as refused:
        parse_size("32 Gib")  # what `validate` says of `hard: 32 Gib`
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5", "e", *"pool1.memory.hard=32 Gib")
        sim = app.panes["sim"]
        assert isinstance(sim, SimPane)
        await wait_for(pilot, lambda: str(refused.value) in diagnostics(app), "the unit refusal")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert sim.query_one(CurveLabView).pending is None  # not `32` from the prefix typed before " Gib"
        assert app.screen.query_one("#curve-costs", DataTable).row_count == 0  # no costs for it
        assert "No costs shown" in str(app.screen.query_one("#curve-summary", Static).render())
        await pilot.press("ctrl+u", *"====")
        await wait_for(pilot, lambda: "expected KEY=VALUE" in diagnostics(app), "the refusal of ====")
        await pilot.press("enter")
        assert sim.lab_state.edits == ()
        assert any("expected KEY=VALUE" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+u", *"pool1.memory.hard=32GiB")  # the same edit, written right
        await app.workers.wait_for_complete()
        await wait_for(
            pilot, lambda: app.screen.query_one("#curve-costs", DataTable).row_count > 0, "the costs"
        )


async def test_export_error_names_the_admins_path(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "out.json"
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5", "x", *str(target), "enter")
        await wait_for(pilot, lambda: any("Not saved" in n.title for n in app._notifications), "the error")
        [note] = [n for n in app._notifications if n.title == "Not saved"]
        assert f"cannot write {target}: No such file or directory" in note.message
        assert ".tmp" not in note.message


def readme_key_table() -> dict[str, str]:
    """The README's console keys table: the text of each group of rows ("Hosts", "VMs", …)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Console keys", 1)[1].split("\n### ", 1)[0]
    groups: dict[str, str] = {}
    where = ""
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] in ("Where", "---"):
            continue
        where = cells[0] or where
        groups[where] = groups.get(where, "") + " | ".join(cells[1:]) + "\n"
    return groups


def test_readme_console_keys_match_the_app() -> None:
    groups = readme_key_table()
    rows: dict[str, list[Binding]] = {
        "Everywhere": APP_BINDINGS,
        "Hosts": HOSTS_BINDINGS,
        "VMs": VMS_BINDINGS,
        "Profiles": PROFILES_BINDINGS,
        "Activity": ACTIVITY_BINDINGS,
        "Simulation": SimPane.PANE_BINDINGS,
        "Dialogs": [b for b in ActionScreen.BINDINGS if isinstance(b, Binding)],
    }
    for where, bindings in rows.items():
        for binding in bindings:
            key, description = describe(binding)
            shown = "`1`-`6`" if key in ("1", "2", "3", "4", "5", "6") else f"`{key}`"
            assert shown in groups[where], f"README console keys, {where}: no {key}"
            if where != "Dialogs":  # the dialogs' row explains its keys in its own words
                assert description in groups[where], f"README console keys, {where}: no {description!r}"
    assert "`i`" not in "".join(groups.values())  # the hidden focusing key is gone
