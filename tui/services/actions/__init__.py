"""VM lifecycle actions on real libvirt: start through the scheduler, stop, migrate, scale, drain, pools.

Each action is a plain blocking function taking a `Deck` (config + store + live poller + settings) and
returning an `Outcome`; the console runs them in a thread worker, the CLI calls them directly. Every
action takes the one path (path.py: read-only check, the object's lease, intent, outcome); host
state changes too (hoststate.py), from the console, the CLI and a drain alike.
"""

from tui.services.actions.deck import ActionSettings, Deck
from tui.services.actions.domain_xml import CpuSpec, DiskSpec, DomainSpec, NetworkSpec, VolumeSpec
from tui.services.actions.drain import DrainPlan, MoveResult, drain_host, plan_drain
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.listing import ListedVm, list_vms
from tui.services.actions.migrate import migrate_vm
from tui.services.actions.outcome import Failed, Outcome, Refused, Result
from tui.services.actions.path import ActionPath, InFlight
from tui.services.actions.pools import check_pools, create_pools
from tui.services.actions.power import (
    check_power,
    power_on_vm,
    power_refusal,
    reboot_vm,
    resume_vm,
    set_autostart,
    storage_of,
    suspend_vm,
    undefine_vm,
)
from tui.services.actions.scale import scale_vm
from tui.services.actions.start import StartRequest, start_vm
from tui.services.actions.stop import destroy_vm, stop_vm

__all__ = [
    "ActionPath",
    "ActionSettings",
    "CpuSpec",
    "Deck",
    "DiskSpec",
    "DomainSpec",
    "DrainPlan",
    "Failed",
    "InFlight",
    "MoveResult",
    "NetworkSpec",
    "Outcome",
    "Refused",
    "Result",
    "StartRequest",
    "ListedVm",
    "VolumeSpec",
    "check_pools",
    "check_power",
    "create_pools",
    "destroy_vm",
    "drain_host",
    "list_vms",
    "migrate_vm",
    "plan_drain",
    "power_on_vm",
    "power_refusal",
    "reboot_vm",
    "resume_vm",
    "set_autostart",
    "storage_of",
    "suspend_vm",
    "scale_vm",
    "set_host_state",
    "start_vm",
    "stop_vm",
    "undefine_vm",
]
