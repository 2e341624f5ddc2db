"""The checks of one host on its own: its PCI devices and IOMMU groups, capacity, pools and versions
(facts read through bounded calls, judged by the rules of tui/core/hostcheck/).
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import libvirt

from tui.core.hostcheck import CheckItem
from tui.core.hostcheck.hardware import (
    PCI_BRIDGE_CLASS,
    PciDeviceFacts,
    check_device,
    node_device_name,
    parse_node_device,
)
from tui.core.hostcheck.resources import PoolFacts, check_capacity, check_pool, check_versions
from tui.core.model import HardwareProfile
from tui.services.actions.outcome import Failed
from tui.services.hostcheck.calls import HostCalls

IOMMU_SCAN_LIMIT = 64  # node devices looked at to find an IOMMU group when the profile has no devices


def device_items(call: HostCalls, profile: HardwareProfile, groups_seen: list[bool]) -> list[CheckItem]:
    items = []
    addrs = [d.addr for d in profile.devices]
    for device in profile.devices:
        facts, problem = _node_device(call, device.addr)
        bridges: list[str] = []
        if facts is not None:
            groups_seen[0] = groups_seen[0] or facts.iommu_group is not None
            for member in facts.group_members:
                if member == facts.address or member in addrs:
                    continue
                other, _ = _node_device(call, member)
                if other is not None and other.class_code == PCI_BRIDGE_CLASS:
                    bridges.append(member)
        items.append(check_device(device, facts, addrs, bridges, problem))
    return items


def _node_device(call: HostCalls, address: str) -> tuple[PciDeviceFacts | None, str | None]:
    """(facts, None), (None, None) when libvirt knows no such device, (None, why) when unreadable."""
    try:
        dev = call(call.conn.nodeDeviceLookupByName, node_device_name(address), what=f"node device {address}")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE:
            return None, None
        raise
    try:
        return parse_node_device(call(dev.XMLDesc, 0, what=f"node device {address} XML")), None
    except ValueError as exc:
        return None, str(exc)


def any_iommu_group(call: HostCalls) -> bool:
    devices = call(
        call.conn.listAllDevices, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV, what="PCI node devices"
    )
    for dev in devices[:IOMMU_SCAN_LIMIT]:
        with contextlib.suppress(libvirt.libvirtError, ValueError):
            if parse_node_device(call(dev.XMLDesc, 0, what="node device XML")).iommu_group is not None:
                return True
    return False


def capacity_items(call: HostCalls, profile: HardwareProfile) -> list[CheckItem]:
    info = call(call.conn.getInfo, what="node info")
    cpus = int(info[2])
    # nodeinfo reports NUMA node 0's memory on some hosts; the all-cells memory stats are the machine's.
    try:
        stats = call(call.conn.getMemoryStats, libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0, what="node memory")
        memory, source = int(stats["total"]) * 1024, "node memory stats"
    except (libvirt.libvirtError, KeyError):
        memory, source = int(info[1]) << 20, "nodeinfo: may count NUMA node 0 only"
    return check_capacity(profile, cpus, memory, source)


def pool_items(call: HostCalls, role: str, pool: str, host: str) -> list[CheckItem]:
    return [check_pool(_pool_facts(call, role, pool), host)]


def _pool_facts(call: HostCalls, role: str, name: str) -> PoolFacts:
    try:
        pool = call(call.conn.storagePoolLookupByName, name, what=f"pool {name}")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return PoolFacts(role, name, False)
        raise
    active = bool(call(pool.isActive, what=f"pool {name} state"))
    autostart = bool(call(pool.autostart, what=f"pool {name} autostart"))
    _state, capacity, _allocation, available = call(pool.info, what=f"pool {name} info")
    path = ET.fromstring(call(pool.XMLDesc, 0, what=f"pool {name} XML")).findtext("target/path")
    return PoolFacts(role, name, True, active, autostart, int(capacity), int(available), path)


def versions_item(call: HostCalls, name: str, peers: dict[str, libvirt.virConnect | str]) -> CheckItem:
    lib = int(call(call.conn.getLibVersion, what="libvirt version"))
    qemu = int(call(call.conn.getVersion, what="hypervisor version"))
    theirs: dict[str, tuple[int, int]] = {}
    for peer, conn in peers.items():
        if isinstance(conn, str):
            continue
        with contextlib.suppress(libvirt.libvirtError, Failed):
            theirs[peer] = (
                int(
                    call.deck.call(conn.getLibVersion, what=f"{peer}: libvirt version", timeout=call.timeout)
                ),
                int(
                    call.deck.call(conn.getVersion, what=f"{peer}: hypervisor version", timeout=call.timeout)
                ),
            )
    return check_versions(name, lib, qemu, theirs)
