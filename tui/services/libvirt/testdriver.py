"""Fake hosts for libvirt's built-in test driver: one `<node>` file per host, opened as test:///PATH.

Each open() of a file URI gets its own fresh in-memory hypervisor, so a file per host gives fleets of
hundreds of independent hosts without a daemon (demo fleets, tests, benchmarks). The domains are real
libvirt objects: they can be started, stopped, defined and listed through the ordinary API.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from tui.core.hosts import HostRecord
from tui.core.pci import parse_pci

_TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"


@dataclass(frozen=True)
class FakeDomain:
    name: str
    vcpus: int = 1
    memory_kib: int = 1024 * 1024
    running: bool = True
    hostdevs: tuple[str, ...] = ()  # PCI addresses passed through
    uuid: str = ""

    def xml(self, host: str) -> str:
        # A stable UUID per (host, name) keeps fleets reproducible between runs.
        uid = self.uuid or str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"vmdeck-fake/{host}/{self.name}"))
        devs = "".join(_hostdev_xml(a) for a in self.hostdevs)
        return (
            f"<domain type='test'><name>{escape(self.name)}</name><uuid>{uid}</uuid>"
            f"<memory unit='KiB'>{self.memory_kib}</memory><currentMemory unit='KiB'>{self.memory_kib}"
            f"</currentMemory><vcpu>{self.vcpus}</vcpu><os><type>hvm</type></os>"
            f"<devices>{devs}</devices><test:runstate>{1 if self.running else 5}</test:runstate></domain>"
        )


def _hostdev_xml(addr: str) -> str:
    a = parse_pci(addr)
    return (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='{a.domain:#06x}' bus='{a.bus:#04x}' slot='{a.slot:#04x}' function='{a.function:#x}'/>"
        "</source></hostdev>"
    )


def write_node_file(
    path: Path,
    host: str,
    domains: Sequence[FakeDomain],
    *,
    cores: int = 8,
    threads: int = 2,
    memory_kib: int = 32 << 20,
) -> str:
    """Write a node file and return its test:/// URI."""
    body = "".join(d.xml(host) for d in domains)
    path.write_text(
        f"<node xmlns:test='{_TEST_NS}'><cpu><mhz>2400</mhz><nodes>1</nodes><sockets>1</sockets>"
        f"<cores>{cores}</cores><threads>{threads}</threads><active>{cores * threads}</active></cpu>"
        f"<memory>{memory_kib}</memory>{body}</node>",
        encoding="utf-8",
    )
    return f"test://{path.resolve()}"


def fake_fleet(
    directory: Path,
    hosts: int,
    domains_per_host: int,
    *,
    profile: str = "pool1",
    realm: str = "libvirt1",
    prefix: str = "fake",
) -> list[HostRecord]:
    """`hosts` node files with `domains_per_host` small domains each (3 of 4 running)."""
    directory.mkdir(parents=True, exist_ok=True)
    records = []
    for h in range(hosts):
        name = f"{prefix}{h:04d}"
        doms = [FakeDomain(f"{name}-vm{d:03d}", running=d % 4 != 3) for d in range(domains_per_host)]
        uri = write_node_file(directory / f"{name}.xml", name, doms)
        records.append(HostRecord(name, uri, profile, realm))
    return records
