"""Every lab key names something the lab does (an action of its own or a view to show); the lab's
shared state changes only by being replaced."""

from __future__ import annotations

from tui.console.lab.keys import LAB_BINDINGS, TABS
from tui.console.lab.state import LabState
from tui.console.panes.sim import ACTIONS, VIEW_CLASSES
from tui.core.whatif import Edit, Scenario


def test_every_lab_key_has_an_action_or_a_view() -> None:
    views = {name for name, _label in TABS}
    names = {binding.action[len("lab('") : -len("')")] for binding in LAB_BINDINGS}
    assert names - set(ACTIONS) - views == set()
    assert set(ACTIONS) <= names  # no action without a key


def test_every_lab_view_name_has_a_widget() -> None:
    views = {name for name, _label in TABS}
    assert set(VIEW_CLASSES) == views - {"place"}  # place is the pane's own table


def test_lab_state_is_replaced_on_each_change_and_an_edit_replaces_its_parameters_earlier_one() -> None:
    first, other, again = (
        Edit.parse(t) for t in ("pool1.vcpus.soft=4", "pool2.offset=0", "pool1.vcpus.soft=6")
    )
    start = LabState()
    state = start.with_edit(first).with_edit(other).with_edit(again)
    assert start.edits == ()  # never changed in place
    assert [e.to_text() for e in state.edits] == ["pool2.offset=0", "pool1.vcpus.soft=6"]
    assert [e.to_text() for e in state.without_last_edit().edits] == ["pool2.offset=0"]
    assert (
        state.header()
        == "what-if lab on the live fleet, 2 curve edits in memory (the live config is never changed)"
    )
    opened = state.opened(Scenario(name="s1", config_hash="h"), None, (first,))
    assert opened.fleet_label() == "scenario s1's fleet"
    assert opened.edits == (first,)
    assert opened.live() == LabState((first,))
