"""Connecting to a host URI once, with a bound, to say whether it answers before it is saved.

`probe_uri` opens the URI read-only in a daemon thread of its own (a host that accepts TCP and never
answers blocks open() forever: the caller stops waiting after `timeout` and the thread dies with the
process), reads what an admin recognises the host by (hostname, libvirt version, CPUs, memory,
domains) and closes. It never raises: the result says what happened. Callers run it off the UI loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import libvirt

from tui.core.hosts import redact_uri
from tui.core.units import format_size
from tui.services.libvirt.connection import effective_uri, missing_node_file
from tui.services.libvirt.runtime import ensure_runtime

PROBE_TIMEOUT_S = 10.0  # the bound an admin waits for an answer before deciding


@dataclass(frozen=True)
class Probe:
    """What one connection attempt found: `ok` with facts, or the error an admin can act on."""

    uri: str
    ok: bool
    message: str  # one line: "libvirt 9.0.0 on hostA: 8 CPUs, 23.4 GiB, 3 domains" or the error
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": redact_uri(self.uri),
            "ok": self.ok,
            "message": self.message,
            "timed_out": self.timed_out,
        }


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def _facts(uri: str) -> str:
    ensure_runtime()
    missing = missing_node_file(uri)
    if missing is not None:
        raise OSError(f"test driver node file not found: {missing}")
    conn = libvirt.openReadOnly(effective_uri(uri))
    try:
        _model, memory_mib, cpus, *_ = conn.getInfo()
        domains = len(conn.listAllDomains(0))
        name = conn.getHostname()
        version = _version(conn.getLibVersion())
    finally:
        conn.close()
    return (
        f"libvirt {version} on {name}: {cpus} CPUs, {format_size(int(memory_mib) << 20)}, "
        f"{domains} domain{'s' if domains != 1 else ''}"
    )


def probe_uri(uri: str, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """Connect to `uri` (read-only) within `timeout` seconds and describe the host, or why not."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["facts"] = _facts(uri)
        except libvirt.libvirtError as exc:
            box["error"] = exc.get_error_message() or str(exc)
        except OSError as exc:
            box["error"] = str(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"vmdeck-probe {redact_uri(uri)}", daemon=True).start()
    if not done.wait(timeout):
        return Probe(
            uri, False, f"no answer within {timeout:g} s (host down, firewall or a hung sshd?)", True
        )
    if "facts" in box:
        return Probe(uri, True, str(box["facts"]))
    return Probe(uri, False, str(box.get("error", "no answer")))
