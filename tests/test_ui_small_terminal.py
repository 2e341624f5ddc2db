"""80x24 is a first-class size: the key bar keeps `? Help` and `q Quit` (dropping the least important
keys first), notifications sit on the status line and never cover a table row, and in read-only
mode the key bar offers no key that changes the fleet. Driven with Pilot on the demo fleet."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from textual.widgets._toast import Toast

from tui.console.app import VmdeckApp, toast_line
from tui.console.widgets.keybar import ALWAYS, FILTER, OTHER, PANE, Entry, KeyBar, fit

from .test_ui_console import console, polled, wait_for

SMALL = (80, 24)
LARGE = (120, 40)
MUTATING_TEXTS = ["Enable", "No Sched", "Disable", "Drain", "Start VM", "Stop", "Destroy", "Migrate", "Scale"]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def key_bar(app: VmdeckApp) -> str:
    return str(app.screen.query_one(KeyBar).render())


def test_fit_drops_the_last_non_essential_entries_first() -> None:
    entries = [
        Entry("a Alpha", PANE),
        Entry("b Beta", PANE),
        Entry("/ Filter", FILTER),
        Entry("? Help", ALWAYS),
        Entry("esc Back", OTHER),
        Entry("q Quit", ALWAYS),
    ]
    assert fit(entries, 100) == "a Alpha  b Beta  / Filter  ? Help  esc Back  q Quit"
    assert fit(entries, 45) == "a Alpha  b Beta  / Filter  ? Help  q Quit  …"
    assert fit(entries, 40) == "a Alpha  / Filter  ? Help  q Quit  …"
    assert fit(entries, 30) == "/ Filter  ? Help  q Quit  …"
    assert fit(entries, 10) == "? Help  q Quit  …"  # never dropped, even when too narrow


@pytest.mark.parametrize("pane", ["1", "4"])
async def test_help_and_quit_stay_at_80x24(demo: Path, pane: str) -> None:
    async with console(demo).run_test(size=SMALL) as pilot:
        app = await polled(pilot)
        await pilot.press(pane)
        await pilot.pause()
        text = key_bar(app)
        assert "? Help" in text
        assert "q Quit" in text
        assert len(text) <= SMALL[0] - 2  # the bar's padding
        assert text.endswith("…")  # says keys were left off
        assert text.startswith("⏎ Details")  # the pane's first keys stay longest
        assert "/ Filter" in text


async def test_the_full_key_bar_at_120x40(demo: Path) -> None:
    async with console(demo).run_test(size=LARGE) as pilot:
        app = await polled(pilot)
        text = key_bar(app)
        for keys in ["e Enable", "n No Sched", "d Disable", "r Drain", "s Start VM", "c Check", ": Command"]:
            assert keys in text  # every pane key, and the app's keys but esc (one column short)
        assert "/ Filter" in text
        assert "? Help" in text
        assert "q Quit" in text


async def test_resizing_refits_the_key_bar(demo: Path) -> None:
    async with console(demo).run_test(size=LARGE) as pilot:
        app = await polled(pilot)
        assert "r Drain" in key_bar(app)
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert "r Drain" not in key_bar(app)
        assert "q Quit" in key_bar(app)


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_read_only_key_bar_offers_no_mutating_key(demo: Path, size: tuple[int, int]) -> None:
    async with console(demo, read_only=True).run_test(size=size) as pilot:
        app = await polled(pilot)
        for pane in ["1", "4"]:
            await pilot.press(pane)
            await pilot.pause()
            text = key_bar(app)
            assert not [word for word in MUTATING_TEXTS if word in text], text
            assert "⏎ Details" in text
            assert "? Help" in text
            assert "q Quit" in text
        await pilot.press("1")
        await pilot.pause()
        if size == LARGE:
            assert "c Check" in key_bar(app)  # a check reads the host: still offered
        await pilot.press("d")  # not offered, and pressed anyway: refused with the reason
        await pilot.pause()
        assert any("read-only" in str(n.message) for n in app._notifications)


async def test_notifications_use_the_status_line_not_the_selected_row(demo: Path) -> None:
    async with console(demo).run_test(size=SMALL, notifications=True) as pilot:
        app = await polled(pilot)
        status = app.screen.query_one("#pane-status", Static)
        await pilot.press("end")  # the cursor on the last row, right above the status line
        await pilot.pause()
        before = len(app._notifications)  # the demo's unreachable host is one
        app.notify("first\nsecond line", title="One", severity="warning")
        app.notify("the newest", title="Two", severity="error", timeout=0.5)
        await pilot.pause()
        assert str(status.render()) == "Two: the newest"  # one line: the newest is shown
        assert status.has_class("-notice-error")
        assert not app.screen.query(Toast)  # no toast drawn over the table
        assert len(app._notifications) == before + 2  # every one kept
        await wait_for(pilot, lambda: "Two" not in str(status.render()), "the notice to expire")
        assert str(status.render()).startswith("One: first · second line")  # the older one is back
        await pilot.press("4")  # another pane: the notice is the app's, shown there too
        await pilot.pause()
        assert str(app.screen.query_one("#pane-status", Static).render()).startswith("One:")


async def test_toasts_over_a_detail_screen_stay_toasts(demo: Path) -> None:
    async with console(demo).run_test(size=SMALL, notifications=True) as pilot:
        app = await polled(pilot)
        await pilot.press("enter")  # the host detail: not a pane
        await pilot.pause()
        app.notify("over the detail", title="Note")
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)), "the toast")


def test_toast_line_joins_title_and_lines() -> None:
    assert toast_line("Refused", "read-only mode\n\nno change") == "Refused: read-only mode · no change"
    assert toast_line("", "\x1b[31mred") == toast_line("", "\x1b[31mred").strip()
    assert "\x1b" not in toast_line("t\x1b", "\x1b[31mred")
