"""PCI addresses as libvirt and the seeds write them; normalised to DDDD:BB:SS.F (lower-case hex)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PCI = re.compile(r"^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$")


@dataclass(frozen=True, order=True)
class PciAddress:
    domain: int
    bus: int
    slot: int
    function: int

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.function:x}"


def parse_pci(text: str) -> PciAddress:
    """'02:03.0' or '0000:01:02.0' -> PciAddress; the domain may be omitted when it is 0000."""
    match = _PCI.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a PCI address (expected DDDD:BB:SS.F or BB:SS.F, e.g. 0000:01:02.0)"
        )
    domain, bus, slot, function = match.groups()
    address = PciAddress(int(domain or "0", 16), int(bus, 16), int(slot, 16), int(function))
    if address.slot > 0x1F:
        raise ValueError(f"{text!r}: PCI slot {address.slot:#x} is out of range (00-1f)")
    return address


def normalize_pci(text: str) -> str:
    return str(parse_pci(text))
