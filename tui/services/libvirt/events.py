"""libvirt's numeric lifecycle events as words: (event, detail) codes -> `LifecycleEvent` fields.

The table is read from libvirt's own constants (VIR_DOMAIN_EVENT_STARTED = 2,
VIR_DOMAIN_EVENT_STARTED_BOOTED = 0, ...), so a libvirt that adds a detail names it without a change
here; a code this libvirt does not know becomes "event-N" / "detail-N" rather than an error.
"""

from __future__ import annotations

import libvirt

_EVENTS = (
    "defined",
    "undefined",
    "started",
    "suspended",
    "resumed",
    "stopped",
    "shutdown",
    "pmsuspended",
    "crashed",
)


def _tables() -> tuple[dict[int, str], dict[tuple[int, int], str]]:
    events: dict[int, str] = {}
    details: dict[tuple[int, int], str] = {}
    names = dir(libvirt)
    for word in _EVENTS:
        prefix = f"VIR_DOMAIN_EVENT_{word.upper()}"
        code = getattr(libvirt, prefix, None)
        if not isinstance(code, int):
            continue
        events[code] = word
        for name in names:
            if name.startswith(prefix + "_") and not name.endswith("_LAST"):
                value = getattr(libvirt, name)
                if isinstance(value, int):
                    details[(code, value)] = name[len(prefix) + 1 :].lower()
    return events, details


EVENT_WORDS, DETAIL_WORDS = _tables()


def event_word(event: int) -> str:
    return EVENT_WORDS.get(event, f"event-{event}")


def detail_word(event: int, detail: int) -> str:
    return DETAIL_WORDS.get((event, detail), f"detail-{detail}")
