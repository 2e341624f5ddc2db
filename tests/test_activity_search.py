"""The Activity pane's `/` filter in bounded steps (tui/console/activitysearch.py): the same rows as
matching every entry at once, whether it runs in one step or many, narrows a previous result or
starts over after the log changed."""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import Static

from tui.console import activitysearch
from tui.console.activitylog import ActivityLog, LogEntry
from tui.console.activitysearch import LogSearch, case_free
from tui.console.app import make_app
from tui.console.panes import activity
from tui.console.panes.activity import ActivityPane
from tui.console.session import Session
from tui.console.text import TextFilter
from tui.services.store.audit import Actor, AuditEntry

from .livefixtures import make_config
from .test_ui_console import wait_for


def log_of(count: int) -> ActivityLog:
    log = ActivityLog()
    raw = [
        AuditEntry(
            "2026-12-01T10:00:00+00:00",
            Actor("bob" if n % 2 else "carol"),
            "host.state",
            f"node{n % 50:02d}",
            None,
            None,
            f"rack {n}",
            id=f"e{n}",
        )
        for n in range(count)
    ]
    log.add_history(log.audit_rows(raw))
    return log


def plain(log: ActivityLog, text: str) -> list[LogEntry]:
    """What the pane showed before the search went in steps: every entry matched at once."""
    matches = TextFilter(text).matcher()
    return [e for e in log.newest_first() if matches(e.hay)]


def run(search: LogSearch, log: ActivityLog, text: str, budget: float = 1.0) -> int:
    search.start(log, TextFilter(text))
    steps = 0
    while not search.done:
        search.step(budget)
        steps += 1
    return steps


def test_steps_of_no_time_find_what_one_pass_finds_in_the_same_order() -> None:
    log = log_of(20_000)
    for text in ("node07", "carol", "rack 1[0-9]$", "nothing like this", "RACK 19999"):
        search = LogSearch()
        assert run(search, log, text) == 1
        assert search.rows == plain(log, text), text
        slow = LogSearch()
        assert run(slow, log, text, budget=0.0) == 5  # one chunk a step: 20,000 / 4,096
        assert slow.rows == plain(log, text), text


def test_typing_narrows_the_previous_result_and_a_regex_or_a_shorter_text_starts_over() -> None:
    log = log_of(5_000)
    search = LogSearch()
    run(search, log, "rack 1")
    previous = search.rows
    search.start(log, TextFilter("rack 12"))
    assert search._pool is previous  # only what "rack 1" kept is searched
    run(search, log, "rack 12")
    assert search.rows == plain(log, "rack 12")
    for text in ("rack 1", "rack 12$", "rack"):  # shorter, a regex, shorter again: the whole log
        search.start(log, TextFilter(text))
        assert search._pool is search._all
        run(search, log, text)
        assert search.rows == plain(log, text)


def test_a_changed_log_is_searched_whole_and_no_filter_is_every_entry() -> None:
    log = log_of(3_000)
    search = LogSearch()
    run(search, log, "node01")
    before = len(search.rows)
    log.add(
        log.audit_rows(
            [
                AuditEntry(
                    "2026-12-01T11:00:00+00:00",
                    Actor("eve"),
                    "host.add",
                    "node01x",
                    None,
                    None,
                    None,
                    id="new",
                )
            ]
        )
    )
    run(search, log, "node01x")  # narrows the text, but the log moved on: not the old result
    assert [e.key for e in search.rows] == ["audit:new"]
    run(search, log, "node01")
    assert len(search.rows) == before + 1
    assert search.rows[0].key == "audit:new"  # newest first
    search.start(log, TextFilter(""))
    assert search.done
    assert search.rows == log.newest_first()


