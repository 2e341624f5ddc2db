"""The PostgreSQL change feed: LISTEN on the store's channel in a thread of its own.

A listener needs its own connection in autocommit mode (notifications arrive between transactions).
When the server goes away the listener says so (`on_status(False, why)`), retries with a bounded
backoff, and once back says so and reports one "re-read everything" change (key None), because
notifications sent while it was away are lost.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import psycopg

from tui.services.store.feed import ChangeCallback, StatusCallback, StoreChange
from tui.services.store.files import StoreError
from tui.services.store.postgres.connect import connect, describe_error

CHANNEL = "vmdeck"  # the channel every change is announced on (transaction.py sends with pg_notify)
# How often the thread looks up from waiting to see whether it was stopped.
WAKE_S = 0.5
RETRY_MIN_S, RETRY_MAX_S = 0.5, 5.0
KINDS = ("host", "vm", "audit", "lease")


def parse_payload(payload: str) -> StoreChange | None:
    """A notification's JSON payload; anything else on the channel (psql by hand) is ignored."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        return None
    key = raw.get("key")
    return StoreChange(
        raw["kind"],
        key if isinstance(key, str) else None,
        str(raw.get("who", "?")),
        str(raw.get("what", "?")),
    )


class Listener:
    def __init__(
        self,
        params: Mapping[str, Any],
        shown: str,
        callback: ChangeCallback,
        on_status: StatusCallback | None = None,
    ) -> None:
        self._params, self._shown = params, shown
        self._callback, self._on_status = callback, on_status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vmdeck-store-listener", daemon=True)
        self.ready = threading.Event()  # set once LISTEN is in force (tests wait on it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        delay, lost = RETRY_MIN_S, False
        while not self._stop.is_set():
            try:
                conn = connect(self._params, self._shown, autocommit=True)
            except StoreError as exc:
                lost = self._lost(lost, str(exc))
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            try:
                with conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    if lost:
                        lost = False
                        self._status(True, "")
                        self._callback(StoreChange("host", None, "", "store.reconnected"))
                    delay = RETRY_MIN_S
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=WAKE_S):
                            change = parse_payload(note.payload)
                            if change is not None:
                                self._callback(change)
            except psycopg.Error as exc:
                lost = self._lost(lost, describe_error(exc, self._shown))
                self._stop.wait(delay)

    def _lost(self, already: bool, why: str) -> bool:
        self.ready.clear()
        if not already:
            self._status(False, why)
        return True

    def _status(self, ok: bool, why: str) -> None:
        if self._on_status is not None:
            self._on_status(ok, why)
