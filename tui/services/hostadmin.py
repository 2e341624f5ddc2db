"""Host administration: add, edit and remove a host record, and reconcile vmdeck's VM records.

The one implementation `vmdeck hosts add|edit|remove`, `vmdeck reconcile --adopt/--forget` and the
console's dialogs (tui/console/hostadmin/) call:
- `host_record` / `host_changes` turn an admin's text fields into a checked record or change set
  (the URI rules of tui/core/hosts.py, the profile and realm against the config); refusals are
  HostError naming the field;
- `add_host`, `edit_host`, `remove_host` write through the one action path (read-only mode refuses,
  the host's lease is held, the store audits the change first itself: `audit_intent=False`);
- `removal_blockers` is the rule that keeps a host vmdeck's VMs run on: refused, naming them;
- `reconcile_changes` adopts and forgets, every UUID checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tui.core.fleet import HostState
from tui.core.hosts import (
    HostError,
    HostRecord,
    Nat,
    check_against_config,
    check_name,
    check_nat,
    check_uri,
    default_realm,
)
from tui.core.live import HostSnapshot, ManagedVm
from tui.core.model import VmConfig
from tui.services.actions.outcome import Outcome, Refused, Result
from tui.services.actions.path import READ_ONLY_MESSAGE, ActionPath, Note
from tui.services.store.base import FleetStore


# --- fields -> records ---------------------------------------------------------------------------------
def parse_state(text: str | None) -> HostState | None:
    if text is None or not text.strip():
        return None
    try:
        return HostState.parse(text.strip())
    except ValueError as exc:
        raise HostError(str(exc)) from None


def parse_nat(
    ip: str | None, base_port: str | int | None, where: str = "static address translation"
) -> Nat | None:
    """Both or neither: an address to connect to and a base port."""
    ip = ip.strip() if isinstance(ip, str) else ip
    base_port = base_port.strip() if isinstance(base_port, str) else base_port
    if not ip and base_port in (None, ""):
        return None
    if not ip or base_port in (None, ""):
        raise HostError(f"{where} needs both an address and a base port")
    return check_nat(ip, base_port, where)


def host_record(
    config: VmConfig,
    *,
    name: str,
    uri: str,
    profile: str,
    realm: str | None = None,
    state: str | None = None,
    nat_ip: str | None = None,
    nat_base_port: str | int | None = None,
) -> HostRecord:
    """A new host from an admin's fields, checked like every record (realm: the only one if empty)."""
    name = check_name(name)
    if not profile or not profile.strip():
        raise HostError(f"host {name!r}: a hardware profile is required")
    record = HostRecord(
        name=name,
        uri=check_uri(uri, f"host {name!r}"),
        profile=profile.strip(),
        realm=realm.strip() if realm and realm.strip() else default_realm(config),
        state=parse_state(state) or HostState.ENABLED,
        nat=parse_nat(nat_ip, nat_base_port),
    )
    check_against_config(record, config)
    return record


def host_changes(
    config: VmConfig,
    current: HostRecord,
    *,
    uri: str | None = None,
    profile: str | None = None,
    realm: str | None = None,
    state: str | None = None,
    nat: Nat | None = None,
    no_nat: bool = False,
) -> dict[str, Any]:
    """The fields that differ from `current` (None: keep), checked against the config as a whole."""
    if no_nat and nat is not None:
        raise HostError("removing static address translation contradicts giving one")
    changes: dict[str, Any] = {}
    if uri is not None and uri != current.uri:
        changes["uri"] = check_uri(uri, f"host {current.name!r}")
    if profile is not None and profile != current.profile:
        changes["profile"] = profile
    if realm is not None and realm != current.realm:
        changes["realm"] = realm
    parsed = parse_state(state)
    if parsed is not None and parsed is not current.state:
        changes["state"] = parsed
    if (nat is not None and nat != current.nat) or (no_nat and current.nat is not None):
        changes["nat"] = nat
    check_against_config(current.with_changes(**changes), config)
    return changes


# --- writes, on the one action path ---------------------------------------------------------------------
def _read_only(path: ActionPath, action: str, name: str) -> Outcome | None:
    return Outcome(action, name, name, Result.REFUSED, READ_ONLY_MESSAGE) if path.read_only else None


def add_host(path: ActionPath, record: HostRecord, reason: str | None) -> Outcome:
    """Save a new host; details["record"] is the saved record's JSON.

    Raises HostError, writing nothing, for what needs no lease to tell (a name already taken)."""
    if (refused := _read_only(path, "host.add", record.name)) is not None:
        return refused
    if path.store.host(record.name) is not None:
        raise HostError(f"host(s) already exist: {record.name} (use `vmdeck hosts edit`)")

    def body(note: Note) -> str:
        note.host = record.name
        try:
            path.store.add_host(record, reason=reason)
        except HostError as exc:  # added by someone else meanwhile
            raise Refused(str(exc)) from None
        note.details["record"] = record.to_json()
        return f"added host {record.name} ({record.state.label})"

    return path.run("host.add", record.name, body, reason=reason, audit_intent=False)


def _existing(path: ActionPath, name: str) -> HostRecord:
    record = path.store.host(name)
    if record is None:
        raise HostError(f"no host named {name!r}")
    return record


