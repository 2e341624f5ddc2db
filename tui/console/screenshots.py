"""Regenerate screenshots/*.svg: every pane of the console on the demo fleet at 120×40.

    python -m tui.console.screenshots [--out screenshots]

The demo is built in a temporary data directory, so the screenshots never depend on (or change)
the user's own demo state.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from textual.pilot import Pilot

from tui.console.app import VmdeckApp
from tui.console.launch import build_console

SIZE = (120, 40)
REPO = Path(__file__).resolve().parents[2]


async def _wait_polled(pilot: Pilot[None], app: VmdeckApp) -> None:
    for _ in range(200):
        if len(app.view.snapshots) == len(app.view.records):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


async def capture(out: Path) -> list[Path]:
    """Drive the demo through each pane (and the detail, state, VM action and drain dialogs) and save an
    SVG of each."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = build_console(None, None, demo_dir=Path(tmp) / "demo")
        async with app.run_test(size=SIZE) as pilot:
            await _wait_polled(pilot, app)

            def save(name: str) -> None:
                written.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))

            save("hosts")
            await pilot.press("down", "down", "enter")
            await pilot.pause()
            save("host-detail")
            await pilot.press("escape", "d", *"firmware update")
            await pilot.pause()
            save("host-state-change")
            await pilot.press("escape")
            for key, name in [("2", "profiles"), ("3", "curves"), ("4", "vms")]:
                await pilot.press(key)
                await pilot.pause(0.2)
                save(name)
            await pilot.press("x", *"kernel update")  # a VM action: stop, with its reason
            await pilot.pause()
            save("vm-stop")
            await pilot.press("escape", "enter")  # the VM's detail, read from its host
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            save("vm-detail")
            await pilot.press("escape", "2", "enter")
            await pilot.pause()
            save("profile-detail")
            await pilot.press(
                "escape", "escape", "4", "s", *"web9", "enter", *"2 4GiB", "enter"
            )  # labelled fields
            await pilot.pause()
            save("vm-start")
            await pilot.press("escape", "1", "slash", *"pool2")  # the prompt overlays the pane
            await pilot.pause()
            save("filter-prompt")
            await pilot.press("escape", "r")  # drain: the scheduler's plan before confirming
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            save("host-drain")
            await pilot.press("escape")
            await pilot.press("5", "r", *"2 8GiB", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            save("sim")
            await pilot.press("e", *"pool2.offset=0", "enter", "escape")  # the what-if lab's views
            for key, name in [
                ("e", "curve"),
                ("l", "response"),
                ("w", "replay"),
                ("a", "ab"),
                ("b", "rebalance"),
            ]:
                await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause(0.5)
                save(f"lab-{name}")
                if name == "curve":
                    await pilot.press("escape")  # its edit line has the cursor: letters are text there
            await pilot.press("question_mark")
            await pilot.pause()
            save("help")
            await pilot.press("escape", "escape", "6")  # the Activity pane: the actions above, the audit
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            save("activity")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO / "screenshots", help="directory for the SVG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(capture(args.out)):
        print(path)


if __name__ == "__main__":
    main()
