"""Everything about one VM, read from its host: what `vms info`, `vms xml` and the console's VM detail show.

State and host; vCPUs and memory, current and maximum; autostart; disks with pool, volume, size and
cache mode; NICs with MAC, address and the host's static-address-translation endpoint; PCI devices;
the serial console and display; snapshots; the domain XML; and the VM's audit history from the store.
Read-only: nothing here changes the VM (`Deck.run(..., mutates=False)` is not needed: no audit).
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import libvirt

from tui.core.hosts import HostRecord
from tui.core.live import DomainState
from tui.services.actions.deck import Deck
from tui.services.actions.outcome import Failed
from tui.services.actions.power import find_vm
from tui.services.actions.snapshots import SnapshotInfo, list_snapshots


@dataclass(frozen=True)
class DiskInfo:
    target: str
    path: str | None
    format: str
    cache: str  # the driver's cache mode ("default" when libvirt decides)
    pool: str | None
    volume: str | None
    capacity: int | None
    allocation: int | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class NicInfo:
    mac: str
    network: str | None
    model: str | None
    address: str | None  # from the host's DHCP leases
    endpoint: str | None  # the host's static address translation: NAT_IP:PORT

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VmInfo:
    name: str
    uuid: str
    host: str
    state: str
    vcpus: int
    max_vcpus: int
    memory: int
    max_memory: int
    autostart: bool
    persistent: bool
    disks: tuple[DiskInfo, ...]
    nics: tuple[NicInfo, ...]
    pci: tuple[str, ...]
    console: bool  # has a serial console
    graphics: tuple[dict[str, str], ...]  # type, listen, port (port -1 until it runs)
    snapshots: tuple[SnapshotInfo, ...]
    xml: str
    history: tuple[dict[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("disks", "nics", "snapshots", "history")},
            "pci": list(self.pci),
            "graphics": list(self.graphics),
            "disks": [d.to_json() for d in self.disks],
            "nics": [n.to_json() for n in self.nics],
            "snapshots": [s.to_json() for s in self.snapshots],
            "history": list(self.history),
        }


def domain_xml(deck: Deck, name: str, host: str | None = None, inactive: bool = False) -> tuple[str, str]:
    """(host, the domain's XML as libvirt has it: live, or the persistent definition)."""
    where, facts = find_vm(deck, name, host)
    _, conn = deck.connect(where)
    dom = deck.domain(conn, facts)
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
    return where, str(deck.call(dom.XMLDesc, flags, what=f"read {name}"))


def vm_info(deck: Deck, name: str, host: str | None = None) -> VmInfo:
    where, facts = find_vm(deck, name, host)
    record, conn = deck.connect(where)
    dom = deck.domain(conn, facts)
    xml = str(deck.call(dom.XMLDesc, 0, what=f"read {name}"))
    state = DomainState.from_code(int(deck.call(dom.state, what=f"state of {name}")[0]))
    autostart = bool(deck.call(dom.autostart, what=f"autostart of {name}"))
    persistent = bool(deck.call(dom.isPersistent, what=f"is {name} persistent"))
    root = ET.fromstring(xml)
    vcpu = root.find("vcpu")
    max_vcpus = int(vcpu.text or 1) if vcpu is not None else facts.vcpus
    vcpus = int(vcpu.get("current", max_vcpus)) if vcpu is not None else facts.vcpus
    _, snaps = list_snapshots(deck, name, where)
    return VmInfo(
        name=facts.name,
        uuid=facts.uuid,
        host=where,
        state=state.value,
        vcpus=vcpus,
        max_vcpus=max_vcpus,
        memory=_kib(root, "currentMemory") or facts.memory,
        max_memory=_kib(root, "memory") or facts.max_memory,
        autostart=autostart,
        persistent=persistent,
        disks=tuple(_disks(deck, conn, root)),
        nics=tuple(_nics(root, record, facts.address, state.holds_resources)),
        pci=facts.hostdevs,
        console=root.find("devices/console") is not None,
        graphics=tuple(
            {"type": g.get("type", "?"), "listen": g.get("listen", ""), "port": g.get("port", "")}
            for g in root.iterfind("devices/graphics")
        ),
        snapshots=tuple(snaps),
        xml=xml,
        history=tuple(history(deck, facts.name, facts.uuid)),
    )


def history(deck: Deck, name: str, uuid: str) -> list[dict[str, Any]]:
    """The store's audit entries about this VM (by name or UUID), oldest first."""
    out = []
    for entry in deck.store.audit():
        after = entry.after if isinstance(entry.after, dict) else {}
        if after.get("target") in (name, uuid) or after.get("uuid") == uuid:
            out.append(entry.to_json())
    return out


def _kib(root: ET.Element, tag: str) -> int | None:
    el = root.find(tag)
    if el is None or not (el.text or "").strip().isdigit():
        return None
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "b": 1, "bytes": 1}
    return int(el.text or 0) * units.get(el.get("unit", "KiB"), 1 << 10)


def _disks(deck: Deck, conn: libvirt.virConnect, root: ET.Element) -> list[DiskInfo]:
    out = []
    for el in root.iterfind("devices/disk"):
        target = el.find("target")
        driver = el.find("driver")
        source = el.find("source")
        path = source.get("file") if source is not None else None
        pool = volume = None
        capacity = allocation = None
        if source is not None and el.get("type") == "volume":
            pool, volume = source.get("pool"), source.get("volume")
        if path:
            with contextlib.suppress(libvirt.libvirtError, Failed):
                vol = deck.call(conn.storageVolLookupByPath, path, what=f"find {path}")
                volume = str(vol.name())
                pool = str(deck.call(vol.storagePoolLookupByVolume, what=f"pool of {path}").name())
                _, capacity, allocation = deck.call(vol.info, what=f"size of {path}")
        out.append(
            DiskInfo(
                target.get("dev", "?") if target is not None else "?",
                path,
                driver.get("type", "raw") if driver is not None else "raw",
                (driver.get("cache") if driver is not None else None) or "default",
                pool,
                volume,
                capacity,
                allocation,
            )
        )
    return out


def _nics(root: ET.Element, record: HostRecord, address: str | None, running: bool) -> list[NicInfo]:
    out = []
    for i, el in enumerate(root.iterfind("devices/interface")):
        mac = el.find("mac")
        source = el.find("source")
        model = el.find("model")
        ip = address if i == 0 else None  # the poller reads the first NIC's lease
        endpoint = None
        if running and record.nat is not None and ip:
            endpoint = f"{record.nat.ip}:{record.nat.port_for(ip)}"
        out.append(
            NicInfo(
                mac.get("address", "?") if mac is not None else "?",
                source.get("network") or source.get("bridge") if source is not None else None,
                model.get("type") if model is not None else None,
                ip,
                endpoint,
            )
        )
    return out
