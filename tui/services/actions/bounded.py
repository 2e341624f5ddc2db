"""Bounding a libvirt call that may never return.

A host that accepts TCP and never answers blocks a libvirt call forever, and a thread stuck that way
inside an executor (or a Textual thread worker) keeps the application from exiting. Each call here
runs in its own daemon thread; the caller waits at most `timeout` seconds and then carries on with an
error, leaving the stuck thread to die with the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tui.services.actions.outcome import Failed

T = TypeVar("T")


def bounded(fn: Callable[..., T], *args: Any, timeout: float, what: str) -> T:
    """fn(*args), or Failed when it has not returned within `timeout` seconds."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"vmdeck-call {what}", daemon=True).start()
    if not done.wait(timeout):
        raise Failed(
            f"{what}: no answer within {timeout:g} s; vmdeck stopped waiting "
            "(the host may still complete the call: check it before retrying)"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
