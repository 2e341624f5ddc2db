"""One change, one row in the Activity pane (`6`): an action this console ran and the store's audit
entries of it (intent and outcome) are one entry, whichever reaches the log first, on the demo (a real
local store directory, libvirt test:/// hosts) and on PostgreSQL; after a restart the audit's row alone.
Each test asserts on the log, the store's raw entries and what the pane and its detail show.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from tui.console.activitylog import ACTION, AUDIT, LogEntry, event_entry
from tui.console.app import VmdeckApp, make_app
from tui.console.messages import ActionJob, ActionRequested, Report
from tui.console.panes.activity import ActivityDetailScreen
from tui.console.session import Session
from tui.console.widgets.loglist import LogList
from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.services.actions import Deck, Failed, Outcome
from tui.services.actions.path import Note
from tui.services.poller import PollerSettings
from tui.services.store import Actor, Store

from .livefixtures import make_config
from .test_ui_actions import confirm, finished, on_vms_pane, running_vm, status_line
from .test_ui_activity import audit_loaded, demo, entries, open_pane, screen_text, shown
from .test_ui_console import SIZE, console, polled, wait_for

__all__ = ["demo"]  # the fixture


def one_row(app: VmdeckApp, what: str) -> LogEntry:
    """The log's only row of `what` (this console's action and its audit entries are one)."""
    [row] = [e for e in app.activity.log if e.what == what]
    return row


def joined_in(app: VmdeckApp, key: str) -> bool:
    """Whether the row `key` holds both the stored intent and its outcome."""
    row = app.activity.log.get(key)
    return row is not None and row.audit is not None and row.outcome is not None


async def detail_of(pilot: Pilot[None], app: VmdeckApp, key: str) -> str:
    """Select the row `key` in the open Activity pane, Enter, and return the detail's text."""
    listing = app.screen.query_one(LogList)
    listing.cursor = [r.key for r in listing.rows].index(key)
    await pilot.press("enter")
    await pilot.pause()
    detail = app.screen
    assert isinstance(detail, ActivityDetailScreen)
    text = str(detail.query_one("#activity-detail-text", Static).render())
    await pilot.press("escape")
    await pilot.pause()
    return text