async def test_the_pane_shows_the_first_rows_at_once_and_keeps_the_selected_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A filter over 30,000 entries in many steps (the first step given no time, so it cannot
    finish at once): the list grows to exactly what one pass keeps, the selected entry stays
    selected, and entries that arrive meanwhile are filtered once the search ends."""
    monkeypatch.setattr(activity, "FIRST_STEP_S", 0.0)
    monkeypatch.setattr(activitysearch, "STEP_S", 0.0)
    app = make_app(make_config(), [], session=Session("search"))
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.activity.log
        log.add_history(log_of(30_000).newest_first()[::-1])
        await pilot.press("6")
        await pilot.pause()
        pane = app.screen
        assert isinstance(pane, ActivityPane)
        assert len(pane.listing.rows) == 30_000
        # An old entry the filter keeps, whose row the search finds late.
        pane.listing.cursor = [e.key for e in pane.listing.rows].index("audit:e2500")
        selected = pane.listing.selected
        assert selected is not None
        text = "rack 2[0-9]*$"
        pane.set_filter(text)
        assert not pane.search.done
        assert " so far of 30000" in str(app.screen.query_one("#pane-header", Static).render())
        late = AuditEntry(
            "2026-12-01T12:00:00+00:00", Actor("eve"), "host.add", "n9", None, None, "rack 2", id="late"
        )
        log.add(log.audit_rows([late]))
        pane.log_changed()  # during the search: filtered when it ends
        await wait_for(pilot, lambda: pane.search.done and not pane._again, "the search's end")
        await pilot.pause()
        assert pane.listing.rows == plain(log, text)
        assert pane.listing.rows[0].key == "audit:late"
        assert pane.listing.selected is not None
        assert pane.listing.selected.key == selected.key
        assert " so far" not in str(app.screen.query_one("#pane-header", Static).render())


async def test_a_cursor_moved_during_the_search_stays_where_it_was_put(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(activity, "FIRST_STEP_S", 0.0)
    monkeypatch.setattr(activitysearch, "STEP_S", 0.0)
    app = make_app(make_config(), [], session=Session("search"))
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.activity.log
        log.add_history(log_of(30_000).newest_first()[::-1])
        await pilot.press("6")
        await pilot.pause()
        pane = app.screen
        assert isinstance(pane, ActivityPane)
        pane.listing.cursor = [e.key for e in pane.listing.rows].index("audit:e2500")
        pane.set_filter("rack 2[0-9]*$")
        assert not pane.search.done
        assert pane.listing.cursor == 0  # the selected entry is not among the first chunk's rows
        pane.listing.action_move(2)  # the admin moves on before the search ends
        moved = pane.listing.selected
        await wait_for(pilot, lambda: pane.search.done, "the search's end")
        assert pane.listing.cursor == 2
        assert pane.listing.selected is moved


_PIECES = ["a", "z", "9", "_", "!", "Z", ".", "*", "+", "?", "$", "^", "|", "(", ")", "-", "]"]
_PIECES += [r"\d", r"\w", r"\s", r"\b", r"\x41", r"\-", "[^a]", "[^"]
_RANGES = st.tuples(*[st.sampled_from("!09_az^`]-")] * 2).map(lambda ends: f"[{ends[0]}-{ends[1]}]")
_PATTERNS = st.lists(st.one_of(st.sampled_from(_PIECES), _RANGES), max_size=5).map("".join)


@settings(max_examples=500, deadline=None)
@given(_PATTERNS, st.lists(st.text(alphabet="abz09-_!]`^\n .", max_size=12), max_size=6))
def test_a_case_free_regex_matches_lower_case_text_as_the_case_insensitive_one_does(
    pattern: str, texts: list[str]
) -> None:
    """What the fast path relies on, on random patterns (ranges, classes, escapes) and texts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": still a pattern
        try:
            slow = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        except re.error:
            return
        if not case_free(pattern):
            return
        fast = re.compile(pattern, re.MULTILINE)
    for text in texts:
        assert (slow.search(text) is None) == (fast.search(text) is None), (pattern, text)


def test_what_is_not_case_free() -> None:
    assert case_free("node00[0-4]7$")
    assert case_free(r"vm\d+ [a-z]\w*")
    for pattern in (
        "Node",
        r"\x41",
        r"\101",
        "[!-_]",
        r"[\--z]",
        "[^]!-_]",
        "(?-i:a)",
        r"\N{DIGIT ONE}",
        "é",
    ):
        assert not case_free(pattern), pattern
