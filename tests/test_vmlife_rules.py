"""The rules of a VM's life that need no host: which state allows which action, which snapshot kind
is taken and why, the display command for each kind of host URI, and the realm's `graphics` setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.hosts import HostRecord
from tui.core.live import DomainState
from tui.core.model import Graphics
from tui.services.actions import Refused
from tui.services.actions.domain_xml import DomainSpec, build_domain_xml
from tui.services.actions.power import power_refusal, snapshot_files
from tui.services.actions.serialconsole import console_refusal, display_command
from tui.services.actions.snapshots import Disk, SnapshotKind, choose_kind, domain_disks
from tui.services.config import load_config

S = DomainState
OLD, NEW = 9_000_000, 9_009_000
QCOW = [Disk("vda", "qcow2", "/p/d/v.qcow2")]
RAW = [Disk("vda", "raw", "/p/d/v.img")]


@pytest.mark.parametrize(
    ("action", "state", "refused"),
    [
        ("start", S.SHUTOFF, None),
        ("start", S.CRASHED, None),
        ("start", S.RUNNING, "already running"),
        ("start", S.PAUSED, "already paused"),
        ("reboot", S.RUNNING, None),
        ("reboot", S.SHUTOFF, "only a running VM reboots"),
        ("suspend", S.RUNNING, None),
        ("suspend", S.PAUSED, "only a running VM is suspended"),
        ("resume", S.PAUSED, None),
        ("resume", S.RUNNING, "not suspended"),
        ("undefine", S.SHUTOFF, None),
        ("undefine", S.RUNNING, "stop or destroy it"),
    ],
)
def test_power_state_rules(action: str, state: DomainState, refused: str | None) -> None:
    why = power_refusal(action, "web1", state)
    if refused is None:
        assert why is None
    else:
        assert why is not None
        assert why.startswith("web1 ")
        assert refused in why


def test_console_needs_a_running_vm() -> None:
    assert console_refusal("web1", S.RUNNING) is None
    assert "exists only while the VM runs" in (console_refusal("web1", S.SHUTOFF) or "")


@pytest.mark.parametrize(
    ("requested", "disks", "running", "pool", "version", "kind", "why"),
    [
        (SnapshotKind.AUTO, QCOW, True, True, NEW, SnapshotKind.DISK_ONLY, "base volumes stay untouched"),
        (SnapshotKind.AUTO, QCOW, True, True, OLD, SnapshotKind.INTERNAL, "cannot revert or delete external"),
        (SnapshotKind.AUTO, QCOW, False, False, NEW, SnapshotKind.INTERNAL, "is not active here"),
        (SnapshotKind.AUTO, RAW, False, True, OLD, SnapshotKind.DISK_ONLY, "cannot revert it"),
        (SnapshotKind.AUTO, [], True, True, OLD, SnapshotKind.MEMORY, "no disk"),
        (SnapshotKind.DISK_ONLY, QCOW, True, True, OLD, SnapshotKind.DISK_ONLY, "as asked"),
        (SnapshotKind.INTERNAL, QCOW, True, True, NEW, SnapshotKind.INTERNAL, "as asked"),
        (SnapshotKind.MEMORY, [], True, True, NEW, SnapshotKind.MEMORY, "as asked"),
    ],
)
def test_snapshot_kind_and_why(
    requested: SnapshotKind,
    disks: list[Disk],
    running: bool,
    pool: bool,
    version: int,
    kind: SnapshotKind,
    why: str,
) -> None:
    got, reason = choose_kind(requested, disks, running, pool, "snaps", version)
    assert got is kind
    assert why in reason


@pytest.mark.parametrize(
    ("requested", "disks", "running", "pool", "message"),
    [
        (SnapshotKind.AUTO, [], False, True, "no disk and is not running"),
        (SnapshotKind.AUTO, RAW, True, False, "not all files"),
        (SnapshotKind.INTERNAL, RAW, True, True, "every disk to be qcow2"),
        (SnapshotKind.INTERNAL, [], True, True, "every disk to be qcow2"),
        (SnapshotKind.DISK_ONLY, QCOW, True, False, "not active"),
        (SnapshotKind.DISK_ONLY, [Disk("vda", "qcow2", None)], True, True, "file-backed"),
        (SnapshotKind.MEMORY, QCOW, True, True, "without disks"),
        (SnapshotKind.MEMORY, [], False, True, "without disks"),
    ],
)
def test_snapshot_refusals(
    requested: SnapshotKind, disks: list[Disk], running: bool, pool: bool, message: str
) -> None:
    with pytest.raises(Refused, match=message):
        choose_kind(requested, disks, running, pool, "snaps", OLD)


def test_domain_disks_skip_cdroms_and_readonly() -> None:
    xml = (
        "<domain><devices>"
        "<disk type='file' device='disk'><driver type='qcow2'/><source file='/a.qcow2'/><target dev='vda'/></disk>"
        "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sda'/></disk>"
        "<disk type='file' device='disk'><readonly/><source file='/r.img'/><target dev='vdb'/></disk>"
        "<disk type='block' device='disk'><driver type='raw'/><source dev='/dev/sdz'/><target dev='vdc'/></disk>"
        "</devices></domain>"
    )
    assert domain_disks(xml) == [Disk("vda", "qcow2", "/a.qcow2"), Disk("vdc", "raw", None)]


def test_snapshot_files_are_overlays_and_memory() -> None:
    xml = (
        "<domainsnapshot><name>s</name><memory snapshot='external' file='/s/m.mem'/><disks>"
        "<disk name='vda' snapshot='external'><source file='/s/o.qcow2'/></disk>"
        "<disk name='vdb' snapshot='internal'/></disks></domainsnapshot>"
    )
    assert snapshot_files(xml) == ["/s/o.qcow2", "/s/m.mem"]


def _xml(port: str | None) -> str:
    xml = build_domain_xml(DomainSpec("web1", "6f1c1e8e-3b7a-4f55-9a51-2f0c8f8f0a01", 1, 1, 1 << 30, 1 << 30))
    return xml if port is None else xml.replace('port="-1"', f'port="{port}"')


def test_display_command_per_host_kind() -> None:
    ssh = HostRecord("n1", "qemu+ssh://admin@node1.example/system", "p", "r")
    lines = display_command(ssh, "web1", _xml("5901"))
    assert lines[0] == "virt-viewer --connect 'qemu+ssh://admin@node1.example/system' web1"
    assert lines[1].startswith("ssh -N -L 5901:127.0.0.1:5901 admin@node1.example")
    local = HostRecord("a", "qemu:///system", "p", "r")
    assert "vncviewer 127.0.0.1:5900" in display_command(local, "web1", _xml("5900"))[1]
    assert "assigned when web1 starts" in display_command(ssh, "web1", _xml(None))[1]
    headless = build_domain_xml(
        DomainSpec("h", "6f1c1e8e-3b7a-4f55-9a51-2f0c8f8f0a01", 1, 1, 1, 1, graphics=Graphics.NONE)
    )
    with pytest.raises(Refused, match="graphics: none"):
        display_command(ssh, "h", headless)


def _config(tmp_path: Path, graphics: str | None) -> Path:
    line = f"graphics: {graphics}\n" if graphics is not None else ""
    (tmp_path / "r.conf").write_text(f'name: "g"\n{line}')
    conf = tmp_path / "vm.conf"
    conf.write_text(
        'ticrypt.vm {\n mongodb { uri: "mongodb://localhost:27017" }\n realms { g = { include "r.conf" } }\n'
        ' cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }\n'
        " hardware-profiles { p { cores: 8, memory: 32 GiB, cost-function: c } }\n}\n"
    )
    return conf


@pytest.mark.parametrize(
    ("text", "expected"), [(None, Graphics.VNC), ("vnc", Graphics.VNC), ("none", Graphics.NONE)]
)
def test_realm_graphics_setting(tmp_path: Path, text: str | None, expected: Graphics) -> None:
    result = load_config(_config(tmp_path, text))
    assert result.ok, [str(d) for d in result.errors]
    assert result.config is not None
    assert result.config.realms["g"].graphics is expected


def test_realm_graphics_typo_is_a_diagnostic_with_its_line(tmp_path: Path) -> None:
    result = load_config(_config(tmp_path, "vcn"))
    assert not result.ok
    message = str(result.errors[0])
    assert "r.conf:2" in message
    assert "graphics" in message
    assert "did you mean 'vnc'" in message


def test_the_drain_plan_shows_cold_beside_shut_off_vms() -> None:
    from tui.console.vmactions import plan_lines
    from tui.services.actions.drain import DrainMove, DrainPlan

    plan = DrainPlan(
        "n1",
        (
            DrainMove("web1", "u1", "n2", 3.0, 1, 1 << 30),
            DrainMove("old", "u2", "n2", 4.0, 1, 1 << 30, cold=True),
        ),
        (),
    )
    moves, _ = plan_lines(plan)
    assert "web1 → n2 (cost there 3)" in moves
    assert "old → n2 cold (shut off) (cost there 4)" in moves
