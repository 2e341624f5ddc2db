"""`WorkerProcess`: starting the poller worker, the pipe to it, its death and restart, closing it.

Why a child process started with subprocess (rather than multiprocessing): the console's
interpreter must spend nothing on polling, so the child is a fresh interpreter that imports only the
poller (no Textual, no re-import of the console's __main__ as multiprocessing's spawn does); its
stdin/stdout are the pipe, its stderr is /dev/null (or $VMDECK_POLLER_LOG), so nothing it prints
reaches the terminal the console draws on; it runs in a session of its own, so terminal signals do
not reach it; and its lifetime is tied to the pipe, which the kernel closes whatever way the console
ends (child.py exits at end of input, PR_SET_PDEATHSIG backs that up). That signal fires when the
*thread* that forked the worker ends, so every worker is forked by the one long-lived thread of
spawner.py, whichever thread (the reader restarting it, an action's thread) asked for it.

A worker that dies is restarted (after a growing delay when it keeps dying right away), the hosts
sent again and polled at once, and every `subscribe_notices` callback is told. Calls in flight
fail with a libvirtError saying so. Sequence numbers continue above the last one seen.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tui.services.pollworker.framing import FrameWriter, read_frame
from tui.services.pollworker.inbox import WorkerInbox
from tui.services.pollworker.spawner import spawner

EXIT_GRACE_S = 1.0  # close(): the worker exits at end of input at once; after this it is killed
RESTART_DELAY_S = 0.5
RESTART_DELAY_MAX_S = 30.0
QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting backs the restart off
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the directory holding `tui`


@dataclass(frozen=True)
class WorkerNotice:
    """Said to `subscribe_notices` callbacks (as its `text`) when the worker was restarted."""

    text: str
    restarts: int
    exit_code: int | None


class WorkerProcess(WorkerInbox):
    """The worker process's lifecycle: spawned on first need, restarted when it dies, closed."""

    def _ensure_worker_locked(self) -> None:
        if self._proc is None and not self._closed:
            self._spawn_locked()

    def _spawn_locked(self) -> None:
        env = dict(os.environ)
        env["VMDECK_POLLER_PARENT"] = str(os.getpid())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        log = env.get("VMDECK_POLLER_LOG")
        err: IO[bytes] | int = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = spawner().popen(
                [sys.executable, "-m", "tui.services.pollworker.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                close_fds=True,
                start_new_session=True,  # ctrl+c / ctrl+z on the terminal are the console's, not its
            )
        finally:
            if not isinstance(err, int):
                err.close()
        assert proc.stdin is not None
        assert proc.stdout is not None
        out = FrameWriter(proc.stdin)
        self._generation += 1
        self._proc, self._out, self._started_at = proc, out, time.monotonic()
        self.stats.pid = proc.pid
        try:
            out.send(("init", self._records, self.config, self.settings, self._max_seq))
            if self._running:
                out.send(("start",))
        except OSError:
            pass  # it died at once: the reader sees the end of its output and restarts it
        threading.Thread(
            target=self._read, args=(proc, self._generation), name="poller-worker-reader", daemon=True
        ).start()

    def _send(self, message: tuple[Any, ...]) -> bool:
        with self._lock:
            out = self._out
        if out is None:
            return False
        try:
            out.send(message)
            return True
        except OSError:
            return False  # the reader thread notices the death and restarts it

    def _read(self, proc: subprocess.Popen[bytes], generation: int) -> None:
        assert proc.stdout is not None
        while True:
            try:
                message = read_frame(proc.stdout)
            except Exception:
                message = None
            if not isinstance(message, tuple):
                break
            kind = message[0]
            if kind == "batch":
                self._apply(message[1], message[2], message[3])
            elif kind == "reply":
                self._answer(message[1], message[2], message[3])
        self._died(proc, generation)

    def _died(self, proc: subprocess.Popen[bytes], generation: int) -> None:
        try:
            code: int | None = proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()  # it closed its output but lives on: no half-dead workers
            code = proc.wait()
        with self._lock:
            if self._closed or generation != self._generation:
                return
            self._proc = self._out = None
            quick = time.monotonic() - self._started_at < QUICK_DEATH_S
            self._quick_deaths = self._quick_deaths + 1 if quick else 0
            calls, self._calls = self._calls, {}
        for call in calls.values():
            call.value = ("libvirt", "the poller worker stopped during the call: check the host", None)
            call.done.set()
        delay = min(RESTART_DELAY_MAX_S, RESTART_DELAY_S * 2.0 ** min(self._quick_deaths, 8))
        time.sleep(delay if self._quick_deaths else 0.0)
        with self._lock:
            if self._closed or self._proc is not None:
                return
            self.stats.restarts += 1
            self._spawn_locked()
            notice = WorkerNotice(
                f"the poller worker stopped (exit code {code}); restarted it (pid {self.stats.pid})",
                self.stats.restarts,
                code,
            )
            listeners = list(self._notice_subscribers)
        for callback in listeners:
            with contextlib.suppress(Exception):
                callback(notice.text)

    def close(self, wait: float | None = None) -> None:
        """Stop the worker: it exits at end of input without waiting for any host; killed after
        EXIT_GRACE_S if it has not (a thread stuck in C code). Never leaves a process behind."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._running = False
            proc, out = self._proc, self._out
            self._proc = self._out = None
            calls, self._calls = self._calls, {}
        for call in calls.values():
            call.value = ("libvirt", "the poller was closed during the call", None)
            call.done.set()
        if proc is None or out is None:
            return
        with contextlib.suppress(OSError):
            out.send(("close",))
        out.close()
        try:
            proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before it is started or after close)."""
        with self._lock:
            return self._proc.pid if self._proc is not None else None
