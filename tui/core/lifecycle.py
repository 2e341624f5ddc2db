"""A libvirt domain lifecycle event as vmdeck shows it: which VM on which host, what happened.

The poller turns libvirt's numeric (event, detail) pairs into these words on whichever side owns the
connection (in-process or the poller worker), so the console and the CLI never see libvirt constants.
Pure data: nothing here performs I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One lifecycle event heard on a host's connection.

    `event` is libvirt's lifecycle event in lower case ("started", "stopped", "suspended", "resumed",
    "defined", "undefined", "shutdown", "pmsuspended", "crashed"); `detail` its detail in lower case
    ("booted", "migrated", "destroyed", "failed", ...; "" when libvirt gives none). `at` is the wall
    clock (seconds since the epoch, UTC) when vmdeck heard it: libvirt events carry no time.
    The VM name is libvirt's, from outside: print it through tui.core.printable.
    """

    host: str
    vm: str
    event: str
    detail: str
    at: float
