"""The one path every change takes: read-only check, the object's lease, the intent, the act, the outcome.

`ActionPath` needs only a store: the CLI uses it for changes that touch no host (a host's state), the
`Deck` (which adds config and live connections) inherits it for everything else. `run`:

1. read-only mode refuses at once (nothing is written, nothing is connected);
2. the lease of the object ("vm:NAME" / "host:NAME") is taken — a second action on the same object
   from any thread or process is refused at once with "stop web1 already running, started by alice
   at T" (and that refusal is audited) — and renewed by a daemon thread every `lease_renew_s` while
   the action runs; a holder that dies stops renewing, so its lease is free after `lease_ttl_s` at
   most (at once on the same machine: a dead pid holds nothing);
3. the intent is written durably (who, what, target, reason) before `body` runs;
4. the outcome (ok / refused / failed / timed-out) with the real message after; the lease is released.

Nested runs in one thread (a drain setting its host's state) reuse the lease the thread holds.
`in_flight()` lists what runs now; `abandon_in_flight(note)` records an "abandoned" outcome for each
(the console calls it when the admin quits while actions run).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libvirt

from tui.services.actions.outcome import Failed, Outcome, Refused, Result
from tui.services.store import StoreError
from tui.services.store.base import LEASE_RENEW_S, LEASE_TTL_S, Busy, FleetStore, Lease

READ_ONLY_MESSAGE = "read-only mode: vmdeck makes no changes (restart without --read-only to act)"


def lease_key(action: str, target: str) -> str:
    """The object an action holds: VM actions the VM, host and pool actions the host."""
    kind = "vm" if action.startswith("vm.") else "host"
    return f"{kind}:{target}"


@dataclass
class Note:
    """What an action has learnt so far; kept for the audit entry even when it fails half-way."""

    host: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InFlight:
    """An action whose intent is written and whose outcome is not (yet)."""

    intent: str
    action: str
    target: str
    lease: Lease | None
    since: str

    def describe(self) -> str:
        return f"{self.action} {self.target} (since {self.since})"


class _Renewer:
    """A daemon thread renewing one lease until stopped; a lost lease is remembered, not raised."""

    def __init__(self, store: FleetStore, lease: Lease, ttl_s: float, every_s: float) -> None:
        self.lease = lease
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(store, ttl_s, every_s), name=f"lease {lease.key}", daemon=True
        )
        self._thread.start()

    def _loop(self, store: FleetStore, ttl_s: float, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.lease = store.renew_lease(self.lease, ttl_s)
            except Busy as exc:
                self.lost = str(exc)
                return
            except StoreError:
                continue  # a slow or briefly unwritable store: try again before the ttl runs out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


class ActionPath:
    def __init__(
        self,
        store: FleetStore,
        *,
        read_only: bool = False,
        lease_ttl_s: float = LEASE_TTL_S,
        lease_renew_s: float = LEASE_RENEW_S,
    ) -> None:
        self.store = store
        self._read_only = read_only
        self.lease_ttl_s = lease_ttl_s
        self.lease_renew_s = lease_renew_s
        self._held = threading.local()  # .leases: dict[key, Lease] held by this thread
        self._flight_lock = threading.Lock()
        self._in_flight: dict[str, InFlight] = {}
        if not read_only:
            # Intents of processes that died before their outcome: give them one now.
            with contextlib.suppress(StoreError, OSError):
                store.reconcile_intents()

    @property
    def read_only(self) -> bool:
        return self._read_only

    # --- leases --------------------------------------------------------------------------------------
    def busy(self, kind: str, name: str) -> Lease | None:
        """The live lease on "KIND:NAME" (someone is acting on it), or None: ask before the questions."""
        key = f"{kind}:{name}"
        return next((lease for lease in self.store.leases() if lease.key == key), None)

    def _thread_leases(self) -> dict[str, Lease]:
        leases: dict[str, Lease] | None = getattr(self._held, "leases", None)
        if leases is None:
            leases = self._held.leases = {}
        return leases

    @contextlib.contextmanager
    def holding(self, key: str, action: str) -> Iterator[Lease]:
        """Hold `key`'s lease for the block (raises Busy at once when someone else holds it)."""
        mine = self._thread_leases()
        if key in mine:  # a nested step of an action this thread already runs
            yield mine[key]
            return
        lease = self.store.acquire_lease(key, action, self.lease_ttl_s)
        renewer = _Renewer(self.store, lease, self.lease_ttl_s, self.lease_renew_s)
        mine[key] = lease
        try:
            yield lease
        finally:
            del mine[key]
            renewer.stop()
            with contextlib.suppress(StoreError, OSError):
                self.store.release_lease(renewer.lease)

    def current_lease(self, key: str) -> Lease | None:
        """The lease this thread holds on `key` (for reserving devices with it)."""
        return self._thread_leases().get(key)

    # --- in-flight actions ---------------------------------------------------------------------------
    def in_flight(self) -> list[InFlight]:
        with self._flight_lock:
            return sorted(self._in_flight.values(), key=lambda f: f.since)

    def abandon_in_flight(self, note: str) -> list[InFlight]:
        """Record an "abandoned" outcome (with `note`) for every action still running; returns them."""
        with self._flight_lock:
            flights = list(self._in_flight.values())
            self._in_flight.clear()
        for flight in flights:
            after = {"result": "abandoned", "target": flight.target, "message": note}
            with contextlib.suppress(StoreError, OSError):
                self.store.finish(
                    flight.intent, "abandoned", after, note, what=flight.action, target=flight.target
                )
            if flight.lease is not None:
                with contextlib.suppress(StoreError, OSError):
                    self.store.release_lease(flight.lease)
        return flights

    # --- running an action ---------------------------------------------------------------------------
    def run(
        self,
        action: str,
        target: str,
        body: Callable[[Note], str],
        *,
        reason: str | None = None,
        mutates: bool = True,
        key: str | None = None,
        audit_intent: bool = True,
    ) -> Outcome:
        """Run one action on the one path (see the module docstring).

        `body` returns the success message and records what it learns in the Note; it raises Refused
        or Failed (or lets a libvirtError through) to say no. `mutates=False` (a dry run, a check)
        takes no lease and writes nothing. `audit_intent=False` is for a body whose only effect is one
        store change, which the store audits first itself: then only a refusal or failure is added.
        """
        if mutates and self.read_only:
            return Outcome(action, target, None, Result.REFUSED, READ_ONLY_MESSAGE)
        if not mutates:
            note = Note()
            return self._outcome(action, target, note, *self._body(body, note))
        key = key or lease_key(action, target)
        try:
            with self.holding(key, action) as lease:
                if audit_intent:
                    return self._run_leased(action, target, body, reason, lease)
                note = Note()
                outcome = self._outcome(action, target, note, *self._body(body, note))
                if not outcome.ok:
                    self.audit(outcome, reason)
                return outcome
        except Busy as exc:
            on_host = target if key.startswith("host:") else None
            outcome = Outcome(action, target, on_host, Result.REFUSED, str(exc), {"busy": exc.key})
            self.audit(outcome, reason)
            return outcome
        except StoreError as exc:
            return Outcome(action, target, None, Result.FAILED, f"nothing was done: {exc}")

    def _run_leased(
        self, action: str, target: str, body: Callable[[Note], str], reason: str | None, lease: Lease
    ) -> Outcome:
        intent = self.store.begin(action, None, target, None, reason, lease=lease)
        flight = InFlight(intent, action, target, lease, lease.since)
        with self._flight_lock:
            self._in_flight[intent] = flight
        note = Note()
        try:
            outcome = self._outcome(action, target, note, *self._body(body, note))
        finally:
            with self._flight_lock:
                abandoned = self._in_flight.pop(intent, None) is None
        after = _audit_after(outcome)
        if abandoned:
            after["after_abandon"] = True  # the console quit first; this is what really happened
        try:
            self.store.finish(
                intent, outcome.result.value, after, outcome.message, what=action, target=target
            )
        except StoreError as exc:
            return Outcome(
                action,
                target,
                outcome.host,
                outcome.result,
                f"{outcome.message} (its outcome could not be audited: {exc})",
                dict(outcome.details),
                intent,
            )
        return dataclasses.replace(outcome, intent=intent)  # the audit above is written without it

    @staticmethod
    def _body(body: Callable[[Note], str], note: Note) -> tuple[Result, str]:
        try:
            return Result.OK, body(note)
        except Refused as exc:
            note.details.update(exc.details)
            return Result.REFUSED, str(exc)
        except Failed as exc:
            note.details.update(exc.details)
            return exc.result, str(exc)
        except Busy as exc:  # a nested lease (a VM of a drain) held elsewhere
            return Result.REFUSED, str(exc)
        except StoreError as exc:
            return Result.FAILED, str(exc)
        except libvirt.libvirtError as exc:
            return Result.FAILED, f"libvirt: {exc.get_error_message() or exc}"

    @staticmethod
    def _outcome(action: str, target: str, note: Note, result: Result, message: str) -> Outcome:
        return Outcome(action, target, note.host, result, message, dict(note.details))

    def audit(self, outcome: Outcome, reason: str | None) -> None:
        """A one-shot entry for an outcome that had no intent (a refusal before anything started)."""
        # The reason is the admin's, when given; otherwise why vmdeck refused or failed.
        why = reason if reason and reason.strip() else (None if outcome.ok else outcome.message)
        with contextlib.suppress(StoreError, OSError):
            self.store.record_action(outcome.action, outcome.host, _audit_after(outcome), why)


def _audit_after(outcome: Outcome) -> dict[str, Any]:
    return {
        "result": outcome.result.value,
        "target": outcome.target,
        "message": outcome.message,
        "host": outcome.host,
        **{k: v for k, v in outcome.details.items() if k != "timings"},
    }
