"""A fleet with its individual VMs: what drain previews, rebalancing and consolidation move around.

FLEET.json only has per-host totals; a what-if scenario may add a per-host `vm_list`
(`[{"id", "vcpus", "memory", "devices": [PCI addr]}]`). From the live fleet the VMs are the poller's
per-domain snapshots. A host without a VM list still counts with its totals, but its VMs are unknown:
plans treat that load as fixed (it cannot be moved, so the host cannot be emptied).

Also here: the hypothetical fleets of a replay (add or remove N hosts of a profile).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tui.core.fleet import Fleet, FleetError, FleetHost, HostState, read_addresses, read_count, read_memory
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState, HostSnapshot, live_fleet
from tui.core.model import VmConfig
from tui.core.pci import normalize_pci
from tui.core.scheduling.request import Request
from tui.core.units import UnitError, parse_size

# Live migration moves running VMs only (the migrate action asks `VmSpec.of_domain(...).unmovable`).
_MIGRATABLE_STATES = (DomainState.RUNNING, DomainState.PAUSED, DomainState.BLOCKED)


@dataclass(frozen=True)
class VmSpec:
    """One VM on a host: its shape and the PCI devices passed through to it."""

    id: str
    vcpus: int
    memory: int
    devices: tuple[str, ...] = ()  # normalised PCI addresses
    blocked: str | None = None  # another reason it cannot live-migrate (its state, say)

    @property
    def request(self) -> Request:
        """What it adds to a host's load when it moves (a movable VM has no devices)."""
        return Request.of(self.vcpus, self.memory)

    @property
    def unmovable(self) -> str | None:
        """Why this VM cannot be live-migrated, or None: the one rule plans and the migrate action use."""
        if self.devices:
            return (
                f"has PCI host devices ({', '.join(self.devices)}): passed-through devices cannot be "
                "live-migrated; stop it and start it elsewhere"
            )
        return self.blocked

    @classmethod
    def of_domain(cls, dom: DomainFacts) -> VmSpec:
        """A live domain as the plans see it; its state may block live migration."""
        blocked = (
            None
            if dom.state in _MIGRATABLE_STATES
            else f"is {dom.state.value}: live migration moves running VMs only"
        )
        return cls(dom.name, dom.vcpus, dom.memory, tuple(sorted(dom.hostdevs)), blocked)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "devices": list(self.devices),
        }
        if self.blocked:
            out["blocked"] = self.blocked
        return out


@dataclass(frozen=True)
class FleetModel:
    """A scheduler `Fleet` plus, for the hosts where they are known, their VMs."""

    fleet: Fleet
    vms: Mapping[str, tuple[VmSpec, ...]] = field(default_factory=dict)  # host -> VMs (known hosts only)

    def known(self, host: str) -> bool:
        return host in self.vms

    def to_json(self) -> dict[str, Any]:
        hosts = []
        for host in self.fleet.hosts:
            data = host.to_json()
            if host.name in self.vms:
                data["vm_list"] = [vm.to_json() for vm in self.vms[host.name]]
            hosts.append(data)
        return {"hosts": hosts}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], config: VmConfig | None = None) -> FleetModel:
        """FLEET.json with optional per-host `vm_list`; a host's totals then come from its VMs."""
        if not isinstance(data, Mapping) or not isinstance(data.get("hosts"), list):
            raise FleetError('expected an object {"hosts": [...]}')
        raw_hosts: list[Any] = []
        lists: dict[int, tuple[VmSpec, ...]] = {}
        seen_ids: dict[str, str] = {}
        for index, raw in enumerate(data["hosts"]):
            if not isinstance(raw, Mapping) or "vm_list" not in raw:
                raw_hosts.append(raw)
                continue
            where = f"hosts[{index}] ({raw.get('name')})"
            vms = _vm_list(raw["vm_list"], where)
            for vm in vms:
                if vm.id in seen_ids:
                    raise FleetError(f"{where}: VM id {vm.id!r} is also on host {seen_ids[vm.id]!r}")
                seen_ids[vm.id] = str(raw.get("name"))
            lists[index] = vms
            raw_hosts.append(_with_totals(raw, vms, where))
        fleet = Fleet.from_json({"hosts": raw_hosts}, config)
        return cls(fleet, {fleet.hosts[i].name: vms for i, vms in lists.items()})


