"""Host-check rules for the hardware: KVM and the IOMMU from the capabilities, and each PCI device a
profile names (present, bound to vfio-pci, alone in its IOMMU group). Node-device XML comes from
outside (a driver), so it is parsed here and a malformed document becomes a clear message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from tui.core.hostcheck.report import CheckItem, Verdict, clip
from tui.core.model import Device
from tui.core.pci import normalize_pci, parse_pci

VFIO_DRIVER = "vfio-pci"
PCI_BRIDGE_CLASS = 0x0604  # bridges may share an IOMMU group with an assigned device harmlessly


# --- hardware virtualization and IOMMU ------------------------------------------------------------------
@dataclass(frozen=True)
class HostCapabilities:
    """What the host capabilities XML says about virtualization and IOMMU."""

    kvm_arches: tuple[str, ...]  # guest architectures with <domain type='kvm'>
    iommu: bool | None  # <iommu support='yes|no'/>; None when the driver does not say


def parse_capabilities(xml: str) -> HostCapabilities:
    """The facts we need from virConnectGetCapabilities; ValueError for malformed XML."""
    root = _parse(xml, "host capabilities")
    arches = []
    for guest in root.iter("guest"):
        arch = guest.find("arch")
        if arch is not None and any(d.get("type") == "kvm" for d in arch.iter("domain")):
            arches.append(arch.get("name") or "?")
    iommu_el = root.find("host/iommu")
    iommu = None if iommu_el is None else iommu_el.get("support") == "yes"
    return HostCapabilities(tuple(sorted(set(arches))), iommu)


def check_kvm(caps: HostCapabilities, domcaps_error: str | None) -> CheckItem:
    """KVM available: capabilities list a kvm domain and domain capabilities answer for kvm."""
    fix = (
        "enable hardware virtualization (Intel VT-x / AMD-V) in the BIOS, load kvm_intel or kvm_amd, "
        "and check that /dev/kvm exists"
    )
    if not caps.kvm_arches:
        return CheckItem("kvm", "kvm", Verdict.FAIL, "libvirt offers no KVM guests on this host", fix)
    if domcaps_error is not None:
        return CheckItem(
            "kvm", "kvm", Verdict.FAIL, f"domain capabilities for kvm: {clip(domcaps_error)}", fix
        )
    return CheckItem("kvm", "kvm", Verdict.PASS, f"KVM guests available ({', '.join(caps.kvm_arches)})")


def check_iommu(caps: HostCapabilities, groups_seen: bool, needs_devices: bool) -> CheckItem:
    """IOMMU enabled (host capabilities, or IOMMU groups on node devices); FAIL only when the profile
    assigns PCI devices — without devices it is only a warning."""
    enabled = caps.iommu is True or groups_seen
    if enabled:
        how = "host capabilities say so" if caps.iommu else "node devices have IOMMU groups"
        return CheckItem("iommu", "iommu", Verdict.PASS, f"IOMMU enabled ({how})")
    fix = "enable intel_iommu=on (or amd_iommu=on) on the kernel command line and VT-d/AMD-Vi in the BIOS"
    detail = "IOMMU is not enabled: PCI devices cannot be assigned to VMs"
    return CheckItem("iommu", "iommu", Verdict.FAIL if needs_devices else Verdict.WARN, detail, fix)


# --- PCI devices -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PciDeviceFacts:
    """One PCI node device as libvirt describes it (virNodeDeviceGetXMLDesc)."""

    name: str  # libvirt's node device name, pci_0000_01_02_0
    address: str  # normalised DDDD:BB:SS.F
    driver: str | None
    class_code: int | None
    product: str | None
    vendor: str | None
    iommu_group: int | None
    group_members: tuple[str, ...]  # addresses in the same IOMMU group, itself included


def node_device_name(address: str) -> str:
    """libvirt's node device name for a PCI address: 0000:01:02.0 -> pci_0000_01_02_0."""
    a = parse_pci(address)
    return f"pci_{a.domain:04x}_{a.bus:02x}_{a.slot:02x}_{a.function:x}"


def _int(text: str | None, what: str) -> int:
    if text is None:
        raise ValueError(f"missing {what}")
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise ValueError(f"{what} {text.strip()[:40]!r} is not a number") from None


