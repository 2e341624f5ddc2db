"""Live everywhere: two Pilot-driven consoles and the CLI on one store see each other's changes.

Run on both backends (one PostgreSQL database; one local directory). The demo fleet (real test:///
hosts) is the fleet; console A changes a host's state with its keys, the CLI removes one host and
adds another, and each console must show every change — row updated with a notification naming
who made it, the removed host gone, the added one polled. Waits are bounded only so a failure ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tui.console.app import VmdeckApp
from tui.console.launch import build_console
from tui.core.fleet import HostState
from tui.services.demo import prepare_demo
from tui.services.store import open_store
from tui.services.store.copy import copy_store

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


@pytest.fixture(params=["local", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path, no_pgpass: Path) -> tuple[Path, str]:
    """(config, store location) of the demo fleet on the backend under test."""
    paths = prepare_demo(tmp_path / "demo")
    if request.param == "local":
        return paths.config, str(paths.db)
    url = str(request.getfixturevalue("pg_url"))
    copy_store(open_store(str(paths.db)), open_store(url))
    return paths.config, url


async def wait_for(pilots: list[Pilot[None]], condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        for pilot in pilots:
            await pilot.pause(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def rows(app: VmdeckApp) -> dict[str, list[str]]:
    table = app.screen.query_one(DataTable)
    return {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}


def notes(app: VmdeckApp) -> list[str]:
    return [n.message for n in app._notifications]


def vmdeck(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_two_consoles_and_the_cli_see_each_others_changes(fleet: tuple[Path, str]) -> None:
    config, location = fleet
    a, b = build_console(config, location), build_console(config, location)
    who = str(open_store(location).actor)
    async with a.run_test(size=SIZE) as pa, b.run_test(size=SIZE) as pb:
        pilots = [pa, pb]
        await wait_for(
            pilots, lambda: all(len(x.view.snapshots) == len(x.view.records) for x in (a, b)), "first polls"
        )
        # Console A disables pool1-01 with its keys; console B shows it, saying who did it.
        table = a.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("pool1-01"))
        await pa.pause()
        await pa.press("d", *"kernel update", "enter", "y")
        await wait_for(pilots, lambda: rows(b)["pool1-01"][1] == "Disabled", "B's row of pool1-01")
        assert b.view.records["pool1-01"].state is HostState.DISABLED
        await wait_for(pilots, lambda: f"pool1-01 disabled by {who}" in notes(b), "B's notification")
        # The CLI removes a host and adds one: both consoles follow, and the new host is polled.
        vmdeck("hosts", "remove", "pool1-02", "--reason", "returned", "--db", location)
        uri, realm = a.view.records["pool1-03"].uri, a.view.records["pool1-03"].realm
        vmdeck(
            "hosts",
            "add",
            "extra-01",
            "--uri",
            uri,
            "--profile",
            "pool1",
            "--realm",
            realm,
            "--config",
            str(config),
            "--db",
            location,
        )
        for app in (a, b):
            await wait_for(pilots, lambda app=app: "pool1-02" not in rows(app), "pool1-02 gone")
            await wait_for(pilots, lambda app=app: "extra-01" in app.view.snapshots, "extra-01 polled")
            assert "extra-01" in rows(app)
            assert f"pool1-02 removed by {who}" in notes(app)
        # Console B's own change reaches A the same way.
        table = b.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("extra-01"))
        await pb.pause()
        await pb.press("n", *"drain first", "enter", "y")
        await wait_for(pilots, lambda: rows(a)["extra-01"][1] == "No Scheduling", "A's row of extra-01")
        assert f"extra-01 no scheduling by {who}" in notes(a)


def header(app: VmdeckApp) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#pane-header", Static).render())


async def test_a_console_that_loses_its_store_keeps_the_fleet_refuses_changes_and_recovers(
    fleet: tuple[Path, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config, location = fleet
    app = build_console(config, location)
    if location.startswith("postgresql://"):
        cluster = request.getfixturevalue("pg_cluster")
        db = location.rsplit("/", 1)[1]

        def cut() -> None:
            cluster.sql("postgres", f"ALTER DATABASE {db} ALLOW_CONNECTIONS false")
            cluster.sql(
                "postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
            )

        def restore() -> None:
            cluster.sql("postgres", f"ALTER DATABASE {db} ALLOW_CONNECTIONS true")
    else:
        moved = tmp_path / "moved-away"

        def cut() -> None:
            os.rename(location, moved)

        def restore() -> None:
            # The refused change's audit entry may have recreated the directory (the local store
            # makes its directory on demand): the store that comes back is the one moved away.
            shutil.rmtree(location, ignore_errors=True)
            os.rename(moved, location)

    async with app.run_test(size=SIZE) as pilot:
        pilots = [pilot]
        await wait_for(pilots, lambda: len(app.view.snapshots) == len(app.view.records), "first poll")
        hosts_before = sorted(rows(app))
        cut()
        await wait_for(pilots, lambda: "store unreachable" in header(app), "the header's mark")
        assert sorted(rows(app)) == hosts_before  # the fleet is still shown
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("pool1-01"))
        await pilot.pause()
        await pilot.press("d", *"while cut off", "enter", "y")
        await wait_for(pilots, lambda: any("store unreachable" in n for n in notes(app)), "the refusal")
        assert app.view.records["pool1-01"].state is HostState.ENABLED
        restore()
        await wait_for(pilots, lambda: "store unreachable" not in header(app), "recovery")
        assert open_store(location).host("pool1-01").state is HostState.ENABLED  # type: ignore[union-attr]
        vmdeck("hosts", "state", "pool1-01", "disabled", "--reason", "after recovery", "--db", location)
        await wait_for(pilots, lambda: rows(app)["pool1-01"][1] == "Disabled", "a change after recovery")
