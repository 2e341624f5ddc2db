"""The local store's leases, device reservations and open intents: `leases.json`, under the store lock.

A lease record names its holder (actor, pid, machine), since when, until when (`expires`, renewed by
the holder) and the PCI devices it reserves. A lease is live until it expires, or at once when its
holder is a process of this machine that no longer exists. Open intents (an action's intent written,
its outcome not yet) are kept here too, so the next start can give those of dead holders an
"abandoned" outcome without reading the whole audit log.

The file is replaced whole but not fsynced: leases only matter while their holders live, and a
machine crash ends them all.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tui.core.printable import printable
from tui.services.store.audit import Actor, AuditEntry, AuditLog, machine, now_iso
from tui.services.store.base import Busy, DevicesTaken, Lease
from tui.services.store.files import StoreError, StoreLock, atomic_write, read_json_file

LEASES_FILE = "leases.json"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class LeasesAndIntents:
    """Store methods for leases and intents; the Store provides the directory, lock and audit log."""

    directory: Path
    actor: Actor
    audit_log: AuditLog
    _lock: StoreLock

    def _entry(
        self,
        what: str,
        host: str | None,
        before: Any,
        after: Any,
        reason: str | None,
        **extra: Any,
    ) -> AuditEntry:
        return AuditEntry(now_iso(), self.actor, what, host, before, after, reason, **extra)

    def begin(
        self,
        what: str,
        host: str | None,
        target: str,
        before: Any,
        reason: str | None,
        *,
        lease: Lease | None = None,
    ) -> str:
        """Durably write the intent; it is open (in leases.json) until `finish` names it."""
        entry = self._entry(what, host, before, None, reason, kind="intent", target=target)
        with self._lock.held():
            self.audit_log.append([entry])
            self._update_leases(
                lambda state: state["intents"].__setitem__(
                    entry.id,
                    {
                        "what": what,
                        "host": host,
                        "target": target,
                        "key": lease.key if lease else None,
                        "token": lease.token if lease else None,
                        "pid": os.getpid(),
                        "machine": machine(),
                    },
                )
            )
        return entry.id

    def finish(
        self,
        intent_id: str,
        result: str,
        after: Any,
        message: str | None,
        *,
        what: str | None = None,
        target: str | None = None,
    ) -> None:
        """Durably write the outcome of the intent `intent_id` (`what`/`target`: when its open record
        is gone, e.g. already abandoned, so the outcome line still says what it is about)."""
        with self._lock.held():
            state = self._read_leases()
            info = state["intents"].get(intent_id) or {"what": what, "target": target}
            what = str(info.get("what") or what or "action")
            doc = dict(after) if isinstance(after, Mapping) else {"value": after}
            if message is not None:
                doc.setdefault("message", message)
            host = doc.get("host") if isinstance(doc.get("host"), str) else info.get("host")
            why = None if result == "ok" else message
            entry = self._entry(
                what,
                host,
                None,
                doc,
                why,
                kind="outcome",
                intent=intent_id,
                result=result,
                target=info.get("target"),
            )
            self.audit_log.append([entry])
            if intent_id in state["intents"]:
                self._update_leases(lambda s: s["intents"].pop(intent_id, None))

    def reconcile_intents(self) -> list[str]:
        """Give every open intent whose holder is gone an "abandoned" outcome; returns what was done."""
        done: list[str] = []
        with self._lock.held():
            state = self._read_leases()
            now = time.time()
            for intent_id, info in sorted(state["intents"].items()):
                if not self._holder_gone(info, state["leases"], now):
                    continue
                who = f"pid {info.get('pid')} on {info.get('machine')}"
                text = f"abandoned: the process ({who}) ended before recording an outcome"
                after = {"result": "abandoned", "target": info.get("target"), "message": text}
                self.audit_log.append(
                    [
                        self._entry(
                            str(info.get("what") or "action"),
                            info.get("host"),
                            None,
                            after,
                            text,
                            kind="outcome",
                            intent=intent_id,
                            result="abandoned",
                            target=info.get("target"),
                        )
                    ]
                )
                done.append(f"{info.get('what')} {info.get('target')}: {text}")
            if done:
                self._update_leases(
                    lambda s: [
                        s["intents"].pop(i, None) for i in list(s["intents"]) if not self._open(i, s, now)
                    ]
                )
        return done

    def _open(self, intent_id: str, state: Mapping[str, Any], now: float) -> bool:
        info = state["intents"].get(intent_id)
        return info is not None and not self._holder_gone(info, state["leases"], now)

    @staticmethod
    def _holder_gone(info: Mapping[str, Any], leases: Mapping[str, Any], now: float) -> bool:
        same_machine = info.get("machine") == machine()
        pid = info.get("pid")
        if same_machine and isinstance(pid, int) and not pid_alive(pid):
            return True
        key, token = info.get("key"), info.get("token")
        if key is None:
            return False  # no lease to go by and not provably dead: leave it open
        lease = leases.get(key)
        return lease is None or lease.get("token") != token or float(lease.get("expires", 0)) < now

    # --- leases --------------------------------------------------------------------------------------
    def _read_leases(self) -> dict[str, dict[str, Any]]:
        path = self.directory / LEASES_FILE
        data = read_json_file(path)
        if data is None:
            return {"leases": {}, "intents": {}}
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k, {}), dict) for k in ("leases", "intents")
        ):
            raise StoreError(f'{path}: expected {{"leases": {{...}}, "intents": {{...}}}}')
        leases, intents = dict(data.get("leases", {})), dict(data.get("intents", {}))
        for key, record in leases.items():
            ok = isinstance(record, dict) and isinstance(record.get("token"), str)
            expires = record.get("expires") if isinstance(record, dict) else None
            if not ok or isinstance(expires, bool) or not isinstance(expires, int | float):
                raise StoreError(f"{path}: lease {key!r} needs a text token and a numeric expires")
            if not isinstance(record.get("devices") or {}, dict):
                raise StoreError(f"{path}: lease {key!r}: devices must be {{host: [address, ...]}}")
        if not all(isinstance(info, dict) for info in intents.values()):
            raise StoreError(f"{path}: every open intent must be an object")
        return {"leases": leases, "intents": intents}

    def _update_leases(self, change: Callable[[dict[str, dict[str, Any]]], object]) -> None:
        """Caller holds the lock."""
        state = self._read_leases()
        change(state)
        # Not fsynced: leases only matter while their holders live, and a machine crash ends them
        # all; a reader of a torn file after a power loss sees no leases (an empty file is {}).
        atomic_write(self.directory / LEASES_FILE, _json_bytes(state), durable=False)

    def _live(self, record: Any, now: float) -> bool:
        if not isinstance(record, Mapping) or float(record.get("expires", 0)) < now:
            return False
        pid = record.get("pid")
        # A holder on this machine that is gone frees its lease at once (the ttl bounds the rest).
        return not (record.get("machine") == machine() and isinstance(pid, int) and not pid_alive(pid))

    @staticmethod
    def _lease(key: str, record: Mapping[str, Any]) -> Lease:
        # Text from the file ends up in refusal messages: escaped, in case it was edited by hand.
        return Lease(
            printable(key),
            printable(record.get("action")),
            printable(record.get("holder")),
            printable(record.get("since")),
            float(record.get("expires", 0)),
            str(record.get("token")),
        )

    def acquire_lease(self, key: str, action: str, ttl_s: float) -> Lease:
        """Take the lease of `key` for `action`, or raise Busy naming who holds it since when."""
        with self._lock.held():
            state = self._read_leases()
            now = time.time()
            current = state["leases"].get(key)
            if current is not None and self._live(current, now):
                held = self._lease(key, current)
                raise Busy(key, held.action, held.holder, held.since)
            lease = Lease(
                key,
                action,
                f"{self.actor} (pid {os.getpid()} on {machine()})",
                now_iso(),
                now + ttl_s,
                secrets.token_hex(16),
            )
            record = {
                "action": action,
                "holder": lease.holder,
                "since": lease.since,
                "expires": lease.expires,
                "token": lease.token,
                "pid": os.getpid(),
                "machine": machine(),
                "devices": {},
            }

            def take(s: dict[str, dict[str, Any]]) -> None:
                s["leases"] = {k: v for k, v in s["leases"].items() if self._live(v, now)}
                s["leases"][key] = record

            self._update_leases(take)
            return lease

    def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        """Extend a lease we hold; Busy if it expired and someone else took it meanwhile."""
        with self._lock.held():
            state = self._read_leases()
            now = time.time()
            current = state["leases"].get(lease.key)
            if (
                isinstance(current, Mapping)
                and current.get("token") != lease.token
                and self._live(current, now)
            ):
                other = self._lease(lease.key, current)
                raise Busy(lease.key, other.action, other.holder, other.since)
            record = (
                dict(current) if isinstance(current, Mapping) and current.get("token") == lease.token else {}
            )
            record.update(
                action=lease.action,
                holder=lease.holder,
                since=lease.since,
                expires=now + ttl_s,
                token=lease.token,
                pid=os.getpid(),
                machine=machine(),
            )
            record.setdefault("devices", {})
            self._update_leases(lambda s: s["leases"].__setitem__(lease.key, record))
            return Lease(lease.key, lease.action, lease.holder, lease.since, now + ttl_s, lease.token)

    def release_lease(self, lease: Lease) -> None:
        """Give a lease back (with its device reservations); a lease no longer ours is left alone."""
        with self._lock.held():
            state = self._read_leases()
            current = state["leases"].get(lease.key)
            if isinstance(current, Mapping) and current.get("token") == lease.token:
                self._update_leases(lambda s: s["leases"].pop(lease.key, None))

    def leases(self) -> list[Lease]:
        state = self._read_leases()
        now = time.time()
        return sorted(
            (self._lease(k, v) for k, v in state["leases"].items() if self._live(v, now)), key=lambda x: x.key
        )

    def reserve_devices(self, lease: Lease, host: str, devices: Sequence[str]) -> None:
        """Hold PCI addresses on `host` with `lease`; DevicesTaken if another live lease holds one."""
        with self._lock.held():
            state = self._read_leases()
            now = time.time()
            for key, record in state["leases"].items():
                if key == lease.key or not self._live(record, now):
                    continue
                taken = sorted(set(devices) & set((record.get("devices") or {}).get(host, ())))
                if taken:
                    raise DevicesTaken(host, taken, str(record.get("holder")))
            current = state["leases"].get(lease.key)
            if not isinstance(current, Mapping) or current.get("token") != lease.token:
                raise StoreError(f"the lease of {lease.key} is no longer held: devices not reserved")

            def reserve(s: dict[str, dict[str, Any]]) -> None:
                s["leases"][lease.key] = {**current, "devices": {host: list(devices)}}

            self._update_leases(reserve)

    def release_devices(self, lease: Lease) -> None:
        with self._lock.held():
            current = self._read_leases()["leases"].get(lease.key)
            if (
                isinstance(current, Mapping)
                and current.get("token") == lease.token
                and current.get("devices")
            ):
                self._update_leases(lambda s: s["leases"].__setitem__(lease.key, {**current, "devices": {}}))

    def reserved_devices(self, *, excluding: Lease | None = None) -> dict[str, set[str]]:
        """host -> PCI addresses held by live leases (other than `excluding`)."""
        out: dict[str, set[str]] = {}
        now = time.time()
        for record in self._read_leases()["leases"].values():
            if not self._live(record, now) or (
                excluding is not None and record.get("token") == excluding.token
            ):
                continue
            for host, addrs in (record.get("devices") or {}).items():
                out.setdefault(str(host), set()).update(str(a) for a in addrs)
        return out


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
