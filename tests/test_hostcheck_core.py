"""The host-check rules (tui/core/hostcheck/) on facts, and node-device XML from outside.

The node-device documents are real: captured with `virsh nodedev-dumpxml` on the test-bed machine
(tests/golden/nodedev/), then mutated — an IOMMU group added the way libvirt writes it, a field
removed or garbled, the text truncated at every length — and fed straight to the parser: every
malformed document must give a ValueError naming what is wrong, never another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.hostcheck import CheckItem, HostCheckReport, Verdict, exit_code
from tui.core.hostcheck.hardware import (
    PciDeviceFacts,
    check_device,
    check_iommu,
    check_kvm,
    node_device_name,
    parse_capabilities,
    parse_node_device,
)
from tui.core.hostcheck.resources import (
    PeerResult,
    PoolFacts,
    check_capacity,
    check_peers,
    check_pool,
    check_versions,
)
from tui.core.model import Device, HardwareProfile

GOLDEN = Path(__file__).parent / "golden" / "nodedev"
VIRTIO = (GOLDEN / "virtio-pci.xml").read_text()
BRIDGE = (GOLDEN / "host-bridge.xml").read_text()
GIB = 1 << 30


def with_group(xml: str, number: int, *members: tuple[int, int, int, int]) -> str:
    """The real document with an <iommuGroup> as libvirt writes it on an IOMMU host."""
    addrs = "".join(
        f"<address domain='0x{d:04x}' bus='0x{b:02x}' slot='0x{s:02x}' function='0x{f:x}'/>"
        for d, b, s, f in members
    )
    return xml.replace("</capability>", f"<iommuGroup number='{number}'>{addrs}</iommuGroup></capability>")


def test_real_node_devices_parse() -> None:
    virtio = parse_node_device(VIRTIO)
    assert (virtio.address, virtio.driver, virtio.iommu_group) == ("0000:00:01.0", "virtio-pci", None)
    assert virtio.vendor == "0x1af4"
    bridge = parse_node_device(BRIDGE)
    assert (bridge.address, bridge.driver, bridge.class_code) == ("0000:00:00.0", None, 0x0600)
    grouped = parse_node_device(with_group(VIRTIO, 7, (0, 0, 1, 0), (0, 0, 1, 1)))
    assert grouped.iommu_group == 7
    assert grouped.group_members == ("0000:00:01.0", "0000:00:01.1")


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda x: "", "empty XML"),
        (lambda x: x[: len(x) // 2], "malformed XML"),
        (
            lambda x: x.replace("<device>", "<devices>").replace("</device>", "</devices>"),
            "expected <device>",
        ),
        (lambda x: x.replace("type='pci'", "type='usb_device'"), "no <capability type='pci'>"),
        (lambda x: x.replace("<bus>0</bus>", "<bus>zero</bus>"), "'zero' is not a number"),
        (lambda x: x.replace("<slot>1</slot>", "<slot>99</slot>"), "out of range"),
        (lambda x: x.replace("<function>0</function>", ""), "missing node device function"),
        (lambda x: x.replace("<class>0xffff00</class>", "<class>gpu</class>"), "class 'gpu'"),
        (lambda x: with_group(x, 1).replace("number='1'", "number='one'"), "iommuGroup number 'one'"),
        (lambda x: '<!DOCTYPE d [<!ENTITY e "x">]>' + x, "DOCTYPE"),
    ],
)
def test_malformed_node_device_xml_is_a_clear_message(mutation, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        parse_node_device(mutation(VIRTIO))


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=len(VIRTIO)),
    junk=st.text(max_size=8),
    at=st.integers(0, len(VIRTIO)),
)
def test_truncated_or_spliced_node_device_xml_never_raises_anything_else(
    cut: int, junk: str, at: int
) -> None:
    for doc in (VIRTIO[:cut], VIRTIO[:at] + junk + VIRTIO[at:]):
        message = ""
        try:
            facts = parse_node_device(doc)
        except ValueError as exc:
            message = str(exc)
            assert message  # a message naming what is wrong, not an empty one
        else:
            assert isinstance(facts, PciDeviceFacts)


def test_node_device_name() -> None:
    assert node_device_name("01:02.0") == "pci_0000_01_02_0"
    assert node_device_name("0000:af:1f.7") == "pci_0000_af_1f_7"


def _facts(driver: str | None, group: int | None, members: tuple[str, ...] = ()) -> PciDeviceFacts:
    return PciDeviceFacts(
        "pci_0000_01_02_0", "0000:01:02.0", driver, 0x0300, "GA102", "NVIDIA", group, members
    )


GPU = Device("nvidia-gpu", "0000:01:02.0")


def test_device_rules_with_their_fixes() -> None:
    missing = check_device(GPU, None, [GPU.addr])
    assert missing.verdict is Verdict.FAIL
    assert "no PCI device at 0000:01:02.0" in missing.detail
    no_iommu = check_device(GPU, _facts("nvidia", None), [GPU.addr])
    assert (no_iommu.verdict, no_iommu.fix) == (
        Verdict.FAIL,
        "enable intel_iommu=on (or amd_iommu=on) on the kernel command line",
    )
    host_driver = check_device(GPU, _facts("nvidia", 3, ("0000:01:02.0",)), [GPU.addr])
    assert host_driver.verdict is Verdict.WARN
    assert host_driver.fix is not None
    assert host_driver.fix.startswith("bind 0000:01:02.0 to vfio-pci")
    ready = check_device(GPU, _facts("vfio-pci", 3, ("0000:01:02.0",)), [GPU.addr])
    assert ready.verdict is Verdict.PASS
    assert ready.device_type == "nvidia-gpu"


def test_iommu_group_neighbours() -> None:
    group = ("0000:00:01.0", "0000:01:02.0", "0000:01:02.1")
    shared = check_device(GPU, _facts("vfio-pci", 1, group), [GPU.addr], bridges=["0000:00:01.0"])
    assert shared.verdict is Verdict.WARN
    assert "also holds 0000:01:02.1" in shared.detail
    assert "0000:00:01.0" not in shared.detail  # a bridge in the group is harmless
    # The card's audio function listed in the profile too: nothing else shares the group.
    both = check_device(GPU, _facts("vfio-pci", 1, group), [GPU.addr, "01:02.1"], bridges=["0000:00:01.0"])
    assert both.verdict is Verdict.PASS


def test_capacity_profile_claiming_more_than_the_node() -> None:
    profile = HardwareProfile("pool1", cores=8, memory=32 * GIB, cost_function="pool1")
    cores, memory = check_capacity(profile, cpus=2, memory=24 * GIB, memory_source="node memory stats")
    assert cores.verdict is Verdict.FAIL
    assert "promises 8 cores; the node has 2 CPUs" in cores.detail
    assert memory.verdict is Verdict.FAIL
    assert "24 GiB" in memory.detail
    ok = check_capacity(profile, cpus=8, memory=32 * GIB, memory_source="node memory stats")
    assert [i.verdict for i in ok] == [Verdict.PASS, Verdict.PASS]


def test_pools() -> None:
    name = "ticrypt-vm-drives"
    assert check_pool(PoolFacts("drives", name, False), "h1").fix == "vmdeck pools create h1"
    not_auto = check_pool(
        PoolFacts("drives", name, True, active=True, autostart=False, capacity=10, available=5), "h1"
    )
    assert (not_auto.verdict, not_auto.fix) == (Verdict.FAIL, "vmdeck pools create h1")
    assert "is not autostarted" in not_auto.detail
    full = check_pool(PoolFacts("drives", name, True, True, True, capacity=100 * GIB, available=0), "h1")
    assert full.verdict is Verdict.FAIL
    low = check_pool(PoolFacts("drives", name, True, True, True, capacity=100 * GIB, available=GIB), "h1")
    assert low.verdict is Verdict.WARN
    good = check_pool(
        PoolFacts("drives", name, True, True, True, capacity=100 * GIB, available=50 * GIB), "h1"
    )
    assert good.verdict is Verdict.PASS


CAPS_KVM = """<capabilities><host><uuid>x</uuid><iommu support='no'/></host>
<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
</capabilities>"""
CAPS_TCG = CAPS_KVM.replace("<domain type='kvm'/>", "")


def test_kvm_and_iommu() -> None:
    caps = parse_capabilities(CAPS_KVM)
    assert (caps.kvm_arches, caps.iommu) == (("x86_64",), False)
    assert check_kvm(caps, None).verdict is Verdict.PASS
    assert check_kvm(caps, "unsupported configuration: KVM is not supported").verdict is Verdict.FAIL
    tcg = check_kvm(parse_capabilities(CAPS_TCG), None)
    assert tcg.verdict is Verdict.FAIL
    assert "VT-x" in (tcg.fix or "")
    assert check_iommu(caps, groups_seen=False, needs_devices=True).verdict is Verdict.FAIL
    assert "intel_iommu=on" in (check_iommu(caps, False, True).fix or "")
    assert check_iommu(caps, groups_seen=False, needs_devices=False).verdict is Verdict.WARN
    assert check_iommu(caps, groups_seen=True, needs_devices=True).verdict is Verdict.PASS
    with pytest.raises(ValueError, match="malformed"):
        parse_capabilities("<capabilities>")


def test_versions_and_peers() -> None:
    same = check_versions("a", 9_000_000, 7_002_022, {"b": (9_000_000, 7_002_022)})
    assert same.verdict is Verdict.PASS
    assert "libvirt 9.0.0, QEMU 7.2.22" in same.detail
    older = check_versions("a", 9_000_000, 7_002_022, {"b": (9_000_000, 6_002_000)})
    assert older.verdict is Verdict.WARN
    assert "b (QEMU 6.2.0)" in older.detail
    fix = "share it"
    assert check_peers("shared-storage", "p", [PeerResult("b", True, "sees it")], fix).verdict is Verdict.PASS
    bad = check_peers(
        "shared-storage", "p", [PeerResult("b", True, "ok"), PeerResult("c", False, "not visible")], fix
    )
    assert (bad.verdict, bad.fix) == (Verdict.FAIL, fix)
    assert "c: not visible" in bad.detail
    assert check_peers("migration", "m", [], fix).verdict is Verdict.WARN
    assert check_peers("migration", "m", [], fix, skipped="read-only").detail == "not checked: read-only"


def test_report_verdict_exit_code_and_json_round_trip() -> None:
    items = (
        CheckItem("kvm", "kvm", Verdict.PASS, "ok"),
        CheckItem("iommu", "iommu", Verdict.WARN, "off", "enable intel_iommu=on"),
    )
    warn = HostCheckReport("a", "2026-12-01T00:00:00+00:00", items, seconds=0.5)
    assert (warn.verdict, warn.failed, exit_code([warn])) == (Verdict.WARN, False, 0)
    fail_item = CheckItem("device", "0000:01:02.0", Verdict.FAIL, "absent", None, "nvidia-gpu")
    failed = HostCheckReport("b", "2026-12-01T00:00:00+00:00", (*items, fail_item))
    assert exit_code([warn, failed]) == 1
    assert failed.failed_devices() == {"0000:01:02.0": fail_item}
    refused = HostCheckReport("c", "2026-12-01T00:00:00+00:00", refused="host 'c' is Disabled")
    assert (refused.verdict, exit_code([refused])) == (Verdict.FAIL, 1)
    for report in (warn, failed, refused):
        assert HostCheckReport.from_json(json.loads(json.dumps(report.to_json()))) == report
    with pytest.raises(ValueError, match="'items' must be a list"):
        HostCheckReport.from_json({"host": "a", "checked_at": "t", "items": {}})
    with pytest.raises(ValueError, match="'check' must be a string"):
        HostCheckReport.from_json({"host": "a", "checked_at": "t", "items": [{"verdict": "maybe"}]})


def test_cache_round_trip_and_damaged_files(tmp_path: Path) -> None:
    from tui.services.hostcheck import CACHE_FILE, CheckCache

    report = HostCheckReport("a", "2026-12-01T00:00:00+00:00", (CheckItem("kvm", "kvm", Verdict.PASS, "ok"),))
    cache = CheckCache(tmp_path)
    cache.save([report])
    other = HostCheckReport("b", "2026-12-01T00:00:00+00:00", refused="host 'b' is Disabled")
    CheckCache(tmp_path).save([other])  # another process: merged, not overwritten
    assert CheckCache(tmp_path).load() == {"a": report, "b": other}
    cache.forget(["b"])
    assert set(cache.load()) == {"a"}
    path = tmp_path / CACHE_FILE
    for damaged, expect in (
        ("{", "unreadable"),
        ('{"hosts": []}', 'expected {"hosts"'),
        ('{"hosts": {"a": {"host": "a", "checked_at": 1}}}', "'checked_at' must be a string"),
    ):
        path.write_text(damaged)
        fresh = CheckCache(tmp_path)
        assert fresh.load() == {}
        assert fresh.problem is not None
        assert expect in fresh.problem
    memory = CheckCache.of_store(object())  # a store without a directory: kept in memory
    memory.save([report])
    assert memory.get("a") == report
    assert memory.path is None


def test_placement_explanations_mention_a_failed_check_of_a_needed_device() -> None:
    from tui.core.fleet import FleetHost
    from tui.core.scheduling import CostEngine, FleetState, Request, explain_request
    from tui.core.scheduling.explain import note_device_checks

    from .scheduling_fixtures import seed_config, seed_fleet

    state = FleetState(seed_config(), seed_fleet(FleetHost("gpu-b", "nvidia-gpu-node", vms=1)))
    request = Request.of(2, 4 * GIB, {"nvidia-gpu": 1})
    placement = explain_request(state, CostEngine(state), request)
    assert (placement.host, placement.devices) == ("gpu-a", ("0000:01:02.0",))
    absent = CheckItem(
        "device", "0000:01:02.0", Verdict.FAIL, "nvidia-gpu: no PCI device", None, "nvidia-gpu"
    )
    other = CheckItem(
        "device", "0000:02:03.0", Verdict.FAIL, "nvidia-gpu: no IOMMU group", None, "nvidia-gpu"
    )
    checks = {
        "gpu-a": HostCheckReport("gpu-a", "t", (absent, other)),
        "gpu-b": HostCheckReport("gpu-b", "t", (other,)),
        "p2-a": HostCheckReport(
            "p2-a", "t", (CheckItem("device", "0000:09:00.0", Verdict.FAIL, "x", None, "amd-gpu"),)
        ),
    }
    noted = note_device_checks(placement, checks)
    reasons = {v.host: v.reason for v in noted.candidates}
    # The chosen host: only the device it would get; the decision itself does not change.
    assert reasons["gpu-a"] == "host check failed for nvidia-gpu 0000:01:02.0: nvidia-gpu: no PCI device"
    assert "host check failed for nvidia-gpu 0000:02:03.0" in (reasons["gpu-b"] or "")
    assert (noted.host, noted.cost, noted.devices) == (placement.host, placement.cost, placement.devices)
    # A failed device of a type the request does not need is not mentioned.
    assert reasons["p2-a"] == next(v.reason for v in placement.candidates if v.host == "p2-a")
    plain = Request.of(2, 4 * GIB)
    no_devices = explain_request(state, CostEngine(state), plain)
    assert note_device_checks(no_devices, checks) == no_devices


@pytest.mark.parametrize(
    ("error", "expect"),
    [
        # The messages libvirt gave on the test bed (tests/test_ssh_testbed.py makes each happen).
        (
            "Cannot recv data: root@127.0.0.1: Permission denied (publickey).: Connection reset by peer",
            "authorized_keys",
        ),
        (
            "Cannot recv data: No ED25519 host key is known for [127.0.0.1]:2223 and you have requested strict "
            "checking.\r\nHost key verification failed.: Connection reset by peer",
            "known_hosts",
        ),
        ("Cannot recv data: Connection timed out during banner exchange", "does not answer"),
        (
            "End of file while reading data: Timeout, server 127.0.0.1 not responding.: Input/output error",
            "does not answer",
        ),
        ("Cannot recv data: ssh: connect to host 10.0.0.1 port 22: Connection refused", "nothing listens"),
        ("Cannot recv data: sh: 1: nc: not found", "virt-ssh-helper"),
        ("Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory", None),
        (None, None),
    ],
)
def test_access_hints_for_ssh_failures(error: str | None, expect: str | None) -> None:
    from tui.core.hostcheck import access_hint

    hint = access_hint(error)
    if expect is None:
        assert hint is None
    else:
        assert hint is not None
        assert expect in hint
