"""Bounded libvirt calls to the host being checked, and how a section's failure becomes its item.

Every libvirt call is bounded (`Deck.call`); once one call gets no answer the host is considered
gone and the rest of its items say so at once, so a host that dies mid-check costs one bound, and
each item gets its own message instead of a traceback.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import libvirt

from tui.core.hostcheck import CheckItem, Verdict
from tui.core.hostcheck.report import clip
from tui.services.actions.deck import Deck
from tui.services.actions.outcome import Failed, Refused

T = TypeVar("T")

CHECK_CALL_TIMEOUT_S = 15.0  # one read call; a host that needs longer is treated as gone


class HostGone(Exception):
    """The host stopped answering earlier in this check."""


class HostCalls:
    """Bounded calls to one host; after a timeout every further call fails at once."""

    def __init__(self, deck: Deck, name: str, conn: libvirt.virConnect) -> None:
        self.deck, self.name, self.conn = deck, name, conn
        self.gone: str | None = None
        self.timeout = min(CHECK_CALL_TIMEOUT_S, deck.settings.call_timeout)

    def __call__(self, fn: Callable[..., T], *args: Any, what: str) -> T:
        if self.gone is not None:
            raise HostGone(self.gone)
        try:
            return self.deck.call(fn, *args, what=f"{self.name}: {what}", timeout=self.timeout)
        except Failed as exc:
            self.gone = str(exc)
            raise HostGone(self.gone) from None


def message_of(exc: BaseException) -> str:
    if isinstance(exc, libvirt.libvirtError):
        return f"libvirt: {exc.get_error_message() or exc}"
    if isinstance(exc, HostGone):
        return f"host stopped answering ({exc})"
    return str(exc)


def guard(
    items: list[CheckItem], check: str, subject: str, fn: Callable[[], Iterable[CheckItem] | CheckItem]
) -> None:
    """Run one section; whatever goes wrong becomes that section's FAIL item with the message."""
    try:
        found = fn()
        items.extend([found] if isinstance(found, CheckItem) else found)
    except (
        libvirt.libvirtError,
        HostGone,
        Failed,
        Refused,
        ValueError,
        KeyError,
        TypeError,
        ET.ParseError,
    ) as exc:
        items.append(CheckItem(check, subject, Verdict.FAIL, f"could not check: {clip(message_of(exc))}"))
