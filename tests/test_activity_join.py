"""One change, one row (tui/console/activitylog.py `joined`): an action this console ran on the one action
path and the store's entries of it, whichever reaches the log first.

A real local store and the real ActionPath write the intent and the outcome; the console's
`Activity` logs the action as the app does; the audit is read back as the feed reads it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tui.console.activity import Activity
from tui.console.activitydetail import detail_fields
from tui.console.activitylog import ACTION, AUDIT, AUDITED, EVENT, ActivityLog, LogEntry, event_entry
from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.services.actions import Outcome
from tui.services.actions.path import ActionPath, Note
from tui.services.store import Actor, Store
from tui.services.store.audit import AuditEntry


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "db", actor=Actor("alice"))
    store.add_host(HostRecord("n1", "test:///default", "pool1", "libvirt1"), reason="rack")
    return store


def act(store: Store, message: str = "noted\nwhole result") -> Outcome:
    def body(note: Note) -> str:
        note.host = "n1"
        return message

    return ActionPath(store).run("host.note", "n1", body, reason="ticket 5")


def raw(store: Store, what: str = "host.note") -> list[AuditEntry]:
    return [e for e in store.audit(raw=True) if e.what == what]


def finish(activity: Activity, outcome: Outcome) -> None:
    token = activity.started("note n1", host="n1", what="host.note", reason="ticket 5")
    activity.finished(token, outcome)


def test_the_action_path_tells_the_intent_it_wrote_and_audits_as_before(store: Store) -> None:
    outcome = act(store)
    intent, done = raw(store)
    assert outcome.intent == intent.id
    assert done.intent == intent.id
    assert "intent" not in done.after  # the stored outcome is what it was
    assert "intent" not in outcome.to_json()  # nor the CLI's JSON
    assert outcome == Outcome("host.note", "n1", "n1", outcome.result, outcome.message)


def test_the_action_first_then_its_audit_entries_make_one_row(store: Store) -> None:
    log = ActivityLog()
    activity = Activity(log)
    log.add(log.audit_rows(store.audit(raw=True)))  # the host.add, read before
    finish(activity, act(store))
    [action] = [e for e in log if e.source == ACTION]
    intent, done = raw(store)
    assert action.key == f"audit:{intent.id}"
    assert dict(detail_fields(action))["Entry id"].startswith(f"{intent.id} (the store's audit intent")
    log.add(log.audit_rows(raw(store)))  # the feed reads the intent and the outcome after it ended
    assert [e.key for e in log][-1] == action.key
    assert log.counts == {ACTION: 1, EVENT: 0, AUDIT: 1}
    assert len(log) == 2
    row = log.get(action.key)
    assert row is not None
    assert row is log.latest
    assert (row.source, row.result, row.message, row.took) == (ACTION, "ok", action.message, action.took)
    assert row.who == "alice"  # as the store recorded it
    assert "alice" in row.hay
    fields = dict(detail_fields(row))
    assert fields["Source"] == AUDITED
    assert fields["Who"] == "alice"
    assert fields["Reason"] == "ticket 5"
    assert fields["Message"] == "noted\nwhole result"
    assert fields["Audit"] == "intent + outcome"
    assert fields["Entry id"] == f"{intent.id} (outcome {done.id})"
    assert (fields["Intent at"], fields["Outcome at"]) == (intent.when, done.when)
    assert '"result": "ok"' in fields["After"]


def test_the_audit_entries_first_then_the_action_make_one_row_where_the_action_ended(store: Store) -> None:
    log = ActivityLog()
    activity = Activity(log)
    outcome = act(store)
    intent, done = raw(store)
    log.add(log.audit_rows([intent]))  # read while the action runs
    assert log.get(f"audit:{intent.id}").result == "running"  # type: ignore[union-attr]
    log.add([event_entry(log.next_number(), LifecycleEvent("n1", "web1", "started", "booted", 1.0))])
    finish(activity, outcome)
    assert [e.source for e in log] == [EVENT, ACTION]  # the row moved to where the action ended
    assert dict(detail_fields(log.newest_first()[0]))["Audit"] == "intent (outcome not read yet)"
    assert log.counts == {ACTION: 1, EVENT: 1, AUDIT: 0}
    log.add(log.audit_rows([done]))  # the outcome, read after the action ended
    row = log.get(f"audit:{intent.id}")
    assert row is not None
    assert row is log.latest
    assert (row.source, row.result, row.message) == (ACTION, "ok", "noted\nwhole result")
    assert row.took is not None
    assert dict(detail_fields(row))["Entry id"] == f"{intent.id} (outcome {done.id})"
    assert log.counts == {ACTION: 1, EVENT: 1, AUDIT: 0}
    assert len(log) == 2


def test_intent_and_outcome_read_before_the_action_ended_make_one_row(store: Store) -> None:
    log = ActivityLog()
    outcome = act(store)
    log.add(log.audit_rows(raw(store)))
    [audited] = list(log)
    assert (audited.source, audited.result) == (AUDIT, "ok")
    finish(Activity(log), outcome)
    [row] = list(log)
    assert (row.key, row.source, row.result, row.message) == (audited.key, ACTION, "ok", outcome.message)
    assert (row.audit, row.outcome) == (audited.audit, audited.outcome)
    assert log.counts == {ACTION: 1, EVENT: 0, AUDIT: 0}


def test_an_action_that_ended_before_the_first_read_takes_its_entries_from_the_history(store: Store) -> None:
    log = ActivityLog()
    activity = Activity(log)
    outcome = act(store)
    finish(activity, outcome)
    log.add_history(log.audit_rows(store.audit(raw=True)))
    assert [e.what for e in log] == ["host.add", "host.note"]  # the history first, then the action
    row = log.newest_first()[0]
    assert row is log.latest
    assert (row.source, row.who, row.message) == (ACTION, "alice", outcome.message)
    assert dict(detail_fields(row))["Audit"] == "intent + outcome"
    assert log.counts == {ACTION: 1, EVENT: 0, AUDIT: 1}
    # The store's log replaced: the action stays, without what was read from the old log.
    log.clear_audit()
    [kept] = list(log)
    assert (kept.key, kept.source, kept.audit, kept.outcome) == (row.key, ACTION, None, None)
    assert dict(detail_fields(kept))["Message"] == outcome.message


def test_refusals_other_admins_and_restarts_keep_their_own_rows(store: Store, tmp_path: Path) -> None:
    log = ActivityLog()
    activity = Activity(log)
    refused = ActionPath(store, read_only=True).run("host.note", "n1", lambda _n: "never")
    assert refused.intent is None  # read-only: nothing reached the store
    finish(activity, refused)
    bob = Store(tmp_path / "db", actor=Actor("bob"))
    theirs = act(bob)  # another admin's action: audit rows only here
    log.add(log.audit_rows(store.audit(raw=True)))
    sources = [(e.source, e.what, e.result) for e in log]
    assert sources == [
        (ACTION, "host.note", "REFUSED"),
        (AUDIT, "host.add", "done"),
        (AUDIT, "host.note", "ok"),
    ]
    assert log.get(f"audit:{theirs.intent}").who == "bob"  # type: ignore[union-attr]
    # A console opened later (a restart) ran nothing: the audit's row alone, as for anyone's change.
    later = ActivityLog()
    later.add_history(later.audit_rows(store.audit(raw=True)))
    assert [e.source for e in later] == [AUDIT, AUDIT]


def test_an_outcome_without_its_intent_in_the_log_still_joins_the_action(store: Store) -> None:
    log = ActivityLog()
    outcome = act(store)
    _intent, done = raw(store)
    finish(Activity(log), outcome)
    log.add(log.audit_rows([done]))  # the intent was never read (older than the first window)
    [row] = list(log)
    assert (row.source, row.message, row.audit) == (ACTION, outcome.message, None)
    fields = dict(detail_fields(row))
    assert fields["Audit"] == "outcome"
    assert fields["Entry id"].endswith(f"(outcome {done.id})")


def test_the_audit_worker_never_misses_a_row_while_it_moves(store: Store) -> None:
    """`add` moves a joined row to the end (absent for an instant) on the UI loop while the audit
    worker may be looking its intent up: a miss asks again under the lock the move holds."""
    log = ActivityLog()
    outcome = act(store)
    _intent, done = raw(store)
    finish(Activity(log), outcome)
    key = f"audit:{outcome.intent}"
    found: list[list[LogEntry]] = []
    worker = threading.Thread(target=lambda: found.append(log.audit_rows([done])))
    with log._moving:  # the instant of a move, held as `add` holds it
        row = log._entries.pop(key)
        worker.start()
        worker.join(0.2)  # the worker found nothing and waits for the move to end
        log._entries[key] = row
    worker.join()
    [[joined]] = found
    assert joined.key == key  # the outcome joins the action's row, not a row of its own
