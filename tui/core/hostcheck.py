"""Host readiness checks as data: what a host must provide for its hardware profile and its realm.

`vmdeck hosts check` (tui/services/hostcheck) reads a host through libvirt and hands the facts to the
pure rules here; each rule returns `CheckItem`s — PASS, WARN or FAIL with the fix an admin can act on
("enable intel_iommu=on", "bind 0000:01:02.0 to vfio-pci"). The same report feeds the CLI (text and
JSON), the console's host detail and its hosts table, and the placement explanations (a failed check
of a device the request needs). Facts come in already parsed; node-device XML is parsed here because
it comes from outside (a driver) and a malformed document must become a clear message, not a
traceback. Seed 004 (virt-host-validate) and seed 000 (hosts, shared storage, the four pools).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tui.core.model import Device, HardwareProfile
from tui.core.pci import normalize_pci, parse_pci
from tui.core.units import format_size

VFIO_DRIVER = "vfio-pci"
PCI_BRIDGE_CLASS = 0x0604  # bridges may share an IOMMU group with an assigned device harmlessly
LOW_FREE_FRACTION = 0.05  # a pool with less free space than this of its capacity is a warning
MAX_DETAIL = 400  # characters of outside text (libvirt messages) kept per item


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return {"pass": 0, "warn": 1, "fail": 2}[self.value]


@dataclass(frozen=True)
class CheckItem:
    """One finding: which check, about what, the verdict, what was seen, and how to fix it."""

    check: str  # kvm, iommu, cores, memory, device, pool, versions, shared-storage, migration, host
    subject: str  # what it is about: "0000:01:02.0", "ticrypt-vm-drives", "b", ...
    verdict: Verdict
    detail: str
    fix: str | None = None
    device_type: str | None = None  # for device items: the profile's device type

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "fix": self.fix,
            "device_type": self.device_type,
        }

    @classmethod
    def from_json(cls, raw: Any) -> CheckItem:
        if not isinstance(raw, Mapping):
            raise ValueError("a check item must be an object")
        fix, dtype = raw.get("fix"), raw.get("device_type")
        return cls(
            check=_text(raw.get("check"), "check"),
            subject=_text(raw.get("subject"), "subject"),
            verdict=Verdict(_text(raw.get("verdict"), "verdict")),
            detail=_text(raw.get("detail"), "detail"),
            fix=None if fix is None else _text(fix, "fix"),
            device_type=None if dtype is None else _text(dtype, "device_type"),
        )


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


@dataclass(frozen=True)
class HostCheckReport:
    """Every item of one host's check, or why the host was not checked at all (`refused`)."""

    host: str
    checked_at: str  # ISO 8601, UTC
    items: tuple[CheckItem, ...] = ()
    refused: str | None = None
    seconds: float | None = None

    @property
    def verdict(self) -> Verdict:
        if self.refused is not None:
            return Verdict.FAIL
        return max((i.verdict for i in self.items), key=lambda v: v.rank, default=Verdict.PASS)

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for item in self.items:
            out[item.verdict.value] += 1
        return out

    def summary(self) -> str:
        if self.refused is not None:
            return f"not checked: {self.refused}"
        c = self.counts()
        return f"{c['fail']} fail, {c['warn']} warn, {c['pass']} pass"

    def failed_devices(self) -> dict[str, CheckItem]:
        """PCI address -> the FAIL item of that device (placement explanations cite these)."""
        return {i.subject: i for i in self.items if i.check == "device" and i.verdict is Verdict.FAIL}

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "checked_at": self.checked_at,
            "verdict": self.verdict.value,
            "summary": self.summary(),
            "refused": self.refused,
            "seconds": self.seconds,
            "items": [i.to_json() for i in self.items],
        }

    @classmethod
    def from_json(cls, raw: Any) -> HostCheckReport:
        """Parse a cached report; raises ValueError naming what is wrong."""
        if not isinstance(raw, Mapping):
            raise ValueError("a host check must be an object")
        items = raw.get("items", [])
        if not isinstance(items, list):
            raise ValueError("'items' must be a list")
        refused, seconds = raw.get("refused"), raw.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            raise ValueError("'seconds' must be a number")
        return cls(
            host=_text(raw.get("host"), "host"),
            checked_at=_text(raw.get("checked_at"), "checked_at"),
            items=tuple(CheckItem.from_json(i) for i in items),
            refused=None if refused is None else _text(refused, "refused"),
            seconds=None if seconds is None else float(seconds),
        )


