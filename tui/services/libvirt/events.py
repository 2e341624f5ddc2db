"""libvirt's lifecycle event numbers as vmdeck's words: the one table (see tui.core.lifecycle).

libvirt reports a lifecycle event as two numbers, (event, detail), whose meaning depends on the
event ("detail 1" is "migrated" after STARTED and "destroyed" after STOPPED). The console and the CLI
only ever see the words. A number this libvirt does not know (a newer daemon) reads as "event 12" /
"detail 9", never as an error.
"""

from __future__ import annotations

import time

import libvirt

from tui.core.lifecycle import LifecycleEvent

_L = libvirt
# event -> (word, {detail -> word})
LIFECYCLE: dict[int, tuple[str, dict[int, str]]] = {
    _L.VIR_DOMAIN_EVENT_DEFINED: (
        "defined",
        {
            _L.VIR_DOMAIN_EVENT_DEFINED_ADDED: "added",
            _L.VIR_DOMAIN_EVENT_DEFINED_UPDATED: "updated",
            _L.VIR_DOMAIN_EVENT_DEFINED_RENAMED: "renamed",
            _L.VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT: "from snapshot",
        },
    ),
    _L.VIR_DOMAIN_EVENT_UNDEFINED: (
        "undefined",
        {
            _L.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED: "removed",
            _L.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED: "renamed",
        },
    ),
    _L.VIR_DOMAIN_EVENT_STARTED: (
        "started",
        {
            _L.VIR_DOMAIN_EVENT_STARTED_BOOTED: "booted",
            _L.VIR_DOMAIN_EVENT_STARTED_MIGRATED: "migrated",
            _L.VIR_DOMAIN_EVENT_STARTED_RESTORED: "restored",
            _L.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT: "from snapshot",
            _L.VIR_DOMAIN_EVENT_STARTED_WAKEUP: "wakeup",
        },
    ),
    _L.VIR_DOMAIN_EVENT_SUSPENDED: (
        "suspended",
        {
            _L.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED: "paused",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: "migrated",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR: "I/O error",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG: "watchdog",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_RESTORED: "restored",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT: "from snapshot",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR: "API error",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: "post-copy",
            _L.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED: "post-copy failed",
        },
    ),
    _L.VIR_DOMAIN_EVENT_RESUMED: (
        "resumed",
        {
            _L.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED: "unpaused",
            _L.VIR_DOMAIN_EVENT_RESUMED_MIGRATED: "migrated",
            _L.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT: "from snapshot",
            _L.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY: "post-copy",
            _L.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED: "post-copy failed",
        },
    ),
    _L.VIR_DOMAIN_EVENT_STOPPED: (
        "stopped",
        {
            _L.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: "shutdown",
            _L.VIR_DOMAIN_EVENT_STOPPED_DESTROYED: "destroyed",
            _L.VIR_DOMAIN_EVENT_STOPPED_CRASHED: "crashed",
            _L.VIR_DOMAIN_EVENT_STOPPED_MIGRATED: "migrated",
            _L.VIR_DOMAIN_EVENT_STOPPED_SAVED: "saved",
            _L.VIR_DOMAIN_EVENT_STOPPED_FAILED: "failed",
            _L.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT: "from snapshot",
        },
    ),
    _L.VIR_DOMAIN_EVENT_SHUTDOWN: (
        "shutdown",
        {
            _L.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED: "finished",
            _L.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST: "by the guest",
            _L.VIR_DOMAIN_EVENT_SHUTDOWN_HOST: "by the host",
        },
    ),
    _L.VIR_DOMAIN_EVENT_PMSUSPENDED: (
        "pmsuspended",
        {_L.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY: "memory", _L.VIR_DOMAIN_EVENT_PMSUSPENDED_DISK: "disk"},
    ),
    _L.VIR_DOMAIN_EVENT_CRASHED: (
        "crashed",
        {
            _L.VIR_DOMAIN_EVENT_CRASHED_PANICKED: "panicked",
            _L.VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED: "crash kernel loaded",
        },
    ),
}


def lifecycle_words(event: int, detail: int) -> tuple[str, str]:
    """(event, detail) in words, e.g. (5, 1) -> ("stopped", "destroyed")."""
    word, details = LIFECYCLE.get(event, (f"event {event}", {}))
    return word, details.get(detail, f"detail {detail}")


def lifecycle_event(host: str, vm: str, event: int, detail: int, at: float | None = None) -> LifecycleEvent:
    word, detail_word = lifecycle_words(event, detail)
    return LifecycleEvent(host, vm, word, detail_word, time.time() if at is None else at)
