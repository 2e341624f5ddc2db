"""Power for VMs that already exist: power on, reboot, suspend, resume, autostart, undefine.

Each action is a body run through `Deck.run` (read-only refusal, audit, lease), and every libvirt call
goes through `deck.call` (bounded). The state rules that need no answer from anyone are
`power_refusal` — a pure function of the VM's last known state, which the console calls before it
asks for a reason — and `check_power`, which finds the VM first (the CLI and the action bodies).

Powering on re-checks the host: it must be reachable and not Disabled (`Deck.connect`), the VM's PCI
devices must be free there, and the host's cost function must stay finite with the VM's vCPUs and
memory added; the cost is part of the result. A No Scheduling host still powers on its own VMs: the
state keeps *new* VMs away, and this VM already lives there.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from tui.core.live import DomainFacts, DomainState
from tui.core.scheduling import FleetState
from tui.core.scheduling.explain import term_reason
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import disk_paths
from tui.services.actions.outcome import Failed, Outcome, Refused

# What each action needs the VM to be; the rest is refused before anything is asked.
_NEEDS: dict[str, tuple[tuple[DomainState, ...], str]] = {
    "start": ((DomainState.SHUTOFF, DomainState.CRASHED), "is already {state}: nothing to power on"),
    "reboot": ((DomainState.RUNNING, DomainState.BLOCKED), "is {state}: only a running VM reboots"),
    "suspend": ((DomainState.RUNNING, DomainState.BLOCKED), "is {state}: only a running VM is suspended"),
    "resume": ((DomainState.PAUSED, DomainState.PMSUSPENDED), "is {state}, not suspended: nothing to resume"),
    "undefine": (
        (DomainState.SHUTOFF, DomainState.CRASHED, DomainState.NOSTATE),
        "is {state}: stop or destroy it before undefining it",
    ),
}


def power_refusal(action: str, name: str, state: DomainState) -> str | None:
    """Why `action` cannot run on VM `name` in `state`, or None (the one statement of the rule)."""
    needs = _NEEDS.get(action)
    if needs is None or state in needs[0]:
        return None
    return f"{name} " + needs[1].format(state=state.value)


def find_vm(deck: Deck, name: str, host: str | None = None) -> tuple[str, DomainFacts]:
    """`deck.locate`, but a named host that cannot be acted on says so (Disabled, unreachable) rather
    than "no VM named …" (its VMs are not known while vmdeck is not connected to it)."""
    if host is not None:
        deck.connect(host)
    return deck.locate(name, host)


def check_power(deck: Deck, action: str, name: str, host: str | None = None) -> tuple[str, DomainFacts]:
    """(host, facts) of the VM when `action` may run on it; Refused (unknown VM, wrong state) otherwise."""
    where, facts = find_vm(deck, name, host)
    why = power_refusal(action, name, facts.state)
    if why is not None:
        raise Refused(why)
    return where, facts


def _live(deck: Deck, note: Note, action: str, name: str, host: str | None) -> tuple[str, libvirt.virDomain]:
    """Locate, connect, look up, and check the state libvirt reports now (the poll may be old: the
    pre-check before asking is `power_refusal` on the polled state)."""
    where, facts = find_vm(deck, name, host)
    note.host = where
    _, conn = deck.connect(where)
    dom = deck.domain(conn, facts)
    state = DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))
    why = power_refusal(action, name, state)
    if why is not None:
        raise Refused(why)
    return where, dom


@dataclass(frozen=True)
class HostCost:
    host: str
    cost: float
    terms: dict[str, float]


def power_on_cost(deck: Deck, host: str, facts: DomainFacts) -> HostCost:
    """The host's cost with this VM running again; Refused when its devices are taken or the cost is
    infinite. The host's own state is not a gate here (see the module docstring)."""
    record = deck.host(host)
    fleet = deck.fleet(record.realm)
    state = FleetState(deck.config, fleet)
    i = state.index.get(host)
    if i is None:
        raise Refused(f"host {host!r} has an unknown hardware profile {record.profile!r}")
    fh = state.hosts[i]
    taken = sorted(set(facts.hostdevs) & set(fh.devices_in_use))
    if taken:
        raise Refused(f"{facts.name}'s PCI devices {', '.join(taken)} are in use by another VM on {host}")
    kinds = {d.addr: d.type for d in state.profiles[i].devices}
    devices: dict[str, int] = {}
    for addr in facts.hostdevs:
        kind = kinds.get(addr)
        if kind is not None:
            devices[kind] = devices.get(kind, 0) + 1
    after = state.load(i).plus(facts.vcpus, facts.memory, devices)
    breakdown = state.cost_functions[i].explain(after)
    if not breakdown.feasible:
        first = breakdown.first_infinite()
        why = term_reason(first) if first is not None else f"total is {breakdown.total}"
        raise Refused(f"host {host!r} cannot run {facts.name} again: {why}")
    return HostCost(host, breakdown.total, {t.name: t.value for t in breakdown.terms})