def _vm_list(raw: Any, where: str) -> tuple[VmSpec, ...]:
    if not isinstance(raw, list):
        raise FleetError(f"{where}: 'vm_list' must be a list of {{id, vcpus, memory, devices}}")
    out: list[VmSpec] = []
    for j, item in enumerate(raw):
        at = f"{where}: vm_list[{j}]"
        if not isinstance(item, Mapping):
            raise FleetError(f"{at}: expected an object {{id, vcpus, memory, devices}}")
        vm_id = item.get("id")
        if isinstance(vm_id, bool) or not isinstance(vm_id, str | int) or vm_id == "":
            raise FleetError(f"{at}: 'id' must be a non-empty string or number")
        where_vm = f"{at} ({vm_id})"
        vcpus = read_count(item, "vcpus", where_vm)
        memory = read_memory(item, "memory", where_vm)
        addrs = read_addresses(item, "devices", where_vm)
        out.append(VmSpec(str(vm_id), vcpus, memory, addrs))
    ids = [vm.id for vm in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise FleetError(f"{where}: duplicate VM id(s) {', '.join(dupes)}")
    return tuple(out)


def _with_totals(raw: Mapping[str, Any], vms: tuple[VmSpec, ...], where: str) -> dict[str, Any]:
    """The host's FLEET fields from its VMs; totals written as well must agree (a typo otherwise
    silently changes every cost)."""
    totals = {
        "vms": len(vms),
        "vcpus": sum(vm.vcpus for vm in vms),
        "memory": sum(vm.memory for vm in vms),
    }
    devices = sorted({a for vm in vms for a in vm.devices})
    out = dict(raw)
    out.pop("vm_list", None)
    for key, value in totals.items():
        if key in raw:
            given = raw[key]
            if key == "memory":
                try:
                    given = parse_size(given)
                except UnitError as exc:
                    raise FleetError(f"{where}: 'memory': {exc}") from None
            if given != value:
                raise FleetError(f"{where}: {key!r} is {raw[key]!r} but its vm_list adds up to {value}")
        out[key] = value
    if "devices_in_use" in raw:
        try:
            given_devices = sorted({normalize_pci(str(a)) for a in raw["devices_in_use"]})
        except (TypeError, ValueError) as exc:
            raise FleetError(f"{where}: 'devices_in_use': {exc}") from None
        if given_devices != devices:
            raise FleetError(
                f"{where}: 'devices_in_use' {given_devices} differs from its VMs' devices {devices}"
            )
    out["devices_in_use"] = devices
    return out


# --- the live fleet ------------------------------------------------------------------------------------
def live_model(
    hosts: Iterable[HostRecord], snapshots: Mapping[str, HostSnapshot], config: VmConfig
) -> FleetModel:
    """The live fleet (the scheduler's export, tui/core/live/allocation.py) with each reachable host's VMs."""
    records = list(hosts)
    fleet = live_fleet(records, snapshots, config)
    vms: dict[str, tuple[VmSpec, ...]] = {}
    for record in records:
        snap = snapshots.get(record.name)
        if snap is None or not snap.live:
            continue  # an unreachable host's VMs are not known now
        vms[record.name] = tuple(
            VmSpec.of_domain(dom)
            for dom in sorted(snap.domains, key=lambda d: d.name)
            if dom.state.holds_resources  # the same domains live_fleet counts
        )
    return FleetModel(fleet, vms)


# --- hypothetical fleets -------------------------------------------------------------------------------
def add_hosts(model: FleetModel, profile: str, count: int, config: VmConfig) -> FleetModel:
    """`count` new empty Enabled hosts of `profile`, named `<profile>-new-NN` (first free numbers)."""
    if profile not in config.hardware_profiles:
        known = ", ".join(sorted(config.hardware_profiles)) or "none"
        raise FleetError(f"unknown profile {profile!r} (profiles: {known})")
    if count < 0:
        raise FleetError("the number of hosts to add cannot be negative")
    taken = {h.name for h in model.fleet.hosts}
    new: list[FleetHost] = []
    number = 1
    while len(new) < count:
        name = f"{profile}-new-{number:02d}"
        number += 1
        if name not in taken:
            new.append(FleetHost(name, profile, HostState.ENABLED))
    vms = dict(model.vms)
    vms.update({h.name: () for h in new})  # new hosts are known to be empty
    return FleetModel(Fleet(model.fleet.hosts + tuple(new)), vms)


def remove_hosts(model: FleetModel, profile: str, count: int) -> tuple[FleetModel, tuple[FleetHost, ...]]:
    """Take out the `count` least-loaded hosts of `profile` (fewest VMs, then vCPUs, memory, name).

    Returns the new model and the hosts removed (their VMs leave with them)."""
    if count < 0:
        raise FleetError("the number of hosts to remove cannot be negative")
    mine = [h for h in model.fleet.hosts if h.profile == profile]
    if count > len(mine):
        raise FleetError(f"cannot remove {count} hosts of profile {profile!r}: the fleet has {len(mine)}")
    gone = sorted(mine, key=lambda h: (h.vms, h.vcpus, h.memory, h.name))[:count]
    names = {h.name for h in gone}
    fleet = Fleet(tuple(h for h in model.fleet.hosts if h.name not in names))
    return FleetModel(fleet, {k: v for k, v in model.vms.items() if k not in names}), tuple(gone)


def with_state(model: FleetModel, host: str, state: HostState) -> FleetModel:
    """The same fleet with one host in another state (a drain preview sets No Scheduling)."""
    if host not in model.fleet.by_name():
        raise FleetError(f"no host named {host!r} in the fleet")
    hosts = tuple(replace(h, state=state) if h.name == host else h for h in model.fleet.hosts)
    return FleetModel(Fleet(hosts), model.vms)