def exit_code(reports: Iterable[HostCheckReport]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any host has a FAIL or was not checked."""
    return 1 if any(r.failed for r in reports) else 0


def clip(text: str) -> str:
    """Outside text (a libvirt message) bounded for a report line."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


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


# --- capacity ------------------------------------------------------------------------------------------
def check_capacity(profile: HardwareProfile, cpus: int, memory: int, memory_source: str) -> list[CheckItem]:
    """The node's CPUs and memory against what the profile promises the scheduler."""
    items = []
    if cpus < profile.cores:
        items.append(
            CheckItem(
                "cores",
                "cores",
                Verdict.FAIL,
                f"profile {profile.id!r} promises {profile.cores} cores; the node has {cpus} CPUs",
                f"lower `cores` of profile {profile.id!r} to {cpus}, or give the host another profile",
            )
        )
    else:
        items.append(
            CheckItem("cores", "cores", Verdict.PASS, f"{cpus} CPUs >= profile's {profile.cores} cores")
        )
    have, want = format_size(memory), format_size(profile.memory)
    if memory < profile.memory:
        items.append(
            CheckItem(
                "memory",
                "memory",
                Verdict.FAIL,
                f"profile {profile.id!r} promises {want}; the node has {have} ({memory_source})",
                f"lower `memory` of profile {profile.id!r} to at most {have}, or give the host another profile",
            )
        )
    else:
        items.append(
            CheckItem("memory", "memory", Verdict.PASS, f"{have} >= profile's {want} ({memory_source})")
        )
    return items


# --- pools -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolFacts:
    role: str
    name: str
    exists: bool
    active: bool = False
    autostart: bool = False
    capacity: int = 0
    available: int = 0
    path: str | None = None


def check_pool(pool: PoolFacts, host: str) -> CheckItem:
    fix = f"vmdeck pools create {host}"
    where = f"the {pool.role} pool"
    if not pool.exists:
        return CheckItem("pool", pool.name, Verdict.FAIL, f"{where} is not defined", fix)
    problems = [w for w, ok in (("not active", pool.active), ("not autostarted", pool.autostart)) if not ok]
    if problems:
        return CheckItem("pool", pool.name, Verdict.FAIL, f"{where} is {' and '.join(problems)}", fix)
    if pool.available <= 0:
        return CheckItem(
            "pool",
            pool.name,
            Verdict.FAIL,
            f"{where} has no free space",
            f"free space under {pool.path or 'its path'}",
        )
    free = f"{format_size(pool.available)} free of {format_size(pool.capacity)}"
    if pool.capacity > 0 and pool.available < LOW_FREE_FRACTION * pool.capacity:
        return CheckItem(
            "pool",
            pool.name,
            Verdict.WARN,
            f"{where}: only {free}",
            f"free space under {pool.path or 'its path'}",
        )
    return CheckItem("pool", pool.name, Verdict.PASS, f"{where}: defined, active, autostarted, {free}")


# --- versions --------------------------------------------------------------------------------------------
def version_text(number: int) -> str:
    """libvirt's packed version (major * 1,000,000 + minor * 1,000 + release) as 9.0.0."""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def check_versions(
    host: str, libvirt_version: int, qemu_version: int, peers: Mapping[str, tuple[int, int]]
) -> CheckItem:
    """libvirt and QEMU versions; a realm peer with a different QEMU is a warning (migrating to an
    older QEMU can fail)."""
    mine = f"libvirt {version_text(libvirt_version)}, QEMU {version_text(qemu_version)}"
    differ = sorted(p for p, (_lib, qemu) in peers.items() if qemu != qemu_version)
    if differ:
        shown = ", ".join(f"{p} (QEMU {version_text(peers[p][1])})" for p in differ)
        return CheckItem(
            "versions",
            "versions",
            Verdict.WARN,
            f"{mine}; realm hosts with another QEMU: {shown}",
            "run the same QEMU version on every host of a realm (live migration to an older QEMU can fail)",
        )
    return CheckItem("versions", "versions", Verdict.PASS, mine)


# --- realm-wide checks (done by the service, judged here) ------------------------------------------------
@dataclass(frozen=True)
class PeerResult:
    """The outcome of a check between this host and one peer (shared marker, migration probe)."""

    peer: str
    ok: bool
    detail: str


def check_peers(
    check: str, what: str, results: Sequence[PeerResult], fix: str, skipped: str | None = None
) -> CheckItem:
    if skipped is not None:
        return CheckItem(check, what, Verdict.WARN, f"not checked: {skipped}")
    if not results:
        return CheckItem(check, what, Verdict.WARN, "not checked: the realm has no other reachable host")
    bad = [r for r in results if not r.ok]
    if bad:
        shown = "; ".join(f"{r.peer}: {clip(r.detail)}" for r in bad)
        return CheckItem(check, what, Verdict.FAIL, shown, fix)
    return CheckItem(check, what, Verdict.PASS, "; ".join(f"{r.peer}: {r.detail}" for r in results))


# --- why a host cannot be reached over ssh ---------------------------------------------------------------
_ACCESS_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Permission denied (publickey",),
        "the host refuses vmdeck's ssh key: add its public key to /root/.ssh/authorized_keys on the host "
        "(README: giving vmdeck access to a real host)",
    ),
    (
        ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "ssh does not know (or no longer trusts) the host's key: check its fingerprint, then connect once "
        "with ssh as the user running vmdeck to record it in ~/.ssh/known_hosts",
    ),
    (
        ("banner exchange", "not responding", "Connection timed out"),
        "the host's sshd does not answer (hung, overloaded or filtered); vmdeck retries with backoff",
    ),
    (("Connection refused",), "nothing listens on the host's ssh port (is sshd running? the right port?)"),
    (
        ("virt-ssh-helper", "nc: ", "command not found"),
        "the host can run neither virt-ssh-helper nor nc -U: install libvirt-daemon (or netcat-openbsd) there",
    ),
)


def access_hint(error: str | None) -> str | None:
    """What an admin should do about an ssh connection error from libvirt, or None if it is not one
    of the known ssh failures."""
    if not error:
        return None
    for needles, hint in _ACCESS_HINTS:
        if any(n in error for n in needles):
            return hint
    return None
