"""A fleet as the scheduler sees it: hosts with a profile, a state and their current load.

This is the FLEET.json model shared by the scheduler, the what-if engine and the live poller's export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tui.core.costs import Load
from tui.core.limits import MAX_COUNT, MAX_SIZE_BYTES
from tui.core.model import HardwareProfile, VmConfig
from tui.core.pci import normalize_pci
from tui.core.units import UnitError, parse_size


class HostState(StrEnum):
    ENABLED = "enabled"  # connected, VMs scheduled normally
    NO_SCHEDULING = "no-scheduling"  # connected, existing VMs managed, nothing new placed
    DISABLED = "disabled"  # not connected, nothing scheduled

    @property
    def label(self) -> str:
        return {"enabled": "Enabled", "no-scheduling": "No Scheduling", "disabled": "Disabled"}[self.value]

    @classmethod
    def parse(cls, text: str) -> HostState:
        key = text.strip().lower().replace("_", "-").replace(" ", "-")
        try:
            return cls(key)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown host state {text!r} (expected one of: {choices})") from None


@dataclass(frozen=True)
class FleetHost:
    name: str
    profile: str
    state: HostState = HostState.ENABLED
    vms: int = 0
    vcpus: int = 0
    memory: int = 0
    devices_in_use: tuple[str, ...] = ()  # normalised PCI addresses of the profile's devices
    # Why an Enabled host takes nothing now (it is unreachable); such a host is exported with state
    # no-scheduling, so any reader places nothing on it, and explanations give this reason instead.
    unavailable: str | None = None

    def load(self, profile: HardwareProfile) -> Load:
        kinds = {d.addr: d.type for d in profile.devices}
        counts = Counter(kinds[a] for a in self.devices_in_use if a in kinds)
        return Load(self.vms, self.vcpus, self.memory, dict(counts))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "profile": self.profile,
            "state": self.state.value,
            "vms": self.vms,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "devices_in_use": list(self.devices_in_use),
            **({"unavailable": self.unavailable} if self.unavailable is not None else {}),
        }


class FleetError(ValueError):
    """A FLEET document that cannot be used; the message names the host and field."""


@dataclass(frozen=True)
class Fleet:
    hosts: tuple[FleetHost, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"hosts": [h.to_json() for h in self.hosts]}

    def by_name(self) -> dict[str, FleetHost]:
        return {h.name: h for h in self.hosts}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], config: VmConfig | None = None) -> Fleet:
        """Build from a FLEET.json document; with a config, profiles and device addresses are checked."""
        if not isinstance(data, Mapping) or not isinstance(data.get("hosts"), list):
            raise FleetError('expected an object {"hosts": [...]}')
        hosts: list[FleetHost] = []
        seen: set[str] = set()
        for index, raw in enumerate(data["hosts"]):
            host = _plain_host(raw) if type(raw) is dict else None
            if host is None:
                if not isinstance(raw, Mapping):
                    raise FleetError(f"hosts[{index}]: expected an object")
                host = _host_from_json(raw, f"hosts[{index}]")
            if host.name in seen:
                raise FleetError(f"hosts[{index}]: duplicate host name {host.name!r}")
            seen.add(host.name)
            if config is not None:
                _check_against_config(host, config, index)
            hosts.append(host)
        return cls(tuple(hosts))


# The host states as FLEET.json writes them (`HostState.value`): any other spelling takes `parse`.
_STATES: dict[str, HostState] = {s.value: s for s in HostState}
# `_plain_host` makes its hosts by filling a bare instance's fields: a frozen dataclass's __init__ sets
# each of the eight through object.__setattr__, a quarter of reading a host. tests/test_live_core.py
# holds the two ways to equal hosts, and FleetHost to these fields without __post_init__.
_new = object.__new__


def _plain_host(raw: dict[str, Any]) -> FleetHost | None:
    """The common host (every field of a plain type and in range, a state as written, no devices in
    use) in a few type tests, or None: then `_host_from_json` checks it and says what is wrong."""
    name, profile, state = raw.get("name"), raw.get("profile"), raw.get("state", "enabled")
    vms, vcpus, memory = raw.get("vms", 0), raw.get("vcpus", 0), raw.get("memory", 0)
    addrs, unavailable = raw.get("devices_in_use", []), raw.get("unavailable")
    if not (
        type(name) is str
        and name
        and type(profile) is str
        and profile
        and type(state) is str
        and state in _STATES
        and type(vms) is int
        and 0 <= vms <= MAX_COUNT
        and type(vcpus) is int
        and 0 <= vcpus <= MAX_COUNT
        and type(memory) is int
        and 0 <= memory <= MAX_SIZE_BYTES
        and type(addrs) is list
        and not addrs
        and (unavailable is None or type(unavailable) is str)
    ):
        return None
    host = _new(FleetHost)
    fields = host.__dict__
    fields["name"], fields["profile"], fields["state"] = name, profile, _STATES[state]
    fields["vms"], fields["vcpus"], fields["memory"] = vms, vcpus, memory
    fields["devices_in_use"], fields["unavailable"] = (), unavailable
    return host


def _host_from_json(raw: Mapping[str, Any], where: str) -> FleetHost:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise FleetError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ({name})"
    profile = raw.get("profile")
    if not isinstance(profile, str) or not profile:
        raise FleetError(f"{where}: 'profile' must be a non-empty string")
    try:
        state = HostState.parse(str(raw.get("state", "enabled")))
    except ValueError as exc:
        raise FleetError(f"{where}: {exc}") from None
    vms, vcpus = read_count(raw, "vms", where), read_count(raw, "vcpus", where)
    memory = read_memory(raw, "memory", where)
    addrs = read_addresses(raw, "devices_in_use", where)
    unavailable = raw.get("unavailable")
    if unavailable is not None and not isinstance(unavailable, str):
        raise FleetError(f"{where}: 'unavailable' must be a string (why the host takes no VMs now)")
    return FleetHost(name, profile, state, vms, vcpus, memory, addrs, unavailable)


# Field readers shared by the fleet documents (FLEET.json hosts, the what-if lab's vm_list entries).
def read_count(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise FleetError(f"{where}: {key!r} must be a whole number from 0 to {MAX_COUNT}, got {shown}")
    return value


def read_memory(raw: Mapping[str, Any], key: str, where: str) -> int:
    try:
        return parse_size(raw.get(key, 0))
    except UnitError as exc:
        raise FleetError(f"{where}: {key!r}: {exc}") from None


def read_addresses(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of PCI addresses, normalised, sorted, without repeats."""
    devices = raw.get(key, [])
    if not isinstance(devices, list):
        raise FleetError(f"{where}: {key!r} must be a list of PCI addresses")
    try:
        return tuple(sorted({normalize_pci(str(a)) for a in devices}))
    except ValueError as exc:
        raise FleetError(f"{where}: {key!r}: {exc}") from None


def _check_against_config(host: FleetHost, config: VmConfig, index: int) -> None:
    profile = config.hardware_profiles.get(host.profile)
    if profile is None:
        known = ", ".join(sorted(config.hardware_profiles)) or "none"
        raise FleetError(
            f"hosts[{index}] ({host.name}): unknown profile {host.profile!r} (profiles: {known})"
        )
    if not host.devices_in_use:
        return  # most hosts: nothing to check against the profile's addresses
    own = {d.addr for d in profile.devices}
    stray = [a for a in host.devices_in_use if a not in own]
    if stray:
        raise FleetError(
            f"hosts[{index}] ({host.name}): devices_in_use {', '.join(stray)} are not devices of "
            f"profile {profile.id!r}"
        )
