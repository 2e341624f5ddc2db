"""Running a confirmed action off the UI loop, in a way that can never hold up the app's exit.

Textual thread workers run in the event loop's executor, which the process joins at exit; an action
may wait on libvirt for minutes (a live migration's bound is 10 minutes). So the action runs in a
daemon thread of its own and the worker only waits for it, checking `is_cancelled` (Textual cancels
every worker at exit) so it returns within a tick when the app quits. The action's own libvirt calls
are bounded by the Deck as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from textual.worker import get_current_worker

from tui.console.messages import ActionJob, Report
from tui.core.hosts import HostRecord
from tui.services.actions import Deck, Outcome, Result
from tui.services.actions.path import ActionPath
from tui.services.store import StoreError

T = TypeVar("T")
TICK_S = 0.1


class Abandoned(Exception):
    """The app is exiting: the worker stopped waiting (the daemon thread dies with the process)."""


def detached(fn: Callable[[], T]) -> T:
    """fn() in a daemon thread; called from a Textual thread worker, which it keeps responsive."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the worker's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="vmdeck-action", daemon=True).start()
    worker = get_current_worker()
    while not done.wait(TICK_S):
        if worker.is_cancelled:
            raise Abandoned
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def perform(deck: Deck, job: ActionJob, report: Report) -> tuple[Outcome, HostRecord | None]:
    """Worker thread: run the job; an unexpected error becomes a FAILED outcome, never a crash.

    Also reads the job's host record afterwards (a file read, so here and not on the UI loop): a drain
    sets the host to No Scheduling and the console must show it.
    """
    try:
        outcome = detached(lambda: job.run(deck, report))
    except Abandoned:
        raise
    except Exception as exc:  # a bug or an I/O error below the action: report it, keep the console
        outcome = Outcome(
            job.label, job.vm or job.host or "", job.host, Result.FAILED, f"{type(exc).__name__}: {exc}"
        )
    record = None
    if job.host is not None:
        try:
            record = detached(lambda: deck.store.host(job.host or ""))
        except (OSError, ValueError, StoreError):
            record = None  # the status line still has the outcome; the next change will show it
    return outcome, record


def record_abandoned(path: ActionPath | None, note: str) -> None:
    """Worker thread: give every action the console leaves running an "abandoned" outcome.

    The intents the action path wrote get their outcome (with `note`) and their leases are released;
    an action whose worker had not reached its intent yet had changed nothing. A store that cannot be
    written must not keep the console from quitting (the path suppresses store errors).
    """
    if path is not None:
        path.abandon_in_flight(note)
