"""Messages that travel up to the app, named in the past tense (something happened)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.services.fleetfeed import FeedBatch


@dataclass
class FleetPolled(Message):
    """The feed finished a cycle in which some hosts changed (posted from the feed's thread)."""

    batch: FeedBatch


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


@dataclass
class ActionRefused(Message):
    """An action was refused (read-only mode, the store said no, a file could not be written)."""

    action: str
    reason: str


@dataclass
class PaneRequested(Message):
    """A pane asked to show another pane (e.g. from the command line)."""

    pane: str