def power_on_vm(deck: Deck, name: str, *, host: str | None = None, reason: str | None = None) -> Outcome:
    """Start a defined, shut-off VM on its own host, after re-checking that host's cost."""

    def body(note: Note) -> str:
        where, dom = _live(deck, note, "start", name, host)
        facts = deck.locate(name, where)
        with deck.placement_lock:
            cost = power_on_cost(deck, where, facts[1])
            note.details.update(cost=cost.cost, terms=cost.terms)
            deck.call(dom.create, what=f"power on {name}")
        deck.refresh(where)
        return f"{name} powered on on {where} (cost there {cost.cost:.6g})"

    return deck.run("vm.power-on", name, body, reason=reason)


def reboot_vm(
    deck: Deck, name: str, *, host: str | None = None, hard: bool = False, reason: str | None = None
) -> Outcome:
    """Ask the guest to reboot (ACPI / agent: the guest decides), or with `hard` reset it at once."""

    def body(note: Note) -> str:
        where, dom = _live(deck, note, "reboot", name, host)
        if hard:
            deck.call(dom.reset, 0, what=f"reset {name}")
            note.details["method"] = "reset"
            deck.refresh(where)
            return f"{name} reset on {where} (hard reboot: like pressing the reset button)"
        deck.call(dom.reboot, 0, what=f"reboot {name}")
        note.details["method"] = "guest"
        deck.refresh(where)
        return (
            f"{name} on {where}: reboot requested from the guest (ACPI/agent); a guest that ignores it "
            f"keeps running — `vmdeck vms reboot {name} --hard` resets it"
        )

    return deck.run("vm.reboot", name, body, reason=reason)


def suspend_vm(deck: Deck, name: str, *, host: str | None = None, reason: str | None = None) -> Outcome:
    """Pause the VM's vCPUs (it keeps its memory and devices on the host)."""

    def body(note: Note) -> str:
        where, dom = _live(deck, note, "suspend", name, host)
        deck.call(dom.suspend, what=f"suspend {name}")
        deck.refresh(where)
        return f"{name} suspended on {where} (vCPUs paused; memory and devices stay held)"

    return deck.run("vm.suspend", name, body, reason=reason)


def resume_vm(deck: Deck, name: str, *, host: str | None = None, reason: str | None = None) -> Outcome:
    def body(note: Note) -> str:
        where, dom = _live(deck, note, "resume", name, host)
        deck.call(dom.resume, what=f"resume {name}")
        deck.refresh(where)
        return f"{name} resumed on {where}"

    return deck.run("vm.resume", name, body, reason=reason)


def set_autostart(
    deck: Deck, name: str, on: bool, *, host: str | None = None, reason: str | None = None
) -> Outcome:
    """Whether the host's libvirtd starts the VM when the host boots."""
    word = "on" if on else "off"

    def body(note: Note) -> str:
        where, facts = find_vm(deck, name, host)
        note.host = where
        _, conn = deck.connect(where)
        dom = deck.domain(conn, facts)
        before = bool(deck.call(dom.autostart, what=f"autostart of {name}"))
        note.details["before"] = before
        if before == on:
            raise Refused(f"{name}'s autostart is already {word} on {where}: nothing to change")
        deck.call(dom.setAutostart, 1 if on else 0, what=f"set autostart of {name}")
        return f"{name}'s autostart is now {word} on {where}"

    return deck.run("vm.autostart", name, body, reason=reason)


# --- undefine ------------------------------------------------------------------------------------------
_MAX_CHAIN = 32  # backing files followed per disk


@dataclass(frozen=True)
class DoomedVolume:
    pool: str
    path: str