def _address_of(el: ET.Element, what: str) -> str:
    parts = [
        _int(el.get(k) if el.get(k) is not None else el.findtext(k), f"{what} {k}")
        for k in ("domain", "bus", "slot", "function")
    ]
    if not (
        0 <= parts[0] <= 0xFFFF and 0 <= parts[1] <= 0xFF and 0 <= parts[2] <= 0x1F and 0 <= parts[3] <= 7
    ):
        raise ValueError(f"{what} address out of range: {parts}")
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def _parse(xml: str, what: str) -> ET.Element:
    if not isinstance(xml, str) or not xml.strip():
        raise ValueError(f"{what}: empty XML")
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise ValueError(f"{what}: XML with a DOCTYPE or entities is refused")
    try:
        return ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"{what}: malformed XML ({exc})") from None


def parse_node_device(xml: str) -> PciDeviceFacts:
    """Parse a PCI node device's XML; ValueError with a message naming what is wrong."""
    root = _parse(xml, "node device")
    if root.tag != "device":
        raise ValueError(f"node device: root element is <{root.tag[:40]}>, expected <device>")
    cap = next((c for c in root.findall("capability") if c.get("type") == "pci"), None)
    if cap is None:
        raise ValueError("node device: no <capability type='pci'> (not a PCI device)")
    address = _address_of(cap, "node device")
    driver = root.findtext("driver/name")
    class_text = cap.findtext("class")
    class_code = _int(class_text, "node device class") >> 8 if class_text is not None else None
    group_el = cap.find("iommuGroup")
    group: int | None = None
    members: tuple[str, ...] = ()
    if group_el is not None:
        group = _int(group_el.get("number"), "iommuGroup number")
        members = tuple(sorted(_address_of(a, "iommuGroup member") for a in group_el.findall("address")))
    product, vendor = cap.find("product"), cap.find("vendor")
    return PciDeviceFacts(
        name=root.findtext("name") or node_device_name(address),
        address=address,
        driver=driver.strip() if driver else None,
        class_code=class_code,
        product=(product.text or product.get("id")) if product is not None else None,
        vendor=(vendor.text or vendor.get("id")) if vendor is not None else None,
        iommu_group=group,
        group_members=members,
    )


def check_device(
    device: Device,
    facts: PciDeviceFacts | None,
    profile_addresses: Iterable[str],
    bridges: Iterable[str] = (),
    problem: str | None = None,
) -> CheckItem:
    """One profile device: present at its address, its driver, its IOMMU group and who shares it.

    `facts` None means libvirt knows no device at that address (`problem` then says what libvirt
    said, or why the XML could not be read); `bridges` are group members that are PCI bridges.
    """
    addr = normalize_pci(device.addr)
    kind = device.type
    if facts is None:
        if problem is not None:
            return CheckItem(
                "device", addr, Verdict.FAIL, f"{kind}: cannot read the device: {clip(problem)}", None, kind
            )
        return CheckItem(
            "device",
            addr,
            Verdict.FAIL,
            f"{kind}: no PCI device at {addr} on this host",
            "check the profile's address (`virsh nodedev-list --cap pci`) or the card's seating",
            kind,
        )
    what = f"{kind} {facts.vendor or ''} {facts.product or ''}".strip()
    if facts.iommu_group is None:
        return CheckItem(
            "device",
            addr,
            Verdict.FAIL,
            f"{what}: no IOMMU group (IOMMU off): it cannot be assigned",
            "enable intel_iommu=on (or amd_iommu=on) on the kernel command line",
            kind,
        )
    ours = {normalize_pci(a) for a in profile_addresses} | {addr}
    others = [m for m in facts.group_members if m not in ours and m not in set(bridges)]
    if others:
        shown = ", ".join(others[:6]) + (" …" if len(others) > 6 else "")
        return CheckItem(
            "device",
            addr,
            Verdict.WARN,
            f"{what}: IOMMU group {facts.iommu_group} also holds {shown}, which must be detached with it",
            f"bind {', '.join(others[:6])} to {VFIO_DRIVER} too, or move the card to a slot with its own group",
            kind,
        )
    if facts.driver in (None, VFIO_DRIVER):
        bound = f"bound to {VFIO_DRIVER}" if facts.driver else "no host driver bound"
        return CheckItem(
            "device", addr, Verdict.PASS, f"{what}: {bound}, IOMMU group {facts.iommu_group}", None, kind
        )
    return CheckItem(
        "device",
        addr,
        Verdict.WARN,
        f"{what}: host driver {facts.driver} holds it (libvirt must unbind it when a VM starts)",
        f"bind {addr} to {VFIO_DRIVER} (e.g. driverctl set-override {addr} {VFIO_DRIVER})",
        kind,
    )
