"""Start a VM where the cost functions say: schedule, create its drive, define, start, wait for running.

Steps, each timed (the benchmark reports where the time goes):
1. schedule: the scheduler picks the host and the PCI devices from the live fleet (or checks the
   host the admin named: Enabled, enough free devices, finite cost);
2. volume: a qcow2 drive in the realm's drives pool, sparse when drives.lazy-allocation is on, empty
   or backed by a VM image from the bricks pool, sized within drives.min-size/max-size;
3. define + start the domain built by domain_xml (virtio, the realm's cache mode, hostdevs, pins);
4. wait until it is running, within the realm's registration-timeout. A VM that does not get there
   is destroyed and removed with its drive, and the failure is reported.

Nothing is left unknown: the PCI devices chosen are reserved in the store with the VM's lease (other
vmdecks' schedulers count them) until the VM is recorded or the start fails, and the VM is recorded
as "starting" before its drive and domain exist. A start that fails forgets that record once its
clean-up removed everything, and marks it "leftover" when something stayed; a start whose process
died keeps "starting". Either way `reconcile` knows the domain as vmdeck's.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import libvirt

from tui.core.hosts import HostError, default_realm
from tui.core.live import DomainState, ManagedVm
from tui.core.model import Realm
from tui.core.scheduling import Request, RequestError
from tui.core.units import format_size
from tui.services.actions.deck import Deck, Note
from tui.services.actions.domain_xml import (
    DiskSpec,
    DomainSpec,
    NetworkSpec,
    build_domain_xml,
)
from tui.services.actions.outcome import Failed, Outcome, Refused
from tui.services.actions.start_drive import create_drive
from tui.services.actions.start_placement import choose_and_reserve, release_devices
from tui.services.store import StoreError

# libvirt accepts more, but these names are safe in file names, shells and URIs.
_VM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" would accept "x\n"
_STATE_POLL_S = 0.05


@dataclass(frozen=True)
class StartRequest:
    name: str
    vcpus: int
    memory: int  # bytes
    devices: Mapping[str, int] = field(default_factory=dict)
    disk: int | None = None  # bytes; default: the image's size, else the settings' default
    image: str | None = None  # a volume of the realm's bricks pool
    host: str | None = None  # None: the scheduler chooses
    realm: str | None = None  # None: the config's only realm
    max_vcpus: int | None = None  # None: the chosen host's cores (room for hot-add)
    max_memory: int | None = None  # None: the memory asked for
    network: str | None = None  # a libvirt network; the realm's network-filter is applied
    vcpu_pins: tuple[tuple[int, str], ...] = ()
    emulator_pin: str | None = None
    reason: str | None = None


def start_vm(deck: Deck, req: StartRequest) -> Outcome:
    return deck.run("vm.start", req.name, lambda note: _start(deck, req, note), reason=req.reason)


def _start(deck: Deck, req: StartRequest, note: Note) -> str:
    timings: dict[str, float] = {}
    note.details["timings"] = timings
    t0 = time.perf_counter()
    realm = _realm(deck, req.realm)
    _check_request(deck, req)
    try:
        shape = Request.of(req.vcpus, req.memory, dict(req.devices))
    except RequestError as exc:
        raise Refused(str(exc)) from None
    uid = str(uuidlib.uuid4())
    lease = deck.current_lease(f"vm:{req.name}")
    with deck.placement_lock:
        choice = choose_and_reserve(deck, realm, shape, req.host, lease)
        note.host = choice.host
        note.details.update(
            uuid=uid, cost=choice.cost, devices=list(choice.devices), candidates=choice.candidates
        )
        try:
            record, conn = deck.connect(choice.host)
        except BaseException:
            release_devices(deck, lease)
            raise
        deck.add_pending(uid, choice.host, req.vcpus, req.memory, choice.devices)
    timings["schedule"] = time.perf_counter() - t0
    try:
        profile = deck.config.hardware_profiles[record.profile]
        max_vcpus = req.max_vcpus or max(req.vcpus, profile.cores)
        # Known before it exists: a start that dies from here on leaves a record reconcile can use.
        deck.store.record_vm(
            ManagedVm(uid, req.name, choice.host, "starting", choice.devices), reason=req.reason
        )
        try:
            created = create_drive(deck, conn, realm, req, note, timings)
        except BaseException:
            _forget(deck, uid, "start failed before its drive existed")
            raise
        spec = DomainSpec(
            name=req.name,
            uuid=uid,
            vcpus=req.vcpus,
            max_vcpus=max_vcpus,
            memory=req.memory,
            max_memory=req.max_memory or req.memory,
            domain_type=deck.settings.domain_type,
            machine=deck.settings.machine,
            firmware=deck.settings.firmware,
            cpu=deck.settings.cpu,
            disks=(DiskSpec(created.path(), "qcow2", realm.drives.cache),),
            network=NetworkSpec(req.network, realm.network_filter) if req.network else None,
            hostdevs=choice.devices,
            vcpu_pins=req.vcpu_pins,
            emulator_pin=req.emulator_pin,
            graphics=realm.graphics,
        )
        _define_and_start(deck, conn, spec, created, realm, timings, uid)
    except BaseException:
        deck.drop_pending(uid)
        release_devices(deck, lease)
        raise
    t = time.perf_counter()
    deck.store.record_vm(ManagedVm(uid, req.name, choice.host, devices=choice.devices), reason=req.reason)
    release_devices(deck, lease)  # recorded: the host's own poll now shows the devices in use
    deck.refresh(choice.host)
    timings["record"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    devices = f" with {', '.join(choice.devices)}" if choice.devices else ""
    return f"started {req.name} on {choice.host} (cost {choice.cost:.6g}){devices}"


def _realm(deck: Deck, realm_id: str | None) -> Realm:
    try:
        rid = realm_id or default_realm(deck.config)
    except HostError as exc:
        raise Refused(str(exc)) from None
    realm = deck.config.realms.get(rid)
    if realm is None:
        known = ", ".join(sorted(deck.config.realms)) or "none"
        raise Refused(f"no realm {rid!r} in the config (realms: {known})")
    if realm.disabled:
        raise Refused(f"realm {rid!r} is disabled: nothing is started in it")
    return realm


def _check_request(deck: Deck, req: StartRequest) -> None:
    if not _VM_NAME.fullmatch(req.name):
        raise Refused(f"invalid VM name {req.name!r}: 1-64 letters, digits, '.', '_' or '-'")
    if req.vcpus < 1:
        raise Refused(f"a VM needs at least 1 vCPU, got {req.vcpus}")
    if req.max_vcpus is not None and req.max_vcpus < req.vcpus:
        raise Refused(f"--max-vcpus {req.max_vcpus} is below --vcpus {req.vcpus}")
    if req.memory <= 0:
        raise Refused("memory must be positive")
    if req.max_memory is not None and req.max_memory < req.memory:
        raise Refused(
            f"--max-memory {format_size(req.max_memory)} is below --memory {format_size(req.memory)}"
        )
    for host, snap in sorted(deck.snapshots().items()):
        if any(d.name == req.name for d in snap.domains):
            raise Refused(f"a VM named {req.name!r} already exists on host {host!r}")


def _forget(deck: Deck, uid: str, why: str) -> None:
    with contextlib.suppress(StoreError, HostError):
        deck.store.forget_vm(uid, reason=why)


def _define_and_start(
    deck: Deck,
    conn: libvirt.virConnect,
    spec: DomainSpec,
    drive: libvirt.virStorageVol,
    realm: Realm,
    timings: dict[str, float],
    uid: str,
) -> None:
    t = time.perf_counter()
    dom: libvirt.virDomain | None = None
    try:
        dom = deck.call(conn.defineXML, build_domain_xml(spec), what=f"define {spec.name}")
        timings["define"] = time.perf_counter() - t
        t = time.perf_counter()
        deck.call(dom.create, what=f"start {spec.name}")
        timings["start"] = time.perf_counter() - t
        t = time.perf_counter()
        _wait_running(deck, dom, spec.name, realm)
        timings["wait_running"] = time.perf_counter() - t
    except BaseException as exc:
        removed, left = _remove_failed(deck, dom, drive)
        if left:
            with contextlib.suppress(StoreError):
                host = _host_of(deck, uid)
                deck.store.record_vm(
                    ManagedVm(uid, spec.name, host, "leftover", spec.hostdevs), reason=removed
                )
        else:
            _forget(deck, uid, f"start failed: {removed}")
        if isinstance(exc, libvirt.libvirtError):
            raise Failed(f"libvirt: {exc.get_error_message() or exc} ({removed})") from None
        if isinstance(exc, Failed):
            raise Failed(f"{exc} ({removed})", exc.result, **exc.details) from None
        raise


def _wait_running(deck: Deck, dom: libvirt.virDomain, name: str, realm: Realm) -> None:
    deadline = time.monotonic() + realm.registration_timeout_s
    while True:
        state = DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))
        if state is DomainState.RUNNING:
            return
        if not state.holds_resources:
            raise Failed(f"{name} stopped ({state.value}) before it was running")
        if time.monotonic() >= deadline:
            raise Failed(
                f"{name} was not running within realm {realm.id!r}'s registration-timeout of "
                f"{realm.registration_timeout_s:g} s (state {state.value})"
            )
        time.sleep(_STATE_POLL_S)


def _host_of(deck: Deck, uid: str) -> str:
    return next((vm.host for vm in deck.store.managed_vms() if vm.uuid == uid), "?")


def _remove_failed(
    deck: Deck, dom: libvirt.virDomain | None, drive: libvirt.virStorageVol
) -> tuple[str, list[str]]:
    """Undo a failed start; says what was removed and what could not be (for the admin to clean up)."""
    done, left = [], []
    steps: list[tuple[str, object]] = []
    if dom is not None:
        steps += [("destroyed", dom.destroy), ("undefined", dom.undefine)]
    steps.append(("drive deleted", lambda: drive.delete(0)))
    for label, step in steps:
        try:
            deck.call(step, what=label)  # type: ignore[arg-type]
            done.append(label)
        except libvirt.libvirtError as exc:
            if label == "destroyed" and exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
                continue  # it was not running: nothing to destroy
            left.append(f"{label.split()[0]} failed: {exc.get_error_message()}")
        except Failed as exc:
            left.append(str(exc))
    text = "the VM was removed: " + ", ".join(done) if done else "nothing was removed"
    return text + (f"; {'; '.join(left)}" if left else ""), left
