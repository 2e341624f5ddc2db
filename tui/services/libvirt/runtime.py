"""Process-wide libvirt set-up: route libvirt's error printing to a logger and run its event loop.

Both must happen once, before the first open(): the error handler, or libvirt's C code writes every
error to fd 2 and garbles a TUI; the event loop implementation, because keepalive, the close callback
and domain events all need one. We use the default implementation in a daemon thread rather than
libvirtaio, which binds to the first asyncio loop forever (Textual's run_test() makes a loop per test).
"""

from __future__ import annotations

import logging
import threading

import libvirt

_lock = threading.Lock()
_started = False


_log = logging.getLogger("vmdeck.libvirt")


def _log_error(_ctx: object, err: object) -> None:
    """Errors still reach Python as libvirtError; instead of libvirt printing them on fd 2 they go to
    the "vmdeck.libvirt" logger (shown with `vmdeck --debug` or kept with `--log FILE`)."""
    # err is libvirt's (code, domain, message, level, str1, str2, str3, int1, int2) tuple.
    message = err[2] if isinstance(err, tuple) and len(err) > 2 else err
    _log.debug("libvirt: %s", message)


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
        libvirt.registerErrorHandler(_log_error, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=_run_event_loop, name="libvirt-events", daemon=True).start()
        _started = True
