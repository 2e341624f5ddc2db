"""Crash-safe files: atomic replacement, a TinyDB storage built on it, and the store's lock.

TinyDB's JSONStorage rewrites its file in place, so a kill -9 mid-write leaves invalid JSON
(../shared/notes/ecosystem.md: 5 of 40 trials). Here every write goes to a temp file in the same
directory, is fsynced, then os.replace()d over the old file, and the directory is fsynced so the
rename itself survives a crash: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock
from tinydb.storages import Storage


class StoreError(RuntimeError):
    """The store cannot be read or written; the message names the file."""


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose every write is an atomic file replacement."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self._path}: not valid JSON ({exc}); restore it from a backup") from None
        if not isinstance(data, dict):
            raise StoreError(f"{self._path}: expected a JSON object of tables")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write(self._path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def close(self) -> None:
        """Nothing to close: no file handle is kept between operations."""


class StoreLock:
    """One lock for a store directory: between processes (flock via filelock) and between threads.

    It is held across each whole read-modify-write; TinyDB's per-process caches are dropped by
    opening a fresh TinyDB inside every locked section (locking inside read()/write() alone loses
    updates: see the ecosystem note).
    """

    def __init__(self, directory: Path, timeout: float) -> None:
        self._threads = threading.RLock()
        # poll_interval: a waiting vmdeck retries quickly; writes hold the lock for milliseconds.
        self._file = filelock.FileLock(directory / ".store.lock", timeout=timeout, poll_interval=0.002)
        self._timeout = timeout

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if not self._threads.acquire(timeout=self._timeout):
            raise StoreError("store is busy in this process (lock timeout)")
        try:
            try:
                self._file.acquire()
            except filelock.Timeout:
                raise StoreError(
                    f"store {self._file.lock_file} is locked by another vmdeck for more than {self._timeout} s"
                ) from None
            try:
                yield
            finally:
                self._file.release()
        finally:
            self._threads.release()
