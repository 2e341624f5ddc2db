"""The blast radius a bulk confirmation lists: what the action will touch, before it is confirmed.

For hosts (a state change, a drain): each host and the VMs running on it, since those are what the
admin's users feel. For VMs: the VMs grouped by the host they run on. Both fit the dialog (`Room`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tui.console.bulk.room import Room, limited, names
from tui.console.fleetview import FleetView
from tui.console.text import plural
from tui.core.live import DomainFacts


def host_radius(view: FleetView, hosts: Sequence[str], change: Callable[[str], str], room: Room) -> str:
    """The hosts and the VMs running on each: "pool1-01 Enabled → Disabled: 3 VMs (a, b, c)"."""
    running = {h: [d.name for d in view.vms_holding_resources(h)] for h in hosts}
    total = sum(len(v) for v in running.values())
    lines = [f"{plural(len(hosts), 'host')}, {plural(total, 'VM')} running on them:"]
    for host in hosts:
        vms = running[host]
        head = f"  {host} {change(host)}: {plural(len(vms), 'VM')}"
        lines.append(f"{head} ({names(vms, room.width - len(head) - 3)})" if vms else f"{head} running")
    return limited(lines, room)


def vm_radius(vms: Sequence[tuple[str, DomainFacts]], room: Room) -> str:
    """The VMs and their hosts, one line per host: "pool1-01 (2): web1, web2"."""
    by_host: dict[str, list[str]] = {}
    for host, vm in vms:
        by_host.setdefault(host, []).append(vm.name)
    lines = [f"{plural(len(vms), 'VM')} on {plural(len(by_host), 'host')}:"]
    for host, on_host in by_host.items():
        head = f"  {host} ({len(on_host)}): "
        lines.append(head + names(on_host, room.width - len(head)))
    return limited(lines, room)
