"""Live tables: hidden panes catch up on changed hosts only, filters re-filter the pane's rows, the key
bar lists the pane's keys. Counted with spies on the panes' own methods (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tui.console.text import TextFilter, haystack
from tui.console.widgets.keybar import KeyBar
from tui.core.live import DomainState

from .test_ui_console import SIZE, console, polled, table_rows, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


class Spy:
    def __init__(self, obj: object, name: str) -> None:
        self.calls = 0
        original = getattr(obj, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(obj, name, counted)


async def test_hidden_vms_pane_updates_only_the_changed_host_when_shown(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4", "2")  # the VMs pane is built, then hidden
        await pilot.pause()
        vms = app.panes["vms"]
        rebuilds, rows_of = Spy(vms, "refresh_all"), Spy(vms, "all_rows")
        dom = next(d for d in app.view.domains("pool2-05") if d.state is DomainState.RUNNING)
        app.poller.connection("pool2-05").lookupByUUIDString(dom.uuid).destroy()  # type: ignore[union-attr]
        app.poller.request_poll("pool2-05")  # type: ignore[union-attr]
        await wait_for(pilot, lambda: "pool2-05" in vms.stale, "the change to reach the hidden pane")
        await pilot.press("4")
        await pilot.pause()
        assert table_rows(app)[f"pool2-05/{dom.uuid}"][2] == "shutoff"
        assert (rebuilds.calls, rows_of.calls) == (0, 0)  # one host's rows, not 70-odd rebuilt
        assert not vms.stale


async def test_filter_refilters_the_panes_rows_without_recomputing_them(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        await pilot.pause()
        vms = app.panes["vms"]
        rows_of = Spy(vms, "all_rows")
        everything = table_rows(app)
        vms.set_filter("gpu-0[12]-vm1$")
        await pilot.pause()
        shown = table_rows(app)
        assert set(shown) == {k for k, c in everything.items() if c[0] in ("gpu-01-vm1", "gpu-02-vm1")}
        vms.set_filter("")
        await pilot.pause()
        assert table_rows(app) == everything
        assert rows_of.calls == 0


def test_haystack_filter_keeps_fields_apart() -> None:
    cells = ("web-01", "pool2-01", "running")
    hay = haystack(cells)
    assert TextFilter("POOL2").matches_text(hay)
    assert TextFilter("^pool2-01$").matches_text(hay)  # anchors still work per field
    assert not TextFilter("01pool").matches_text(hay)  # no match across two fields
    assert not TextFilter("^web$").matches_text(hay)
    assert TextFilter("[").matches_text("a [ b")  # not a regex: a substring


async def test_key_bar_lists_the_panes_keys(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        text = str(app.screen.query_one(KeyBar).render())
        assert "r Drain" in text
        assert "d Disable" in text
        await pilot.press("4")
        await pilot.pause()
        text = str(app.screen.query_one(KeyBar).render())
        for keys in ["s Start VM", "x Stop", "k Destroy", "m Migrate", "c Scale", "/ Filter", "? Help"]:
            assert keys in text
        assert "no action yet" in str(app.screen.query_one("#pane-status", Static).render())
