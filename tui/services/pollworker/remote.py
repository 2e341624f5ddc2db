"""libvirt objects that live in the poller worker, used from the console as if they were local.

`poller.connection(host)` in the console returns a `RemoteObject` for the worker's connection to that
host: calling a method on it runs the same method on the real virConnect in the worker (through
`WorkerShard.run_on` and the module-level `invoke` below) and returns the result. A libvirt object
in a result (a virDomain, a pool, a volume, a snapshot, a stream) stays in the worker, in a table
keyed by a number; the console gets a `RemoteObject` naming it, and the entry is dropped when that
proxy is garbage-collected. A proxy passed as an argument (`dom.migrate3(dst_conn, ...)`) becomes
the worker's object again. So an action's code is the same in both modes, and only its libvirt
calls cross the pipe; the action path (lease, intent, outcome) stays in the console.

Python callables cannot cross a process boundary: a callback argument is refused with TypeError
(the serial console opens a connection of its own in the console instead: Deck.console_connection).
libvirtError crosses with its error tuple, so get_error_code() and get_error_message() are the same.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import libvirt

from tui.services.libvirt.errors import libvirt_error

# Methods of a host's connection the console must never run: the worker owns its life cycle.
_CONNECTION_OWN = frozenset(
    {"close", "registerCloseCallback", "unregisterCloseCallback", "domainEventRegisterAny", "setKeepAlive"}
)


@dataclass(frozen=True)
class Handle:
    """Names a libvirt object held in the worker's table."""

    id: int
    kind: str  # its class name, for repr and errors


@dataclass(frozen=True)
class HostRef:
    """Names the worker's connection to a host (a connection proxy passed as an argument)."""

    host: str


# --- the worker's side ----------------------------------------------------------------------------------
_objects: dict[int, object] = {}
_ids = itertools.count(1)
_lock = threading.Lock()
_connection_of: Callable[[str], libvirt.virConnect | None] = lambda _host: None  # noqa: E731


def serve_connections(lookup: Callable[[str], libvirt.virConnect | None]) -> None:
    """The worker tells this module where its connections are (its Poller's `connection`)."""
    global _connection_of
    _connection_of = lookup


def release(ids: list[int]) -> None:
    with _lock:
        for key in ids:
            _objects.pop(key, None)


def held() -> int:
    with _lock:
        return len(_objects)


def invoke(conn: libvirt.virConnect, target: Handle | None, method: str, args: tuple[Any, ...]) -> object:
    """Run `method(*args)` on the host's connection (target None) or on a held object; libvirt
    objects in the result are kept here and returned as Handles. Runs in the worker."""
    if target is None:
        obj: object = conn
    else:
        with _lock:
            found = _objects.get(target.id)
        if found is None:
            raise libvirt_error(f"the poller worker no longer holds this {target.kind} (it was restarted)")
        obj = found
    return _export(getattr(obj, method)(*(_resolve(a) for a in args)))


def _export(value: object) -> object:
    if isinstance(value, list | tuple):
        return type(value)(_export(v) for v in value)
    if isinstance(value, dict):
        return {k: _export(v) for k, v in value.items()}
    module = type(value).__module__
    if module == "libvirt" and not isinstance(value, BaseException):
        key = next(_ids)
        with _lock:
            _objects[key] = value
        return Handle(key, type(value).__name__)
    return value


def _resolve(value: object) -> object:
    if isinstance(value, Handle):
        with _lock:
            found = _objects.get(value.id)
        if found is None:
            raise libvirt_error(f"the poller worker no longer holds this {value.kind} (it was restarted)")
        return found
    if isinstance(value, HostRef):
        conn = _connection_of(value.host)
        if conn is None:
            raise libvirt_error(f"host {value.host!r} is not connected")
        return conn
    if isinstance(value, list | tuple):
        return type(value)(_resolve(v) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


# --- the console's side ---------------------------------------------------------------------------------
class Runner(Protocol):
    def run_on(self, host: str, fn: Callable[..., Any], *args: Any) -> Any: ...

    def release_handles(self, ids: list[int]) -> None: ...


class RemoteObject:
    """A libvirt object in the worker: attribute access gives a callable running that method there."""

    __slots__ = ("__weakref__", "_handle", "_host", "_runner")

    def __init__(self, runner: Runner, host: str, handle: Handle | None) -> None:
        self._runner = runner
        self._host = host
        self._handle = handle
        if handle is not None:
            weakref.finalize(self, runner.release_handles, [handle.id])

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._handle is None and name in _CONNECTION_OWN:
            raise TypeError(f"{name}() on the poller's connection to {self._host!r}: the worker owns it")
        return functools.partial(self._call, name)

    def __repr__(self) -> str:
        what = "virConnect" if self._handle is None else self._handle.kind
        return f"<remote {what} on {self._host}>"

    def _call(self, method: str, *args: Any) -> Any:
        sent = tuple(_outgoing(a) for a in args)
        return _incoming(
            self._runner, self._host, self._runner.run_on(self._host, invoke, self._handle, method, sent)
        )


def _outgoing(value: object) -> object:
    if isinstance(value, RemoteObject):
        return HostRef(value._host) if value._handle is None else value._handle
    if callable(value):
        raise TypeError("a Python callback cannot be passed to the poller worker")
    if isinstance(value, list | tuple):
        return type(value)(_outgoing(v) for v in value)
    return value


def _incoming(runner: Runner, host: str, value: object) -> Any:
    if isinstance(value, Handle):
        return RemoteObject(runner, host, value)
    if isinstance(value, list | tuple):
        return type(value)(_incoming(runner, host, v) for v in value)
    if isinstance(value, dict):
        return {k: _incoming(runner, host, v) for k, v in value.items()}
    return value
