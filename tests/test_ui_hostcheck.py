"""Host checks in the console (Pilot, on the demo's real libvirt test:/// hosts): the hosts table marks
a host whose last check failed, the host detail shows that check with its fixes, and `c` runs the
check again through the app's Deck, caching the new result for the next console."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tui.console.dialogs import HostDetailScreen
from tui.console.hostchecks import FAILED_MARK
from tui.core.hostcheck import CheckItem, HostCheckReport, Verdict
from tui.services.hostcheck import CheckCache

from .test_ui_actions import finished
from .test_ui_console import SIZE, console, polled, select_host, table_rows, wait_for

OLD = "2026-01-02T03:04:05+00:00"


def _failed(host: str) -> HostCheckReport:
    item = CheckItem(
        "device",
        "0000:01:02.0",
        Verdict.FAIL,
        "nvidia-gpu: no IOMMU group",
        "enable intel_iommu=on",
        "nvidia-gpu",
    )
    return HostCheckReport(host, OLD, (CheckItem("kvm", "kvm", Verdict.PASS, "ok"), item))


async def test_cached_failed_check_marks_the_host_and_shows_in_its_detail(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    app = console(demo)  # prepares the demo's store
    hosts = sorted(r.name for r in app.store.hosts())  # type: ignore[union-attr]
    failed, passed = hosts[0], hosts[1]
    CheckCache(demo / "db").save(
        [_failed(failed), HostCheckReport(passed, OLD, (CheckItem("kvm", "kvm", Verdict.PASS, "ok"),))]
    )
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        await wait_for(pilot, lambda: failed in app.view.checks, "the cached checks")
        await pilot.pause()
        rows = table_rows(app)
        assert rows[failed][0] == failed + FAILED_MARK
        assert rows[passed][0] == passed  # a passing check marks nothing
        await select_host(pilot, failed)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HostDetailScreen)
        summary = str(app.screen.query_one("#detail-summary", Static).render())
        assert "Host check (2026-01-02 03:04:05 UTC): FAIL — 1 fail, 0 warn, 1 pass" in summary
        assert "FAIL device 0000:01:02.0: nvidia-gpu: no IOMMU group" in summary
        assert "fix: enable intel_iommu=on" in summary


async def test_c_runs_the_check_again_and_caches_it(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    app = console(demo)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        host = sorted(app.view.records)[0]
        await select_host(pilot, host)
        await pilot.press("enter")
        await pilot.pause()
        summary = str(app.screen.query_one("#detail-summary", Static).render())
        assert "Host check: never run" in summary
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("c")
        await finished(pilot, app)
        await wait_for(pilot, lambda: host in app.view.checks, "the check's report")
        report = app.view.checks[host]
        assert report.items  # the test driver answers: a real report, not a refusal
        assert {i.check for i in report.items} >= {"kvm", "cores", "memory", "pool", "versions"}
        # The demo's test:/// hosts cannot migrate, nor share storage (each connection has its own):
        assert report.failed
        await pilot.pause()
        assert table_rows(app)[host][0] == host + FAILED_MARK
        assert app.activity.last.startswith(
            f"FAILED: host.check {host}: {host}: host check "
        )  # the status line
    assert CheckCache(demo / "db").get(host) == report


async def test_the_palette_offers_the_check_of_every_host(tmp_path: Path) -> None:
    app = console(tmp_path / "demo", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        actions = {title: run for title, _help, run in app.palette_actions()}
        host = next(n for n, r in sorted(app.view.records.items()) if r.connected)
        assert all(f"Check host {h}" in actions for h in app.view.records)
        actions[f"Check host {host}"]()
        await finished(pilot, app)
        await wait_for(pilot, lambda: host in app.view.checks, "the check's report")
        report = app.view.checks[host]
        # Read-only: the checks that write (marker volume, probe VM) are skipped, and say so.
        skipped = [i for i in report.items if i.check in ("shared-storage", "migration")]
        assert skipped, report
        assert all(i.detail.startswith("not checked: read-only") for i in skipped), skipped
