"""SVG snapshots of every pane and screen of the console at 80x24 and 120x40, with and without colour.

The console is the frozen demo (tests/snapshots.py: polled once, no live polling, clock-dependent
values fixed), so a snapshot changes only when what the console draws changes. Golden files live in
tests/__snapshots__/test_ui_snapshots/; a difference fails the test and pytest-textual-snapshot writes
an HTML report (snapshot_report.html) showing the old and new screens side by side.

Review and update (README, "Snapshot tests"): look at the report, and when the new screen is right,
    .venv/bin/python -m pytest -p no:cacheprovider tests/test_ui_snapshots.py --snapshot-update
then review the changed .svg files in the diff like code before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot
from textual.widgets import Input

from .snapshots import SHOTS, SIZES, Shot, frozen_demo, monochrome_svg

try:  # the SVG extension of pytest-textual-snapshot (its plugin also gives `snap_compare`)
    from pytest_textual_snapshot import SVGImageExtension
except ImportError:  # pragma: no cover - the test extra installs it
    SVGImageExtension = None

if SVGImageExtension is not None:
    # pytest-textual-snapshot 1.0.0 names its extension with `_file_extension`, which syrupy 7 reads as
    # `file_extension`: without this the golden files would be written as .raw instead of .svg
    # (1.1.0, which fixes it, pins syrupy 4 and with it pytest < 9; see pyproject.toml).
    SVGImageExtension.file_extension = "svg"

pytestmark = pytest.mark.skipif(
    SVGImageExtension is None,
    reason="pytest-textual-snapshot is not installed: `pip install -e '.[test]'` installs it",
)

IDS = [shot.name for shot in SHOTS]


async def _drive(pilot: Pilot[None], shot: Shot) -> None:
    await pilot.pause()
    await pilot.press(*shot.press)
    if shot.drive is not None:
        await shot.drive(pilot)
    await pilot.app.workers.wait_for_complete()
    # A blinking cursor is drawn or not depending on the moment: hold it on.
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("shot", SHOTS, ids=IDS)
def test_colour(shot: Shot, size: tuple[int, int], tmp_path: Path, snap_compare: Callable[..., bool]) -> None:
    app = frozen_demo(tmp_path / "demo")
    assert snap_compare(app, terminal_size=size, run_before=lambda pilot: _drive(pilot, shot))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("shot", SHOTS, ids=IDS)
def test_no_colour(shot: Shot, size: tuple[int, int], tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    app = frozen_demo(tmp_path / "demo")
    box: dict[str, Any] = {}

    async def auto_pilot(pilot: Pilot[None]) -> None:
        await _drive(pilot, shot)
        await pilot.wait_for_scheduled_animations()
        box["svg"] = monochrome_svg(pilot.app)
        pilot.app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    assert snapshot.use_extension(SVGImageExtension) == box["svg"]
