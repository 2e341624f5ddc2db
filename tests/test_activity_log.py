"""The Activity pane's model (tui/console/activitylog.py): bounded, outcomes merged into their intents,
history before what was heard since, every outside text printable."""

from __future__ import annotations

from tui.console.activitydetail import detail_fields
from tui.console.activitylog import ACTION, AUDIT, EVENT, ActivityLog, action_entry, event_entry
from tui.core.fleet import HostState
from tui.core.lifecycle import LifecycleEvent
from tui.services.store.audit import Actor, AuditEntry


def intent(ident: str, when: str = "2026-12-01T10:00:00+00:00") -> AuditEntry:
    return AuditEntry(
        when, Actor("carol"), "vm.stop", "n1", None, None, "ticket 42", id=ident, target="web1", kind="intent"
    )


def outcome(ident: str, of: str, when: str = "2026-12-01T10:00:04+00:00") -> AuditEntry:
    after = {"result": "failed", "message": "domain not found\nsecond line"}
    return AuditEntry(
        when,
        Actor("carol"),
        "vm.stop",
        "n1",
        None,
        after,
        None,
        id=ident,
        intent=of,
        result="failed",
        kind="outcome",
    )


def test_an_outcome_is_merged_into_its_intent_in_the_same_page_or_later() -> None:
    log = ActivityLog()
    log.add(log.audit_rows([intent("i1"), outcome("o1", "i1")]))
    [row] = list(log)
    assert (row.key, row.result, row.took, row.target) == ("audit:i1", "failed", 4.0, "web1")
    assert row.message == "domain not found\nsecond line"
    log.add(log.audit_rows([intent("i2")]))
    assert log.get("audit:i2").result == "running"
    log.add(log.audit_rows([outcome("o2", "i2")]))  # a later read: replaces the row where it is
    assert [e.key for e in log] == ["audit:i1", "audit:i2"]
    assert log.get("audit:i2").result == "failed"
    fields = dict(detail_fields(log.get("audit:i2")))
    assert fields["Reason"] == "ticket 42"
    assert fields["Took"] == "4.0s"
    assert "domain not found" in fields["Message"]
    assert fields["Kind"] == "intent + outcome"
    # An outcome whose intent is not in the log (older than the window) stands alone.
    log.add(log.audit_rows([outcome("o3", "gone")]))
    assert log.get("audit:o3").result == "failed"
    assert log.counts == {ACTION: 0, EVENT: 0, AUDIT: 3}


def test_the_log_is_bounded_and_history_goes_first() -> None:
    log = ActivityLog(limit=5)
    event = LifecycleEvent("n1", "web\x1b[31m1", "started", "booted", 1_700_000_000.0)
    for _ in range(4):
        log.add([event_entry(log.next_number(), event)])
    log.add_history(log.audit_rows([intent(f"h{i}") for i in range(3)]))
    keys = [e.key for e in log]
    assert len(keys) == 5
    assert keys[-4:] == [f"event:{n}" for n in range(1, 5)]
    assert log.counts == {ACTION: 0, EVENT: 4, AUDIT: 1}
    for _ in range(20):
        log.add([event_entry(log.next_number(), event)])
    assert len(log) == 5
    assert log.counts[EVENT] == 5
    assert log.counts[AUDIT] == 0
    assert log.newest_first()[0].key == "event:24"
    assert "\x1b" not in log.newest_first()[0].target  # text from outside is printable


def test_an_action_keeps_its_whole_message_and_duration() -> None:
    log = ActivityLog()
    entry = action_entry(
        log.next_number(),
        label="stop web1",
        what="vm.stop",
        target="web1",
        who="alice",
        result="FAILED",
        message="line one\nline two",
        began=100.0,
        ended=103.5,
        reason="maintenance",
    )
    log.add([entry])
    assert log.latest is entry
    assert entry.took == 3.5
    assert entry.cells()[-1] == "line one"
    assert entry.message.endswith("line two")
    assert "failed" in entry.hay
    assert "web1" in entry.hay


def test_the_feed_wakes_once_per_burst_and_bounds_its_inbox(tmp_path) -> None:
    from tui.console.activityfeed import INBOX_LIMIT, ActivityFeed, LifecycleHeard

    posted: list[object] = []
    log = ActivityLog()
    feed = ActivityFeed(log, None, posted.append, lambda job: job())
    event = LifecycleEvent("n1", "web1", "stopped", "destroyed", 1_700_000_000.0)
    for _ in range(INBOX_LIMIT + 5):
        feed.heard(event)
    assert len(posted) == 1
    assert isinstance(posted[0], LifecycleHeard)
    feed.take_events()
    assert len(log) == INBOX_LIMIT
    assert log.events_dropped == 5
    feed.heard(event)
    assert len(posted) == 2  # the next burst wakes the app again


def test_the_feed_reads_the_tail_then_only_what_is_new_one_read_at_a_time(tmp_path) -> None:
    from tui.console.activityfeed import ActivityFeed, AuditPageRead
    from tui.core.hosts import HostRecord
    from tui.services.store import Store

    store = Store(tmp_path / "db", actor=Actor("alice"))
    store.add_host(HostRecord("n1", "test:///default", "pool1", "libvirt1"), reason="rack")
    jobs: list[object] = []
    posted: list[object] = []
    log = ActivityLog()
    feed = ActivityFeed(log, store, posted.append, jobs.append)
    feed.start()
    feed.audit_changed()  # heard while the first read runs: read again after it, not twice at once
    assert len(jobs) == 1
    jobs.pop()()  # the worker
    [first] = posted
    assert isinstance(first, AuditPageRead)
    assert first.first
    store.set_state("n1", HostState.DISABLED, "PSU")
    feed.apply(first)
    assert [e.what for e in log] == ["host.add"]
    assert len(jobs) == 1  # the change heard meanwhile
    jobs.pop()()
    feed.apply(posted[-1])
    assert [e.what for e in log] == ["host.add", "host.state"]
    assert not posted[-1].first


def test_the_first_read_tells_how_long_the_history_is_and_later_reads_do_not(tmp_path) -> None:
    from tui.console.activityfeed import ActivityFeed
    from tui.core.hosts import HostRecord
    from tui.services.store import Store

    store = Store(tmp_path / "db", actor=Actor("alice"))
    store.add_host(HostRecord("n1", "test:///default", "pool1", "libvirt1"), reason="rack")
    posted: list[object] = []
    told: list[int] = []
    feed = ActivityFeed(ActivityLog(), store, posted.append, lambda job: job(), told.append)
    feed.start()
    feed.apply(posted[-1])
    assert told == [1]  # the console's heap decides from this whether to freeze (tests/test_ui_heap.py)
    store.set_state("n1", HostState.DISABLED, "PSU")
    feed.audit_changed()
    feed.apply(posted[-1])
    assert told == [1]
