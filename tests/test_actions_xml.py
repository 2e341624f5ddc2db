"""Domain and volume XML for started VMs, against golden files (tests/golden/), plus its invariants."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tui.core.model import DriveCache, Graphics
from tui.services.actions.domain_xml import (
    CpuSpec,
    DiskSpec,
    DomainSpec,
    NetworkSpec,
    VolumeSpec,
    build_domain_xml,
    build_volume_xml,
    disk_paths,
)

GOLDEN = Path(__file__).parent / "golden"
GIB = 1 << 30
UUID = "6f1c1e8e-3b7a-4f55-9a51-2f0c8f8f0a01"

FULL = DomainSpec(
    name="gpu-vm",
    uuid=UUID,
    vcpus=4,
    max_vcpus=8,
    memory=8 * GIB,
    max_memory=16 * GIB,
    disks=(DiskSpec("/pools/drives/gpu-vm.qcow2", "qcow2", DriveCache.NONE),),
    network=NetworkSpec("ticrypt", "clean-traffic", "52:54:00:6d:90:02"),
    hostdevs=("0000:01:02.0", "02:03.0"),
    vcpu_pins=((1, "3"), (0, "2")),
    emulator_pin="0-1",
)
MINIMAL = DomainSpec(
    name="tiny",
    uuid=UUID,
    vcpus=1,
    max_vcpus=2,
    memory=64 << 20,
    max_memory=64 << 20,
    machine="pc",
    firmware="/var/lib/vmdeck-testbed/halt.rom",
    cpu=CpuSpec.custom("qemu64", ("svm",)),
    disks=(DiskSpec("/pools/drives/tiny.qcow2", "qcow2", DriveCache.WRITEBACK),),
)
HEADLESS = DomainSpec("headless", UUID, 1, 1, GIB, GIB, graphics=Graphics.NONE)


def _golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("VMDECK_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("spec", "golden"),
    [(FULL, "domain_full.xml"), (MINIMAL, "domain_minimal.xml"), (HEADLESS, "domain_headless.xml")],
    ids=["full", "minimal", "graphics-none"],
)
def test_domain_xml_matches_golden(spec: DomainSpec, golden: str) -> None:
    text = build_domain_xml(spec)
    assert text == _golden(golden, text)


@pytest.mark.parametrize(
    ("spec", "golden"),
    [
        (VolumeSpec("a.qcow2", 10 * GIB), "volume_lazy.xml"),
        (
            VolumeSpec(
                "b.qcow2", 20 * GIB, lazy=False, backing_path="/pools/bricks/centos.img", backing_format="raw"
            ),
            "volume_backed_full.xml",
        ),
    ],
    ids=["lazy", "backed-preallocated"],
)
def test_volume_xml_matches_golden(spec: VolumeSpec, golden: str) -> None:
    text = build_volume_xml(spec)
    assert text == _golden(golden, text)


def test_io_native_only_with_direct_caches() -> None:
    for cache in DriveCache:
        spec = DomainSpec("v", UUID, 1, 1, GIB, GIB, disks=(DiskSpec("/d.qcow2", cache=cache),))
        driver = ET.fromstring(build_domain_xml(spec)).find("devices/disk/driver")
        assert driver is not None
        expected_io = "native" if cache in (DriveCache.NONE, DriveCache.DIRECTSYNC) else None
        assert driver.get("io") == expected_io
        assert driver.get("cache") == (None if cache is DriveCache.DEFAULT else cache.value)


def test_memory_rounds_up_to_kib_and_hostdev_addresses() -> None:
    spec = DomainSpec("v", UUID, 1, 1, GIB + 1, GIB + 1, hostdevs=("0000:81:00.1",))
    root = ET.fromstring(build_domain_xml(spec))
    assert root.findtext("memory") == str(GIB // 1024 + 1)
    addr = root.find("devices/hostdev/source/address")
    assert addr is not None
    assert (addr.get("bus"), addr.get("slot"), addr.get("function")) == ("0x81", "0x00", "0x1")
    assert disk_paths(build_domain_xml(FULL)) == ["/pools/drives/gpu-vm.qcow2"]


def test_names_are_escaped_by_the_xml_library() -> None:
    spec = DomainSpec("a&b<c>", UUID, 1, 1, GIB, GIB, disks=(DiskSpec("/x'y\".qcow2"),))
    root = ET.fromstring(build_domain_xml(spec))
    assert root.findtext("name") == "a&b<c>"
    assert disk_paths(build_domain_xml(spec)) == ["/x'y\".qcow2"]


@pytest.mark.parametrize(
    "kwargs",
    [{"vcpus": 0}, {"vcpus": 3, "max_vcpus": 2}, {"memory": 2 * GIB}, {"vcpu_pins": ((2, "1"),)}],
)
def test_invalid_specs_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "name": "v",
        "uuid": UUID,
        "vcpus": 1,
        "max_vcpus": 2,
        "memory": GIB,
        "max_memory": GIB,
    }
    with pytest.raises(ValueError, match="vCPU|memory"):
        DomainSpec(**{**base, **kwargs})  # type: ignore[arg-type]


def test_every_vm_gets_a_serial_console_and_vnc_on_loopback_only() -> None:
    root = ET.fromstring(build_domain_xml(MINIMAL))
    serial, console = root.find("devices/serial"), root.find("devices/console")
    assert serial is not None
    assert console is not None
    assert serial.get("type") == console.get("type") == "pty"
    target = console.find("target")
    assert target is not None
    assert (target.get("type"), target.get("port")) == ("serial", "0")
    vnc = root.find("devices/graphics")
    assert vnc is not None
    assert (vnc.get("type"), vnc.get("listen"), vnc.get("autoport")) == ("vnc", "127.0.0.1", "yes")
    listens = [el.get("address") for el in vnc.iterfind("listen")]
    assert listens == ["127.0.0.1"]  # never 0.0.0.0: the display is reached through ssh
    headless = ET.fromstring(build_domain_xml(HEADLESS))
    assert headless.find("devices/graphics") is None
    assert headless.find("devices/console") is not None