async def test_a_console_action_is_one_row_with_its_result_duration_and_audit(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("x")
        await pilot.pause()
        await confirm(pilot, "maintenance window")
        await finished(pilot, app)
        # The status line names the outcome and where to read it whole.
        assert f"ok: vm.stop {vm.name}" in status_line(app)
        assert status_line(app).endswith("— 6 Activity")
        # The store's entries of the stop: an intent and its outcome; the action's row is keyed by the intent.
        [intent, outcome] = [e for e in Store(demo / "db").audit(raw=True) if e.what == "vm.stop"]
        assert (intent.kind, outcome.kind, outcome.intent) == ("intent", "outcome", intent.id)
        action = app.activity.log.get(f"audit:{intent.id}")
        assert action is not None
        assert action is app.activity.log.latest
        await wait_for(pilot, lambda: joined_in(app, action.key), "the stop's audit entries in its row")
        # One row for the change, whichever came first: the action's facts and the audit's.
        row = one_row(app, "vm.stop")
        assert (row.key, row.source, row.target, row.result) == (action.key, ACTION, vm.name, "ok")
        assert row.took is not None
        assert row.took >= 0
        assert f"{vm.name} shut down on pool2-01" in row.message
        assert row.who == Store(demo / "db").actor.user
        assert ("Reason", "maintenance window") in row.details
        assert not [e for e in entries(app, AUDIT) if e.what == "vm.stop"]
        assert app.activity.log.counts[AUDIT] == len(entries(app, AUDIT))
        pane = await open_pane(pilot)
        assert [r.key for r in shown(app) if r.what == "vm.stop"] == [row.key]
        assert row in shown(app)[:3]  # newest first
        assert pane.listing.selected is shown(app)[0]
        assert "vm.stop" in screen_text(app)
        # Enter shows it whole: the action's result and duration, the audit's who, before/after, ids.
        text = await detail_of(pilot, app, row.key)
        assert "Source:    this console; audited in the store" in text
        assert f"{vm.name} shut down on pool2-01" in text
        assert f"Took:      {row.cells()[6]}" in text
        assert "Reason:    maintenance window" in text
        assert f"Who:       {Store(demo / 'db').actor}" in text
        assert "Audit:     intent + outcome" in text
        assert "Before:" in text
        assert '"result": "ok"' in text  # the stored outcome's after
        assert f"Entry id:  {intent.id} (outcome {outcome.id})" in text
    # After a restart the console ran nothing: the stored change is the audit's row alone.
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        again = one_row(app, "vm.stop")
        assert (again.key, again.source, again.result) == (f"audit:{intent.id}", AUDIT, "ok")
        assert again.took is not None
        assert not entries(app, ACTION)


async def test_an_audit_entry_read_before_its_action_ended_becomes_the_action_s_row(demo: Path) -> None:
    """The intent is read while the action still runs (its body waits for that): one row, which
    moves to where the action ended and keeps the action's result, message and duration."""
    reached = threading.Event()

    def note(deck: Deck, _report: Report) -> Outcome:
        def body(_note: Note) -> str:
            if not reached.wait(20):
                raise Failed("the audit row never came")
            return "noted\nsecond line of the result"

        return deck.run("host.note", "pool1-01", body, reason="ticket 77")

    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        await open_pane(pilot)
        job = ActionJob("note pool1-01", note, host="pool1-01", reason="ticket 77", what="host.note")
        app.post_message(ActionRequested(job))
        await wait_for(pilot, lambda: any(e.what == "host.note" for e in entries(app, AUDIT)), "the intent")
        [running] = [e for e in entries(app, AUDIT) if e.what == "host.note"]
        assert running.result == "running"
        event = LifecycleEvent("pool1-01", "web1", "started", "booted", 1_700_000_000.0)
        app.activity.log.add([event_entry(app.activity.log.next_number(), event)])  # a newer row
        reached.set()
        await finished(pilot, app)
        await wait_for(pilot, lambda: joined_in(app, running.key), "the outcome in the row")
        row = one_row(app, "host.note")
        assert (row.key, row.source, row.result) == (running.key, ACTION, "ok")
        assert row.message == "noted\nsecond line of the result"
        assert row.took is not None
        assert list(app.activity.log)[-1] is row  # where the action ended: after the event
        assert row is app.activity.log.latest
        [intent, outcome] = [e for e in Store(demo / "db").audit(raw=True) if e.what == "host.note"]
        assert running.key == f"audit:{intent.id}"
        await wait_for(pilot, lambda: shown(app)[0].key == row.key, "the row on top")
        text = await detail_of(pilot, app, row.key)
        assert "second line of the result" in text
        assert "Reason:    ticket 77" in text
        assert f"Entry id:  {intent.id} (outcome {outcome.id})" in text


async def test_postgres_store_this_console_s_action_and_its_audit_are_one_row(pg_url: str) -> None:
    """On the PostgreSQL backend too: the action this console ran on the one action path (lease,
    intent, outcome in the database) and the entries the feed reads back are one row."""
    from tui.services.store.postgres import PostgresStore

    mine = PostgresStore(pg_url, actor=Actor("alice"))
    record = HostRecord("pgact", "test:///default", "pool1", "libvirt1")
    mine.add_host(record, reason="rack")

    def note(deck: Deck, _report: Report) -> Outcome:
        return deck.run("host.note", "pgact", lambda _note: "noted on pgact", reason="ticket 9")

    app = make_app(
        make_config(), [record], session=Session("pg"), store=mine, poller_settings=PollerSettings()
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await polled(pilot)
            await audit_loaded(pilot, app)
            await open_pane(pilot)
            job = ActionJob("note pgact", note, host="pgact", reason="ticket 9", what="host.note")
            app.post_message(ActionRequested(job))
            await finished(pilot, app)
            [intent, outcome] = [e for e in mine.audit(raw=True) if e.what == "host.note"]
            assert (intent.who.user, outcome.intent, outcome.result) == ("alice", intent.id, "ok")
            await wait_for(pilot, lambda: joined_in(app, f"audit:{intent.id}"), "the entries in the row")
            row = one_row(app, "host.note")
            assert (row.key, row.source, row.who, row.result) == (f"audit:{intent.id}", ACTION, "alice", "ok")
            assert row.message == "noted on pgact"
            assert [e.what for e in entries(app, AUDIT)] == ["host.add"]
            await wait_for(pilot, lambda: shown(app)[0].key == row.key, "the row on top")
            text = await detail_of(pilot, app, row.key)
            assert "Who:       alice" in text
            assert "Reason:    ticket 9" in text
            assert f"Entry id:  {intent.id} (outcome {outcome.id})" in text
    finally:
        mine.close()
