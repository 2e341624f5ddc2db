"""`LivePoller`: what the console, the actions and the CLI use of a poller, and its callback types.

Its own module because two pollers provide it — the in-process `Poller` (inprocess.py) and the
worker-process `WorkerPoller` (tui/services/pollworker) — and callers should depend on neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.core.live import HostSnapshot
from tui.services.loadhistory import LoadHistory
from tui.services.poller.settings import PollerSettings

SnapshotCallback = Callable[[HostSnapshot], None]
EventCallback = Callable[[LifecycleEvent], None]
NoticeCallback = Callable[[str], None]
T = TypeVar("T")


class LivePoller(Protocol):
    """What the console, the actions and the CLI use of a poller: the in-process `Poller` and the
    worker-process `WorkerPoller` (tui/services/pollworker) both provide it."""

    settings: PollerSettings
    history: LoadHistory

    def subscribe(
        self, callback: SnapshotCallback, *, changes_only: bool = False, current: bool = False
    ) -> Callable[[], None]: ...
    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]: ...
    def subscribe_notices(self, callback: NoticeCallback) -> Callable[[], None]: ...
    def snapshots(self) -> dict[str, HostSnapshot]: ...
    def connection(self, name: str) -> Any: ...
    def run_on(self, host: str, fn: Callable[..., T], *args: Any) -> T: ...
    def set_hosts(self, hosts: Iterable[HostRecord]) -> None: ...
    def request_poll(self, name: str) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self, wait: float | None = None) -> None: ...
    def poll_once(self, timeout: float | None = None) -> dict[str, HostSnapshot]: ...
