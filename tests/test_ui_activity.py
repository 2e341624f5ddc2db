"""The Activity pane (`6`): this console's actions, libvirt lifecycle events and the store's audit, live.

Driven with Pilot on the demo (libvirt test:/// hosts, a real local store directory) and on host A of
the real test bed (a uniquely named transient guest of this test's own, removed afterwards). Each test
asserts on the log's entries and the store, and on what the pane shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid as uuidlib
from pathlib import Path

import libvirt
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tui.console.activitylog import ACTION, AUDIT, EVENT, LogEntry
from tui.console.app import VmdeckApp, make_app
from tui.console.dialogs import HelpScreen
from tui.console.panes.activity import ActivityDetailScreen, ActivityPane
from tui.console.session import Session
from tui.console.widgets.loglist import LogList
from tui.core.hosts import HostRecord
from tui.services.demo import prepare_demo
from tui.services.poller import PollerSettings
from tui.services.store import Actor, Store

from . import testbed
from .livefixtures import make_config
from .test_ui_console import SIZE, console, header, polled, wait_for

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def entries(app: VmdeckApp, source: str | None = None) -> list[LogEntry]:
    return [e for e in app.activity.log if source is None or e.source == source]


def shown(app: VmdeckApp) -> list[LogEntry]:
    rows = app.screen.query_one(LogList).rows
    return [r for r in rows if isinstance(r, LogEntry)]


def screen_text(app: VmdeckApp) -> str:
    return app.export_screenshot()


async def open_pane(pilot: Pilot[None]) -> ActivityPane:
    await pilot.press("6")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ActivityPane)
    return screen


async def audit_loaded(pilot: Pilot[None], app: VmdeckApp) -> None:
    await wait_for(pilot, lambda: app.activity.log.audit_cursor is not None, "the audit's first read")


async def test_another_admin_s_cli_change_appears_live(demo: Path) -> None:
    paths = prepare_demo(demo)
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        await open_pane(pilot)
        cursor = app.activity.log.audit_cursor
        reason = f"rack {uuidlib.uuid4().hex[:6]} power work"
        done = await asyncio.to_thread(  # another admin's vmdeck, while this console runs
            subprocess.run,
            [sys.executable, "-m", "tui.cli", "hosts", "state", "pool1-01", "disabled"]
            + ["--reason", reason, "--config", str(paths.config), "--db", str(paths.db)],
            cwd=REPO,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        await wait_for(
            pilot, lambda: any(reason in e.message for e in entries(app, AUDIT)), "the CLI's entry in the log"
        )
        [entry] = [e for e in entries(app, AUDIT) if reason in e.message]
        assert (entry.what, entry.target, entry.who) == ("host.state", "pool1-01", Store(paths.db).actor.user)
        assert app.activity.log.audit_cursor != cursor  # read incrementally after the cursor
        await wait_for(pilot, lambda: entry.key in {r.key for r in shown(app)}, "the row on screen")
        assert shown(app)[0].key == entry.key
        # Enter shows it whole: before and after, reason, who, when.
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ActivityDetailScreen)
        text = str(detail.query_one("#activity-detail-text", Static).render())
        assert f"Reason:    {reason}" in text
        assert '"state": "enabled"' in text
        assert '"state": "disabled"' in text
        assert "Before:" in text
        assert "After:" in text
        assert "Who:" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ActivityPane)


async def test_filter_keeps_matching_entries_and_esc_clears_it(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        pane = await open_pane(pilot)
        everything = len(shown(app))
        hosts = {e.target for e in entries(app, AUDIT) if e.what == "host.add"}
        assert "pool1-01" in hosts
        assert everything >= len(hosts)
        await pilot.press("slash", *"pool1-0[12]$", "enter")
        await pilot.pause()
        kept = shown(app)
        assert kept
        assert {e.target for e in kept} <= {"pool1-01", "pool1-02"}
        assert "filter /pool1-0[12]$/ (regex)" in header(app)
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown(app)) == everything
        assert pane.filter.text == ""


async def test_read_only_console_still_reads_the_audit_and_offers_no_change(demo: Path) -> None:
    async with console(demo, read_only=True).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        await open_pane(pilot)
        assert entries(app, AUDIT)
        assert shown(app)
        assert "READ-ONLY" in header(app)
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("x")  # a stop, refused: read-only
        await pilot.pause()
        await open_pane(pilot)
        await wait_for(pilot, lambda: any(e.result == "REFUSED" for e in entries(app, ACTION)), "the refusal")
        [refused] = [e for e in entries(app, ACTION) if e.result == "REFUSED"]
        assert "read-only" in refused.message


async def test_80x24_shows_the_columns_that_matter_and_help_lists_the_key(demo: Path) -> None:
    async with console(demo).run_test(size=(80, 24)) as pilot:
        app = await polled(pilot)
        await audit_loaded(pilot, app)
        await open_pane(pilot)
        text = screen_text(app)
        for label in ("When", "Who", "What", "Result", "Message"):
            assert label in text
        assert "Help" in text
        assert "Quit" in text
        listing = app.screen.query_one(LogList)
        assert listing.size.width == 80
        assert listing.size.height >= 18
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = [k for _title, section in app.screen.sections for k in section]
        assert ("6", "Activity") in keys
        assert ("enter", "Details") in keys
        assert "activity" in str(app.screen.query_one("#help-text", Static).render())
        await pilot.press("escape")
        await pilot.press("colon", *"activity", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ActivityPane)


async def test_postgres_store_other_admin_s_change_and_action_appear_live(pg_url: str) -> None:
    """The same follow on the PostgreSQL backend: LISTEN/NOTIFY says something changed, the pane
    reads only what is new; bob's change and bob's failed action (intent + outcome: one row)."""
    from tui.services.store.postgres import PostgresStore

    mine, bob = PostgresStore(pg_url, actor=Actor("alice")), PostgresStore(pg_url, actor=Actor("bob"))
    record = HostRecord("pgnode", "test:///default", "pool1", "libvirt1")
    mine.add_host(record, reason="rack")
    app = make_app(make_config(), [record], session=Session("pg"), store=mine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await audit_loaded(pilot, app)
            assert [e.what for e in entries(app, AUDIT)] == ["host.add"]
            await open_pane(pilot)
            bob.edit_host("pgnode", {"profile": "pool2"}, reason="new board")
            intent = bob.begin("vm.stop", "pgnode", "web9", None, "ticket 7")
            bob.finish(intent, "failed", {"result": "failed"}, "domain not found")
            await wait_for(pilot, lambda: len(entries(app, AUDIT)) == 3, "bob's entries")
            await wait_for(pilot, lambda: entries(app, AUDIT)[-1].result == "failed", "the outcome")
            edit, stop = entries(app, AUDIT)[1:]
            assert (edit.what, edit.who, edit.message) == ("host.edit", "bob", "new board")
            assert (stop.key, stop.target, stop.message) == (f"audit:{intent}", "web9", "domain not found")
            assert [r.key for r in shown(app)[:2]] == [stop.key, edit.key]
    finally:
        mine.close()
        bob.close()


URIS = testbed.testbed_uris()


@pytest.mark.kvm
@pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
async def test_a_test_bed_guest_s_lifecycle_events_appear(tmp_path: Path) -> None:
    assert URIS is not None
    store = Store(tmp_path / "db", actor=Actor("alice"))
    record = HostRecord("bedA", URIS[0], "pool1", "libvirt1")
    store.add_host(record, reason="test bed")
    app = make_app(
        make_config(), [record], session=Session("test bed"), store=store, poller_settings=PollerSettings()
    )
    name = f"vmdeck-test-activity-{uuidlib.uuid4().hex[:8]}"
    kind = "kvm" if testbed.testbed_kvm() else "qemu"
    conn = libvirt.open(URIS[0])
    try:
        async with app.run_test(size=SIZE) as pilot:
            await polled(pilot)
            await open_pane(pilot)
            dom = conn.createXML(testbed.tiny_domain_xml(name, str(uuidlib.uuid4()), domain_type=kind), 0)
            await wait_for(
                pilot,
                lambda: any(
                    (e.target, e.what, e.message) == (name, "started", "booted") for e in entries(app, EVENT)
                ),
                "the started event",
            )
            dom.destroy()
            await wait_for(
                pilot,
                lambda: any(
                    (e.what, e.message) == ("stopped", "destroyed") for e in shown(app) if e.target == name
                ),
                "the stopped event on screen",
            )
            [stopped] = [e for e in entries(app, EVENT) if e.target == name and e.what == "stopped"]
            assert stopped.who == "bedA"
    finally:
        testbed.remove_test_objects(URIS[0], name)
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()
