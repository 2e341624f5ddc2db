"""Opening one host's long-lived connection: URI hygiene, keepalive, close callback, domain events.

These calls may hang (a host that accepts TCP and never answers blocks open() forever), so they are
made only from the poller's daemon threads, which the poller stops waiting for after a bound.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import libvirt

from tui.services.libvirt.runtime import ensure_runtime

_SSH_TRANSPORTS = ("+ssh", "+libssh", "+libssh2")
# The events that can change what a poll reports: lifecycle (start/stop/define/migrate) and hot-plug.
_DEVICE_EVENTS = (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED)
# on_event(vm name, lifecycle event code, detail code); both codes are None for a device hot-plug.
EventCallback = Callable[[str, int | None, int | None], None]


def effective_uri(uri: str) -> str:
    """Add no_tty=1 to ssh URIs: ssh must never prompt on the terminal the TUI owns."""
    scheme = uri.split("://", 1)[0]
    if not scheme.endswith(_SSH_TRANSPORTS):
        return uri
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "no_tty" in query:
        return uri
    query["no_tty"] = "1"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class NodeFileMissing(OSError):
    """A test:///PATH host whose node file does not exist (checked before libvirt is asked)."""


def missing_node_file(uri: str) -> str | None:
    """The node file a `test:///PATH` URI names when it does not exist, else None.

    libvirt's test driver hands the path to libxml2, which prints "I/O warning: failed to load
    external entity" straight to fd 2 — past libvirt's error handler, onto the screen a TUI draws.
    Checking first keeps the terminal clean and gives the admin a plainer message.
    """
    if not uri.startswith("test:///") or uri.startswith("test:///default"):
        return None
    # os.path, not pathlib: once per open, and pathlib's parsing cost more than the stat.
    path = urlsplit(uri).path
    return None if os.path.isfile(path) else path


@dataclass
class Connection:
    """A virConnect plus what was registered on it, so it can be torn down cleanly."""

    conn: libvirt.virConnect
    read_only: bool
    keepalive: bool
    callback_ids: list[int] = field(default_factory=list)
    dead: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        """Best effort: the connection may already be dead; nothing here may raise."""
        for cid in self.callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                self.conn.domainEventDeregisterAny(cid)
        self.callback_ids.clear()
        with contextlib.suppress(libvirt.libvirtError):
            self.conn.unregisterCloseCallback()
        with contextlib.suppress(libvirt.libvirtError):
            self.conn.close()


def open_connection(
    uri: str,
    *,
    read_only: bool,
    keepalive: tuple[int, int] | None,
    on_event: EventCallback,
    on_close: Callable[[int], None],
) -> Connection:
    """Open (read-only when asked), then set keepalive and register the close callback and events.

    Raises libvirt.libvirtError, or NodeFileMissing for a test:/// host whose file is gone.
    """
    ensure_runtime()
    missing = missing_node_file(uri)
    if missing is not None:
        raise NodeFileMissing(f"test driver node file not found: {missing}")
    target = effective_uri(uri)
    conn = libvirt.openReadOnly(target) if read_only else libvirt.open(target)
    live = False
    if keepalive is not None:
        try:
            conn.setKeepAlive(*keepalive)
            live = True
        except libvirt.libvirtError:
            pass  # local drivers (test:///, qemu:/// over the embedded driver) refuse it: nothing to keep alive
    handle = Connection(conn, read_only, live)

    def closed(_conn: libvirt.virConnect, reason: int, _opaque: object) -> None:
        # Runs on whichever thread noticed the drop: only flag it and tell the poller.
        handle.dead.set()
        on_close(reason)

    # Both run on libvirt's event-loop thread: only hand the facts on.
    def lifecycle(_conn: object, dom: libvirt.virDomain, event: int, detail: int, _opaque: object) -> None:
        on_event(dom.name(), event, detail)

    def device(_conn: object, dom: libvirt.virDomain, _alias: str, _opaque: object) -> None:
        on_event(dom.name(), None, None)

    try:
        conn.registerCloseCallback(closed, None)
        handle.callback_ids.append(
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)
        )
        for event_id in _DEVICE_EVENTS:
            handle.callback_ids.append(conn.domainEventRegisterAny(None, event_id, device, None))
    except libvirt.libvirtError:
        handle.close()
        raise
    return handle
