"""Starting poller workers from one long-lived thread, so their parent-death signal means what it says.

The worker asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG, child.py). Linux
takes "parent" to be the *thread* that forked the child, not the process: a worker started from a
short-lived thread (a Textual @work thread running an action, poll_once from a helper thread, the
reader thread that restarts a dead worker, the threads that start shards side by side) was killed
as soon as that thread ended, and then restarted from the reader thread, which ends right after.
So every worker is forked here, by one daemon thread that lives as long as the console's process;
callers on any thread hand it their Popen arguments and wait for the process.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from typing import Any


class _Request:
    __slots__ = ("args", "done", "error", "kwargs", "proc")

    def __init__(self, args: list[str], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        self.done = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None


class Spawner:
    """One thread that forks every worker; `popen` may be called from any thread."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="poller-spawner", daemon=True)
        self.thread.start()

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """`subprocess.Popen(args, **kwargs)` run on the spawner thread; raises what Popen raised."""
        request = _Request(args, kwargs)
        if threading.current_thread() is self.thread:
            self._serve(request)
        else:
            self._requests.put(request)
            request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.proc is not None
        return request.proc

    def _run(self) -> None:
        while True:
            self._serve(self._requests.get())

    @staticmethod
    def _serve(request: _Request) -> None:
        try:
            request.proc = subprocess.Popen(request.args, **request.kwargs)
        except BaseException as exc:  # handed to the caller, which raises it on its own thread
            request.error = exc
        request.done.set()


_lock = threading.Lock()
_spawner: Spawner | None = None
_owner_pid = 0


def spawner() -> Spawner:
    """The process's spawner, started on first use (again in a forked child, which has no threads)."""
    global _spawner, _owner_pid
    with _lock:
        if _spawner is None or _owner_pid != os.getpid() or not _spawner.thread.is_alive():
            _spawner, _owner_pid = Spawner(), os.getpid()
        return _spawner
