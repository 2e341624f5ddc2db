"""Process-wide libvirt set-up: silence libvirt's stderr printing and run its event loop.

Both must happen once, before the first open(): the error handler, or libvirt's C code writes every
error to fd 2 and garbles a TUI; the event loop implementation, because keepalive, the close callback
and domain events all need one. We use the default implementation in a daemon thread rather than
libvirtaio, which binds to the first asyncio loop forever (Textual's run_test() makes a loop per test).
"""

from __future__ import annotations

import threading

import libvirt

_lock = threading.Lock()
_started = False


def _ignore_error(_ctx: object, _err: object) -> None:
    """Errors still reach Python as libvirtError; only the printing is suppressed."""


def _run_event_loop() -> None:
    while True:
        # Returns after each dispatched event or timer; errors here are transient (e.g. a closed fd).
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError:
            continue


def ensure_runtime() -> None:
    """Idempotent: error handler + default event loop in a daemon thread (never blocks exit)."""
    global _started
    with _lock:
        if _started:
            return
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=_run_event_loop, name="libvirt-events", daemon=True).start()
        _started = True
