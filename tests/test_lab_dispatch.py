"""Every lab key names something the lab does: an action of its own or a view to show."""

from __future__ import annotations

from tui.ui.lab.controller import ACTIONS, LAB_BINDINGS, PLAN_KINDS, SHOW, TABS


def test_every_lab_key_has_an_action_or_a_view() -> None:
    views = {name for name, _label in TABS}
    names = {binding.action[len("lab('") : -len("')")] for binding in LAB_BINDINGS}
    assert names - set(ACTIONS) - views == set()
    assert set(ACTIONS) <= names  # no action without a key


def test_every_result_kind_has_a_view_to_show_it() -> None:
    assert set(SHOW) == {"response", "curve", "replay-run", "replay", "ab", *PLAN_KINDS}
