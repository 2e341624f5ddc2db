"""The VM service's configuration as immutable domain objects (what `ticrypt-vm.conf` describes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tui.core.costs import CostFunction


@dataclass(frozen=True)
class Device:
    type: str
    addr: str  # normalised DDDD:BB:SS.F


@dataclass(frozen=True)
class HardwareProfile:
    id: str
    cores: int
    memory: int
    cost_function: str
    name: str = ""
    description: str = ""
    devices: tuple[Device, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.id)

    def device_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(d.type for d in self.devices).items()))

    def addresses(self, kind: str) -> list[str]:
        """This profile's addresses of one device type, lowest first (allocation order)."""
        return sorted(d.addr for d in self.devices if d.type == kind)


class DriveCache(StrEnum):
    DEFAULT = "default"
    NONE = "none"
    WRITETHROUGH = "writethrough"
    WRITEBACK = "writeback"
    DIRECTSYNC = "directsync"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class DrivesPolicy:
    lazy_allocation: bool = True
    cache: DriveCache = DriveCache.DEFAULT
    min_size: int | None = None
    max_size: int | None = None


# Defaults the seeds do not state are vmdeck's own choice, documented in the README.
DEFAULT_REGISTRATION_TIMEOUT_S = 300.0
DEFAULT_POLL_FREQUENCY_S = 10.0


class Graphics(StrEnum):
    """A realm's `graphics` setting: the display vmdeck gives the VMs it creates."""

    VNC = "vnc"  # a VNC display listening on the host's loopback only (reach it through ssh)
    NONE = "none"  # serial console only


@dataclass(frozen=True)
class Realm:
    id: str
    name: str = ""
    disabled: bool = False
    driver: str = "libvirt"
    volumes_pool: str = "ticrypt-vm"
    drives_pool: str = "ticrypt-vm-drives"
    bricks_pool: str = "ticrypt-bricks"
    snapshots_pool: str = "ticrypt-vm-snapshots"
    log_scheduling: bool = False
    registration_timeout_s: float = DEFAULT_REGISTRATION_TIMEOUT_S
    poll_frequency_s: float = DEFAULT_POLL_FREQUENCY_S
    network_filter: str | None = None
    graphics: Graphics = Graphics.VNC  # vmdeck's own setting (not the VM service's): see README
    drives: DrivesPolicy = field(default_factory=DrivesPolicy)
    reserved_sections: tuple[str, ...] = ()  # `uploads` / `scaling`: accepted, not used by the product
    source_file: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.id)

    def pools(self) -> dict[str, str]:
        """Role -> libvirt pool name, the four pools the seed's set-up steps create."""
        return {
            "volumes": self.volumes_pool,
            "drives": self.drives_pool,
            "bricks": self.bricks_pool,
            "snapshots": self.snapshots_pool,
        }


class LicensingDriver(StrEnum):
    NONE = "none"
    FIREWALLD = "firewalld"


@dataclass(frozen=True)
class ServiceSettings:
    mongodb: Mapping[str, Any] = field(default_factory=dict)  # kept for display; vmdeck never connects
    licensing_server_driver: LicensingDriver = LicensingDriver.NONE
    reload_freq_s: float | None = None
    firewalld_file_access: str | None = None
    akka_hostname: str | None = None
    akka_port: int | None = None


@dataclass(frozen=True)
class VmConfig:
    """Everything vmdeck takes from ticrypt-vm.conf (the `ticrypt.vm` section)."""

    cost_functions: Mapping[str, CostFunction]
    hardware_profiles: Mapping[str, HardwareProfile]
    realms: Mapping[str, Realm]
    service: ServiceSettings = field(default_factory=ServiceSettings)
    source: str | None = None

    def cost_function_of(self, profile_id: str) -> CostFunction:
        return self.cost_functions[self.hardware_profiles[profile_id].cost_function]

    def profiles_using(self, cost_function_id: str) -> list[HardwareProfile]:
        return [p for p in self.hardware_profiles.values() if p.cost_function == cost_function_id]
