"""The store's bounded audit reads (`audit_tail`, `audit_after`) that the Activity pane follows the log
with, on both backends: the last N entries, then only what was appended since, never the whole log.

Parametrised like tests/test_store_contract.py: "local" (a directory) and "postgresql" (the tests'
private cluster).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg

from tui.core.hosts import HostRecord
from tui.services.store import Actor, FleetStore, Store
from tui.services.store.postgres import PostgresStore
from tui.services.store.postgres.tail import GAP_WINDOW, follow_cursor, parse_cursor

from . import test_store_contract

# The backends' fixture of the contract tests: "local" (a directory) and "postgresql".
make = test_store_contract.make


def rec(name: str) -> HostRecord:
    return HostRecord(name, "qemu:///system", "pool1", "libvirt1")


def test_tail_then_follow_reads_each_entry_once_in_order(make: Callable[[str], FleetStore]) -> None:
    alice, bob = make("alice"), make("bob")
    empty = alice.audit_tail(10)
    assert empty.entries == []
    assert not empty.reset
    alice.add_hosts([rec(f"n{i:02d}") for i in range(12)], reason="rack")
    tail = alice.audit_tail(5)
    assert [e.host for e in tail.entries] == [f"n{i:02d}" for i in range(7, 12)]
    assert not tail.more
    assert not tail.reset
    nothing = alice.audit_after(tail.cursor, 100)
    assert nothing.entries == []
    assert nothing.cursor == tail.cursor
    # Another admin's changes and an action (intent and outcome apart: raw) follow.
    bob.remove_host("n03", reason="dead PSU")
    intent = bob.begin("vm.stop", "n1", "web1", None, "maintenance")
    bob.finish(intent, "failed", {"result": "failed"}, "domain not found")
    first = alice.audit_after(tail.cursor, 2)
    assert [(e.what, e.who.user) for e in first.entries] == [("host.remove", "bob"), ("vm.stop", "bob")]
    assert first.entries[1].kind == "intent"
    assert first.more
    rest = alice.audit_after(first.cursor, 2)
    assert [(e.kind, e.intent) for e in rest.entries] == [("outcome", intent)]
    assert rest.entries[0].result == "failed"
    assert not rest.more
    assert alice.audit_after(rest.cursor, 10).entries == []
    # The empty store's cursor also follows: the first entries ever written are read, not skipped.
    all_ids = [e.id for e in alice.audit(raw=True)]
    assert [e.id for e in alice.audit_after(empty.cursor, 1000).entries] == all_ids


def test_a_foreign_cursor_resets_to_the_tail(make: Callable[[str], FleetStore]) -> None:
    store = make("alice")
    store.add_hosts([rec("a"), rec("b")])
    page = store.audit_after("not a cursor", 1)
    assert page.reset
    assert [e.host for e in page.entries] == ["b"]
    assert store.audit_after(page.cursor, 10).entries == []


def test_local_log_replaced_reads_as_reset(tmp_path: Path) -> None:
    store = Store(tmp_path / "db", actor=Actor("alice"))
    store.add_hosts([rec("a"), rec("b")])
    cursor = store.audit_tail(10).cursor
    path = tmp_path / "db" / "audit.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    replacement = tmp_path / "db" / "new.jsonl"
    replacement.write_bytes(lines[0])
    os.replace(replacement, path)  # restored from a backup: another file, shorter
    page = store.audit_after(cursor, 10)
    assert page.reset
    assert [e.host for e in page.entries] == ["a"]


def test_local_unterminated_line_waits_for_its_end(tmp_path: Path) -> None:
    store = Store(tmp_path / "db", actor=Actor("alice"))
    store.add_host(rec("a"))
    cursor = store.audit_tail(10).cursor
    path = tmp_path / "db" / "audit.jsonl"
    whole = path.read_bytes()
    store.add_host(rec("b"))
    appended = path.read_bytes()[len(whole) :]
    path.write_bytes(whole + appended[:-10])  # an append in progress
    assert store.audit_after(cursor, 10).entries == []
    assert [e.host for e in store.audit_tail(10).entries] == ["a"]
    path.write_bytes(whole + appended)
    assert [e.host for e in store.audit_after(cursor, 10).entries] == ["b"]


def test_postgres_late_commit_of_a_lower_seq_is_not_missed(pg_url: str) -> None:
    """A transaction that took its sequence number first but commits last is still read."""
    store = PostgresStore(pg_url, actor=Actor("alice"))
    try:
        store.add_host(rec("a"))
        cursor = store.audit_tail(10).cursor
        slow = psycopg.connect(pg_url)
        inserted = threading.Event()
        with slow.transaction():
            slow.execute(
                "INSERT INTO vmdeck_audit (id, kind, at, who_user, what, host) "
                "VALUES ('late-1', 'event', now(), 'carol', 'console.refused', 'late')"
            )
            inserted.set()
            store.add_host(rec("b"))  # takes a higher seq and commits first
            page = store.audit_after(cursor, 10)
            assert [e.host for e in page.entries] == ["b"]
            cursor = page.cursor
        slow.close()
        late = store.audit_after(cursor, 10)
        assert [e.id for e in late.entries] == ["late-1"]
        assert store.audit_after(late.cursor, 10).entries == []
        assert inserted.is_set()
    finally:
        store.close()


def test_postgres_cursor_forgets_old_gaps() -> None:
    cursor = follow_cursor([1, 3], None)
    assert parse_cursor(cursor) == (3, frozenset({2}))
    far = follow_cursor([3 + GAP_WINDOW + 5], parse_cursor(cursor))
    last, gaps = parse_cursor(far) or (0, frozenset())
    assert last == 3 + GAP_WINDOW + 5
    assert 2 not in gaps
    assert max(gaps) == last - 1
    assert parse_cursor("12:34") is None
    assert parse_cursor("pg:x") is None
