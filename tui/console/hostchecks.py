"""Host checks in the console: the last result per host, the hosts table's mark, the detail section,
and the key that runs the check again.

The results live in `FleetView.checks` (UI loop only). They are loaded once from the store's cache
(hostchecks.json beside the store, written by `vmdeck hosts check` and by the console) when the hosts
pane is built, and replaced when a check run from the console finishes. A run is an ordinary action
(ActionRequested → the app's worker → `Deck`), so it is refused in read-only mode only where it
would write (the marker volume and the probe VM are skipped and say so), shows on the status line and
is audited like every other action; its report comes back to the hosts pane as `HostChecked`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import filelock
from textual.message import Message

from tui.console.messages import ActionJob, Report
from tui.core.hostcheck import HostCheckReport, Verdict, access_hint
from tui.core.printable import printable
from tui.services.actions import Deck, Outcome, Result
from tui.services.store import StoreError

FAILED_MARK = " ✗chk"  # appended to the host's name: text, not only colour (works over ssh)
MAX_DETAIL_ITEMS = 12  # the detail screen lists at most this many non-passing items


@dataclass
class HostChecked(Message):
    """A host's check finished (posted from the action's thread to the hosts pane)."""

    report: HostCheckReport


def mark(report: HostCheckReport | None) -> str:
    """The hosts table's mark: only a check that found a FAIL marks the host (not one that could not
    run because the host is Disabled or unreachable: the state and connection columns say that)."""
    if report is None or report.refused is not None or not report.failed:
        return ""
    return FAILED_MARK


def detail_lines(report: HostCheckReport | None, error: str | None = None) -> list[str]:
    """The host detail's section: what to do about the connection error (ssh key, host key, hung
    sshd), then the last check: when, the verdict, every WARN/FAIL item with its fix."""
    hint = access_hint(error)
    lines = [f"What to do: {hint}"] if hint else []
    if report is None:
        return [*lines, "Host check: never run (press c on the hosts pane, or `vmdeck hosts check NAME`)"]
    when = report.checked_at[:19].replace("T", " ")
    lines.append(f"Host check ({when} UTC): {report.verdict.value.upper()} — {printable(report.summary())}")
    shown = [i for i in report.items if i.verdict is not Verdict.PASS]
    for item in shown[:MAX_DETAIL_ITEMS]:
        lines.append(
            f"  {item.verdict.value.upper()} {item.check} {printable(item.subject)}: {printable(item.detail)}"
        )
        if item.fix:
            lines.append(f"       fix: {printable(item.fix)}")
    if len(shown) > MAX_DETAIL_ITEMS:
        lines.append(
            f"  … {len(shown) - MAX_DETAIL_ITEMS} more (`vmdeck hosts check {printable(report.host)}`)"
        )
    return lines


def check_job(host: str, deliver: Callable[[HostChecked], object]) -> ActionJob:
    """The action that checks `host` on the app's Deck; `deliver` (a thread-safe post_message) gets
    the report."""

    def run(deck: Deck, _report: Report) -> Outcome:
        from tui.services.hostcheck import CheckCache, check_host

        report = check_host(deck, host)
        deliver(HostChecked(report))
        try:
            CheckCache.of_store(deck.store).save([report])
        except (
            OSError,
            StoreError,
            filelock.Timeout,
        ) as exc:  # shown now; only the next console will not know it
            return Outcome("host.check", host, host, Result.FAILED, f"{host}: checked, but not cached: {exc}")
        result = Result.OK if not report.failed else (Result.REFUSED if report.refused else Result.FAILED)
        return Outcome("host.check", host, host, result, f"{host}: host check {report.summary()}")

    return ActionJob(f"check {host}", run, host=host)


def load_cached(db: str | None) -> dict[str, HostCheckReport]:
    """Worker thread: the cached checks of the store directory (empty without one, or if damaged)."""
    if db is None:
        return {}
    from tui.services.hostcheck import CheckCache

    return CheckCache(Path(db)).load()
