"""The local change feed, one tick at a time (no threads, no timing): what it reports and when.

The file watch must name who made each change whichever file a writer replaces first, re-read once
the change is in force, and still notice a hosts.json edited by hand (no audit entry)."""

from __future__ import annotations

import json
from pathlib import Path

from tui.services.store.audit import Actor, AuditEntry, now_iso
from tui.services.store.feed import FileFeed, StoreChange
from tui.services.store.files import atomic_write


def entry(host: str, state: str) -> AuditEntry:
    return AuditEntry(
        now_iso(), Actor("alice"), "host.state", host, {"state": "enabled"}, {"state": state}, "r"
    )


def append(directory: Path, e: AuditEntry) -> None:
    with (directory / "audit.jsonl").open("a") as f:
        f.write(json.dumps(e.to_json()) + "\n")


def replace_hosts(directory: Path, state: str) -> None:
    atomic_write(
        directory / "hosts.json", json.dumps({"hosts": {"1": {"name": "n1", "state": state}}}).encode()
    )


def feed(directory: Path) -> tuple[FileFeed, list[StoreChange]]:
    replace_hosts(directory, "enabled")
    append(directory, entry("n1", "enabled"))
    seen: list[StoreChange] = []
    return FileFeed(directory, seen.append, None), seen


def test_audit_first_then_file_reports_who_and_rereads_when_in_force(tmp_path: Path) -> None:
    watch, seen = feed(tmp_path)
    watch.tick()
    assert seen == []  # history is not replayed
    append(tmp_path, entry("n1", "disabled"))
    watch.tick()
    assert seen == [StoreChange("host", "n1", "alice", "host.state")]
    replace_hosts(tmp_path, "disabled")
    watch.tick()  # the change is in force only now: the same change again, to be re-read
    assert seen[1:] == [StoreChange("host", "n1", "alice", "host.state")]
    watch.tick()
    assert len(seen) == 2


def test_file_first_then_audit_still_names_who(tmp_path: Path) -> None:
    watch, seen = feed(tmp_path)
    replace_hosts(tmp_path, "disabled")
    watch.tick()
    assert seen == []  # the entry may follow: wait one tick before calling it a hand edit
    append(tmp_path, entry("n1", "disabled"))
    watch.tick()
    assert seen == [StoreChange("host", "n1", "alice", "host.state")]


def test_a_hand_edit_of_hosts_json_is_reported_without_a_who(tmp_path: Path) -> None:
    watch, seen = feed(tmp_path)
    replace_hosts(tmp_path, "no-scheduling")
    watch.tick()
    watch.tick()
    assert seen == [StoreChange("host", None, "?", "hosts.json changed")]


def test_a_torn_entry_is_taken_whole_on_a_later_tick_and_damage_is_skipped(tmp_path: Path) -> None:
    watch, seen = feed(tmp_path)
    line = json.dumps(entry("n2", "disabled").to_json())
    with (tmp_path / "audit.jsonl").open("a") as f:
        f.write("not json\n" + line[:20])
    watch.tick()
    assert seen == []
    with (tmp_path / "audit.jsonl").open("a") as f:
        f.write(line[20:] + "\n")
    watch.tick()
    assert seen == [StoreChange("host", "n2", "alice", "host.state")]


def test_reloads_coalesce_a_burst_into_one_reread_at_a_time() -> None:
    from tui.console.storefeed import Reloads

    reloads = Reloads()
    assert reloads.heard(StoreChange("host", "n1", "alice", "host.state"))
    assert reloads.take() == (["n1"], "alice")
    # 800 changes while that re-read runs: no new worker now, one re-read of what they named after.
    for i in range(800):
        assert not reloads.heard(StoreChange("host", f"n{i % 3}", "bob" if i % 2 else "carol", "host.edit"))
    assert reloads.finished()
    assert reloads.take() == (["n0", "n1", "n2"], "carol, bob")
    assert not reloads.heard(StoreChange("host", None, "", "store.reconnected"))
    assert reloads.finished()
    assert reloads.take() == (None, "")  # "re-read everything" wins over single names
    assert not reloads.finished()
