"""The last check of each host, kept for the console and `hosts list`: `hostchecks.json` in the store
directory, or in memory when the store has no directory.

The file is a cache, not a record (the audit log keeps what the checks changed): it is replaced whole
and atomically (tui/services/store/files.atomic_write) under its own lock file, and a damaged file
is reported and treated as empty, never trusted in part.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

import filelock

from tui.core.hostcheck import HostCheckReport
from tui.services.store.files import atomic_write

CACHE_FILE = "hostchecks.json"
MAX_CACHE_BYTES = 8 << 20  # a larger file is not ours to parse


class CheckCache:
    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        self._memory: dict[str, HostCheckReport] = {}
        self._lock = threading.Lock()
        self.problem: str | None = None  # why the file could not be read, if it could not

    @classmethod
    def of_store(cls, store: object) -> CheckCache:
        """Beside the store's files when it has a directory (the TinyDB store), else in memory."""
        directory = getattr(store, "directory", None)
        return cls(Path(directory) if isinstance(directory, str | Path) else None)

    def load(self) -> dict[str, HostCheckReport]:
        if self.path is None:
            with self._lock:
                return dict(self._memory)
        return self._read()

    def get(self, host: str) -> HostCheckReport | None:
        return self.load().get(host)

    def save(self, reports: Iterable[HostCheckReport]) -> None:
        new = {r.host: r for r in reports}
        if self.path is None:
            with self._lock:
                self._memory.update(new)
            return
        with self._lock, filelock.FileLock(str(self.path) + ".lock", timeout=10):
            merged = {**self._read(), **new}
            doc = {"version": 1, "hosts": {h: r.to_json() for h, r in sorted(merged.items())}}
            atomic_write(self.path, json.dumps(doc, indent=1).encode("utf-8"))

    def forget(self, hosts: Iterable[str]) -> None:
        gone = set(hosts)
        if self.path is None:
            with self._lock:
                for h in gone:
                    self._memory.pop(h, None)
            return
        with self._lock, filelock.FileLock(str(self.path) + ".lock", timeout=10):
            kept = {h: r for h, r in self._read().items() if h not in gone}
            doc = {"version": 1, "hosts": {h: r.to_json() for h, r in sorted(kept.items())}}
            atomic_write(self.path, json.dumps(doc, indent=1).encode("utf-8"))

    def _read(self) -> dict[str, HostCheckReport]:
        assert self.path is not None
        self.problem = None
        try:
            if self.path.stat().st_size > MAX_CACHE_BYTES:
                self.problem = f"{self.path}: larger than {MAX_CACHE_BYTES >> 20} MiB; ignored"
                return {}
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problem = f"{self.path}: unreadable ({exc}); the last checks are unknown"
            return {}
        hosts = raw.get("hosts") if isinstance(raw, dict) else None
        if not isinstance(hosts, dict):
            self.problem = f'{self.path}: expected {{"hosts": {{...}}}}; the last checks are unknown'
            return {}
        out: dict[str, HostCheckReport] = {}
        for name, doc in hosts.items():
            try:
                report = HostCheckReport.from_json(doc)
            except ValueError as exc:
                self.problem = f"{self.path}: host {str(name)[:64]!r}: {exc}; that entry is ignored"
                continue
            out[report.host] = report
        return out
