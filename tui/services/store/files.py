"""Crash-safe files: atomic replacement, a TinyDB storage built on it, and the store's lock.

TinyDB's JSONStorage rewrites its file in place, so a kill -9 mid-write leaves invalid JSON
(../shared/notes/ecosystem.md: 5 of 40 trials). Here every write goes to a temp file in the same
directory, is fsynced, then os.replace()d over the old file, and the directory is fsynced so the
rename itself survives a crash: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock
from tinydb.storages import Storage


class StoreError(RuntimeError):
    """The store cannot be read or written; the message names the file."""


TMP_MAX_AGE_S = 3600.0  # a temp file older than this belongs to no live write: removed at open


def os_error(path: Path, verb: str, exc: OSError) -> str:
    """One line naming the file and what went wrong; a full disk is called that."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full" if exc.errno == errno.ENOSPC else "the disk quota is exceeded"
        return f"{verb} {path}: {why}; nothing was changed (free some space and retry)"
    if exc.errno == errno.EFBIG:
        return f"{verb} {path}: file size limit reached; nothing was changed"
    if exc.errno == errno.EISDIR:
        return f"{verb} {path}: it is a directory, expected a file"
    return f"{verb} {path}: {exc.strerror or exc}"


def clean_stale_temp_files(directory: Path, max_age_s: float = TMP_MAX_AGE_S) -> list[str]:
    """Remove `.NAME.*.tmp` files left by writers killed mid-write; returns the names removed."""
    removed: list[str] = []
    cutoff = time.time() - max_age_s
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    except OSError:
        return removed
    for path in candidates:
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
    return removed


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o640, *, durable: bool = True) -> None:
    """Replace `path` with `data` whole, or leave it as it was (raises StoreError naming the file).

    durable=False skips the fsyncs: for state that a machine crash makes moot anyway (leases)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(os_error(path, "cannot write", exc)) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise StoreError(os_error(path, "cannot write", exc)) from None
        raise
    if not durable:
        return
    try:
        fsync_dir(path.parent)
    except OSError as exc:
        raise StoreError(os_error(path.parent, "cannot sync", exc)) from None


def read_json_file(path: Path) -> Any:
    """A store file's JSON, or None when it is missing/empty; every other problem is a StoreError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(os_error(path, "cannot read", exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not valid UTF-8 (byte {exc.start}); restore it from a backup") from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); restore it from a backup"
        ) from None
    except RecursionError:
        raise StoreError(f"{path}: nested too deeply to be a vmdeck store file") from None


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose every write is an atomic file replacement."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        data = read_json_file(self._path)
        if data is None:
            return None
        if not isinstance(data, dict):
            raise StoreError(f"{self._path}: expected a JSON object of tables, found {type(data).__name__}")
        for table, docs in data.items():
            if not isinstance(docs, dict) or not all(isinstance(d, dict) for d in docs.values()):
                raise StoreError(
                    f'{self._path}: table {table!r} must be an object of documents ({{"1": {{...}}}})'
                )
            bad = [k for k in docs if not k.isdigit()]
            if bad:
                raise StoreError(f"{self._path}: table {table!r} has a non-numeric document id {bad[0]!r}")
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
    def held_for_reading(self) -> Iterator[None]:
        """The lock when it can be had; without it on a store this process cannot lock (read-only
        media, an immutable directory): readers still read, files are only ever replaced whole."""
        with contextlib.ExitStack() as stack:
            with contextlib.suppress(StoreError):
                stack.enter_context(self.held())
            yield

    @contextlib.contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        wait = self._timeout if timeout is None else timeout
        if not self._threads.acquire(timeout=wait):
            raise StoreError("store is busy in this process (lock timeout)")
        try:
            try:
                self._file.acquire(timeout=wait)
            except filelock.Timeout:
                raise StoreError(
                    f"store {self._file.lock_file} is locked by another vmdeck for more than {self._timeout} s"
                ) from None
            except OSError as exc:  # a read-only or immutable directory: no lock file can be made
                raise StoreError(os_error(Path(self._file.lock_file), "cannot lock", exc)) from None
            try:
                yield
            finally:
                self._file.release()
        finally:
            self._threads.release()