def edit_host(path: ActionPath, name: str, changes: Mapping[str, Any], reason: str | None) -> Outcome:
    """Change fields of a host (`host_changes`); a change of state needs a reason. Raises HostError,
    writing nothing, for an unknown host, an empty change or a state change without a reason."""
    if (refused := _read_only(path, "host.edit", name)) is not None:
        return refused
    _existing(path, name)
    if not changes:
        raise HostError(f"nothing to change on host {name!r}")
    if "state" in changes and not (reason and reason.strip()):
        raise HostError(f"changing the state of {name!r} needs a reason (--reason TEXT)")

    def body(note: Note) -> str:
        note.host = name
        try:
            after = path.store.edit_host(name, changes, reason=reason)
        except HostError as exc:
            raise Refused(str(exc)) from None
        note.details["record"] = after.to_json()
        return f"updated host {name}: {', '.join(sorted(changes))}"

    return path.run("host.edit", name, body, reason=reason, audit_intent=False)


def recorded_on(managed: Iterable[ManagedVm], host: str) -> list[ManagedVm]:
    return sorted((vm for vm in managed if vm.host == host), key=lambda vm: vm.name)


def removal_blockers(recorded: Sequence[ManagedVm], snapshot: HostSnapshot | None) -> list[str]:
    """Why vmdeck's VMs keep a host from being removed: one line per VM, empty when nothing does.

    A VM vmdeck recorded on the host blocks while the host's live poll shows it holding resources
    (running, paused…). When the host is not connected nothing can be told, so every recorded VM
    blocks: removing the record of a host whose VMs may still run would lose them from vmdeck's view.
    """
    if not recorded:
        return []
    if snapshot is None or not snapshot.live:
        status = snapshot.status.value if snapshot is not None else "not polled"
        return [f"{vm.name} (host {status}: cannot tell whether it runs)" for vm in recorded]
    states = {d.uuid.lower(): d for d in snapshot.domains}
    blockers = []
    for vm in recorded:
        dom = states.get(vm.uuid.lower())
        if dom is not None and dom.state.holds_resources:
            blockers.append(f"{vm.name} ({dom.state.value})")
    return blockers


def removal_refusal(name: str, blockers: Sequence[str]) -> str:
    shown = ", ".join(blockers[:10]) + (f" and {len(blockers) - 10} more" if len(blockers) > 10 else "")
    return (
        f"host {name!r} still runs vmdeck's VM(s): {shown}; stop or migrate them first "
        "(a VM whose host cannot be reached: `vmdeck reconcile --forget UUID` once it is gone)"
    )


def remove_host(
    path: ActionPath, name: str, reason: str | None, snapshot: HostSnapshot | None = None
) -> Outcome:
    """Forget a host, refused while vmdeck's VMs run on it (`removal_blockers` with its live poll).
    Raises HostError, writing nothing, for an unknown host or one that vmdeck's VMs keep."""
    if (refused := _read_only(path, "host.remove", name)) is not None:
        return refused
    _existing(path, name)
    blockers = removal_blockers(recorded_on(path.store.managed_vms(), name), snapshot)
    if blockers:
        raise HostError(removal_refusal(name, blockers))

    def body(note: Note) -> str:
        note.host = name
        # Checked again under the lease: a VM may have been started here since.
        again = removal_blockers(recorded_on(path.store.managed_vms(), name), snapshot)
        if again:
            raise Refused(removal_refusal(name, again), blockers=again)
        try:
            before = path.store.remove_host(name, reason=reason)
        except HostError as exc:
            raise Refused(str(exc)) from None
        note.details["removed"] = before.to_json()
        return f"removed host {name}"

    return path.run("host.remove", name, body, reason=reason, audit_intent=False)


# --- reconcile -----------------------------------------------------------------------------------------
def reconcile_changes(
    store: FleetStore,
    snapshots: Mapping[str, HostSnapshot],
    adopt: Sequence[str],
    forget: Sequence[str],
    reason: str | None,
) -> list[str]:
    """Adopt (record as vmdeck's, where a connected host reports it) and forget (drop the record of a
    VM no connected host reports); every UUID is checked before anything is written. Raises HostError."""
    found = {d.uuid.lower(): (s.host, d.name) for s in snapshots.values() if s.live for d in s.domains}
    records = {vm.uuid.lower() for vm in store.managed_vms()}
    adopting = [u.lower() for u in adopt]
    forgetting = [u.lower() for u in forget]
    for uuid in adopting:
        if uuid not in found:
            raise HostError(f"adopt {uuid}: no connected host reports a domain with that UUID")
    for uuid in forgetting:
        if uuid not in records:
            raise HostError(f"forget {uuid}: vmdeck has no record of that VM")
        if uuid in found:
            raise HostError(f"forget {uuid}: host {found[uuid][0]!r} still reports it; it is not missing")
    done = []
    for uuid in adopting:
        host, name = found[uuid]
        store.record_vm(ManagedVm(uuid, name, host), reason=reason or "adopted by vmdeck reconcile")
        done.append(f"adopted {name} ({uuid}) on {host}")
    for uuid in forgetting:
        vm = store.forget_vm(uuid, reason=reason or "forgotten by vmdeck reconcile")
        done.append(f"forgot {vm.name} ({uuid})")
    return done
