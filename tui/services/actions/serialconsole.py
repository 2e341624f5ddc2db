"""Console access: attach a terminal to a VM's serial console, and say how to reach its display.

`attach_console` does what `virsh console` does: a libvirt stream opened with virDomainOpenConsole,
guest output written to the terminal from the libvirt event loop's thread (tui/services/libvirt/
runtime.py runs it), keystrokes sent to the guest, `ctrl+]` to detach. The terminal is put in raw
mode only while attached and restored on every way out. The attach is audited like any action
(typing into a guest's console is acting on it) and refused in read-only mode; it ends when the
admin detaches, when the host closes the stream (the VM stopped, the host died), or never blocks
longer than one bounded libvirt call at a time.

`display_command` prints the exact command for the VNC display, which listens on the host's loopback
only: `virt-viewer --connect URI NAME` (virt-viewer tunnels over the libvirt connection itself), and
for any VNC viewer, the ssh tunnel to the host's 127.0.0.1:PORT.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import time
import tty
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import libvirt

from tui.core.hosts import HostRecord
from tui.core.live import DomainState
from tui.services.actions.deck import Deck, Note
from tui.services.actions.outcome import Failed, Outcome, Refused
from tui.services.actions.power import find_vm
from tui.services.libvirt.runtime import ensure_runtime

DETACH = b"\x1d"  # ctrl+]
_TICK_S = 0.1


def console_refusal(name: str, state: DomainState) -> str | None:
    """Why there is no console to attach to now, or None (asked before anything else)."""
    if not state.holds_resources:
        return f"{name} is {state.value}: a serial console exists only while the VM runs"
    return None


@dataclass
class _Session:
    out_fd: int
    closed: threading.Event
    error: str | None = None


def _on_stream(stream: libvirt.virStream, events: int, session: _Session) -> None:
    """Runs in libvirt's event loop thread: copy guest output to the terminal."""
    if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
        session.error = session.error or "the host closed the console (the VM stopped or the host went away)"
        session.closed.set()
        return
    if events & libvirt.VIR_STREAM_EVENT_READABLE:
        try:
            data = stream.recv(4096)
        except libvirt.libvirtError as exc:
            session.error = f"console: {exc.get_error_message()}"
            session.closed.set()
            return
        if data == -2:  # would block: nothing after all
            return
        if isinstance(data, bytes) and data:
            with contextlib.suppress(OSError):
                os.write(session.out_fd, data)
        elif data in (b"", 0):
            session.error = "the host closed the console"
            session.closed.set()


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on a terminal for the duration (no-op on a pipe); restored however the block ends."""
    if not os.isatty(fd):
        yield None
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield None
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def attach_console(
    deck: Deck,
    name: str,
    *,
    host: str | None = None,
    in_fd: int,
    out_fd: int,
    reason: str | None = None,
    on_attached: object = None,
) -> Outcome:
    """Attach until ctrl+] (read from `in_fd`) or the host closes the stream; audited as vm.console."""

    def body(note: Note) -> str:
        ensure_runtime()  # stream callbacks need libvirt's event loop
        where, facts = find_vm(deck, name, host)
        note.host = where
        why = console_refusal(name, facts.state)
        if why:
            raise Refused(why)
        with deck.console_connection(where) as conn:
            dom = deck.domain(conn, facts)
            stream = deck.call(conn.newStream, libvirt.VIR_STREAM_NONBLOCK, what="new stream")
            try:
                deck.call(dom.openConsole, None, stream, 0, what=f"open the console of {name}")
            except libvirt.libvirtError as exc:
                raise Failed(
                    f"cannot attach to {name}'s console on {where}: {exc.get_error_message()}"
                ) from None
            session = _Session(out_fd, threading.Event())
            events = (
                libvirt.VIR_STREAM_EVENT_READABLE
                | libvirt.VIR_STREAM_EVENT_ERROR
                | libvirt.VIR_STREAM_EVENT_HANGUP
            )
            deck.call(stream.eventAddCallback, events, _on_stream, session, what="watch the console")
            began = time.monotonic()
            os.write(out_fd, f"Connected to {name} on {where} (escape character is ^])\r\n".encode())
            if callable(on_attached):
                on_attached()
            detached = False
            try:
                with raw_terminal(in_fd):
                    detached = _pump(in_fd, stream, session)
            finally:
                with contextlib.suppress(libvirt.libvirtError):
                    stream.eventRemoveCallback()
                with contextlib.suppress(libvirt.libvirtError, Failed):
                    deck.call(stream.abort if not detached else stream.finish, what="close the console")
            seconds = time.monotonic() - began
            note.details["seconds"] = round(seconds, 3)
            if not detached:
                raise Failed(f"{name}'s console on {where} ended after {seconds:.1f} s: {session.error}")
            return f"detached from {name}'s console on {where} after {seconds:.1f} s"

    return deck.run("vm.console", name, body, reason=reason)


def _pump(in_fd: int, stream: libvirt.virStream, session: _Session) -> bool:
    """Keystrokes to the guest until ctrl+] (True) or the stream closes (False)."""
    while not session.closed.is_set():
        ready, _, _ = select.select([in_fd], [], [], _TICK_S)
        if not ready:
            continue
        data = os.read(in_fd, 1024)
        if not data:
            return True  # end of input: nothing more to send, detach
        head, sep, _ = data.partition(DETACH)
        if head:
            _send(stream, head, session)
        if sep:
            return True
    return False


def _send(stream: libvirt.virStream, data: bytes, session: _Session) -> None:
    deadline = time.monotonic() + 5.0  # a guest that never reads its console does not hang us
    while data and time.monotonic() < deadline and not session.closed.is_set():
        try:
            sent = stream.send(data)
        except libvirt.libvirtError as exc:
            session.error = f"console: {exc.get_error_message()}"
            session.closed.set()
            return
        if sent == -2:
            time.sleep(0.01)
            continue
        data = data[sent:]


# --- the display ----------------------------------------------------------------------------------------
def display_command(record: HostRecord, name: str, domain_xml: str) -> list[str]:
    """Lines telling the admin how to open the VM's display (or why there is none)."""
    root = ET.fromstring(domain_xml)
    vnc = root.find("devices/graphics[@type='vnc']")
    if vnc is None:
        raise Refused(
            f"{name} has no VNC display (its realm says graphics: none): use `vmdeck vms console {name}`"
        )
    port = vnc.get("port", "-1")
    listen = vnc.get("listen") or "127.0.0.1"
    lines = [f"virt-viewer --connect '{record.uri}' {name}"]
    if port in ("-1", ""):
        lines.append(f"(the VNC port is assigned when {name} starts: run this again once it runs)")
        return lines
    parts = urlsplit(record.uri)
    ssh_host = parts.hostname
    if ssh_host in (None, "", "localhost", "127.0.0.1", "::1") or parts.scheme in ("qemu", "qemu+unix"):
        lines.append(f"vncviewer {listen}:{port}    # the host is this machine")
        return lines
    who = f"{parts.username}@{ssh_host}" if parts.username else ssh_host
    local = int(port)
    lines.append(f"ssh -N -L {local}:{listen}:{port} {who}    # then: vncviewer 127.0.0.1:{local}")
    return lines
