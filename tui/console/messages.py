"""Messages that travel up to the app, named in the past tense (something happened)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual.message import Message

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.services.actions import Deck, DrainPlan, Outcome


class Report(Protocol):
    """Progress from an action's threads (one migration of a drain): only posts a message."""

    def __call__(self, text: str, ok: bool = True) -> None: ...


@dataclass
class FleetPolled(Message):
    """Snapshots that changed are waiting in the app's batcher (posted from a poller thread)."""


@dataclass
class HostStateChangeRequested(Message):
    """The admin confirmed a state change with a reason; the app performs it off the loop."""

    host: str
    state: HostState
    reason: str


@dataclass
class HostStateChanged(Message):
    """The store accepted a state change and wrote its audit entry."""

    record: HostRecord
    previous: HostState
    reason: str
    token: int = 0  # the Activity entry to close


@dataclass
class ActionRefused(Message):
    """An action was refused (read-only mode, the store said no, a file could not be written)."""

    action: str
    reason: str
    host: str | None = None
    token: int = 0  # the Activity entry to close (0: none was opened)


@dataclass(frozen=True)
class ActionJob:
    """A confirmed VM or host action: what the status line calls it, and the call that performs it.

    `run(deck, report)` is a blocking function from tui.services.actions; the app runs it in a thread
    worker. The VM, host and reason are kept for a follow-up the outcome may offer (force after a
    graceful shutdown timed out).
    """

    label: str
    run: Callable[[Deck, Report], Outcome]
    vm: str | None = None
    host: str | None = None
    reason: str | None = None
    what: str = ""  # the audit's name for the action ("vm.stop"): what an abandoned entry records
    # Called on the UI loop with the outcome once the app has shown it, or with a REFUSED outcome
    # when the app refuses to start the job: how a bulk action (tui/console/bulk/run.py) starts its next item.
    done: Callable[[Outcome], None] | None = None


@dataclass
class ActionRequested(Message):
    """The admin confirmed an action; the app runs it off the UI loop."""

    job: ActionJob


@dataclass
class ActionProgressed(Message):
    """A running action reported a step (one migration of a drain); posted from a worker thread."""

    text: str
    ok: bool = True


@dataclass
class ActionFinished(Message):
    """An action returned its Outcome (posted from the worker thread)."""

    job: ActionJob
    outcome: Outcome
    token: int = 0  # the Activity entry to close
    record: HostRecord | None = None  # the job's host as stored afterwards (a drain changes its state)


@dataclass
class DrainPlanRequested(Message):
    """The admin asked to drain a host: the app plans it off the loop before asking to confirm."""

    host: str


@dataclass
class DrainPlanned(Message):
    """The scheduler's drain plan for a host (or why there is none), to show before confirming."""

    host: str
    plan: DrainPlan | None
    error: str | None = None
