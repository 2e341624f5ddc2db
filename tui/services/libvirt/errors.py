"""libvirtError values made by vmdeck itself (a host that is not connected, an error that crossed the
poller worker's pipe), so callers handle one exception type with get_error_code()/get_error_message()."""

from __future__ import annotations

from typing import Any

import libvirt


def libvirt_error(message: str, err: tuple[Any, ...] | None = None) -> libvirt.libvirtError:
    """A libvirtError carrying `err` (libvirt's 9-tuple: code, domain, message, level, ...), or an
    internal error saying `message` when there is none."""
    exc = libvirt.libvirtError(message)
    exc.err = (
        err if err is not None else (libvirt.VIR_ERR_INTERNAL_ERROR, 0, message, 2, None, None, None, 0, 0)
    )
    return exc