def storage_of(deck: Deck, name: str, host: str | None = None) -> tuple[str, list[DoomedVolume]]:
    """(host, the volumes `undefine --remove-storage` deletes): the VM's disks and its snapshots'
    overlays and memory files, but only those in the realm's drives and snapshots pools — never an
    image of the bricks pool (shared by other VMs) nor a file outside the realm's pools."""
    where, facts = find_vm(deck, name, host)
    record, conn = deck.connect(where)
    realm = deck.realm_of(record)
    pools = (realm.drives_pool, realm.snapshots_pool)
    dom = deck.domain(conn, facts)
    paths = list(disk_paths(deck.call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE, what=f"read {name}")))
    for snap in deck.call(dom.listAllSnapshots, 0, what=f"snapshots of {name}"):
        xml = deck.call(snap.getXMLDesc, 0, what=f"read snapshot {snap.getName()}")
        paths.extend(snapshot_files(xml))
    for pool_name in pools:
        with contextlib.suppress(libvirt.libvirtError, Failed):
            pool = deck.call(conn.storagePoolLookupByName, pool_name, what=f"find pool {pool_name}")
            deck.call(pool.refresh, 0, what=f"refresh pool {pool_name}")
    out: list[DoomedVolume] = []
    seen: set[str] = set()
    for start in paths:
        # Follow each disk's backing chain: after a disk-only snapshot the disk is an overlay in the
        # snapshots pool and its base volume in the drives pool is only named as the backing file.
        path: str | None = start
        for _ in range(_MAX_CHAIN):
            if path is None or path in seen:
                break
            seen.add(path)
            pool, backing = _pool_and_backing(deck, conn, path)
            if pool not in pools:
                break  # an image of the bricks pool, or a file outside the realm's pools: kept
            out.append(DoomedVolume(pool, path))
            path = backing
    return where, out


def snapshot_files(snapshot_xml: str) -> list[str]:
    """Files a snapshot made: external disk overlays and an external memory file."""
    root = ET.fromstring(snapshot_xml)
    files = [
        str(src.get("file"))
        for disk in root.iterfind("disks/disk")
        if disk.get("snapshot") == "external"
        for src in disk.iterfind("source")
        if src.get("file")
    ]
    memory = root.find("memory")
    if memory is not None and memory.get("snapshot") == "external" and memory.get("file"):
        files.append(str(memory.get("file")))
    return files


def _pool_and_backing(deck: Deck, conn: libvirt.virConnect, path: str) -> tuple[str | None, str | None]:
    """(the pool holding this file, the file it is backed by) — (None, None) when no pool has it."""
    try:
        vol = deck.call(conn.storageVolLookupByPath, path, what=f"find volume {path}")
        pool = deck.call(vol.storagePoolLookupByVolume, what=f"pool of {path}")
        xml = deck.call(vol.XMLDesc, 0, what=f"read volume {path}")
    except (libvirt.libvirtError, Failed):
        return None, None
    backing = ET.fromstring(xml).findtext("backingStore/path")
    return str(pool.name()), backing or None


def undefine_vm(
    deck: Deck,
    name: str,
    *,
    host: str | None = None,
    remove_storage: bool = False,
    reason: str | None = None,
) -> Outcome:
    """Remove a shut-off VM's definition (and its snapshots' metadata); with remove_storage, also the
    volumes `storage_of` lists (the confirmation shows that same list)."""

    def body(note: Note) -> str:
        where, dom = _live(deck, note, "undefine", name, host)
        _, conn = deck.connect(where)
        facts = deck.locate(name, where)[1]
        doomed = storage_of(deck, name, where)[1] if remove_storage else []
        flags = libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        deck.call(dom.undefineFlags, flags, what=f"undefine {name}")
        deleted: list[str] = []
        left: list[str] = []
        for vol in doomed:
            try:
                v = deck.call(conn.storageVolLookupByPath, vol.path, what=f"find {vol.path}")
                deck.call(v.delete, 0, what=f"delete {vol.path}")
                deleted.append(vol.path)
            except (libvirt.libvirtError, Failed) as exc:
                text = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else str(exc)
                left.append(f"{vol.path}: {text}")
        note.details["deleted_drives"] = deleted
        if left:
            note.details["not_deleted"] = left
        with contextlib.suppress(ValueError, LookupError):
            deck.store.forget_vm(facts.uuid, reason=reason or "undefined")
        deck.refresh(where)
        if left:
            raise Failed(
                f"{name} undefined on {where}, but {len(left)} volume(s) were not deleted: {'; '.join(left)}"
            )
        extra = f" and deleted {len(deleted)} volume(s): {', '.join(deleted)}" if deleted else ""
        return f"{name} undefined on {where}{extra}"

    return deck.run("vm.undefine", name, body, reason=reason)
