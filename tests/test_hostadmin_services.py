"""The host administration services both the CLI and the console call (tui/services/hostadmin.py) and
the bounded URI probe (tui/services/libvirt/probe.py): table-driven rules, real libvirt for the probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostError, Nat
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, ManagedVm
from tui.services.actions.outcome import Result
from tui.services.actions.path import ActionPath
from tui.services.config import load_config
from tui.services.hostadmin import (
    add_host,
    edit_host,
    host_changes,
    host_record,
    removal_blockers,
    remove_host,
)
from tui.services.libvirt.probe import probe_uri
from tui.services.libvirt.testdriver import FakeDomain, write_node_file
from tui.services.store import Store

from .conftest import SAMPLE_CONFIG
from .livefixtures import black_hole

GIB = 1 << 30
CONFIG = load_config(SAMPLE_CONFIG).config


def _dom(name: str, uuid: str, state: DomainState) -> DomainFacts:
    return DomainFacts(name, uuid, state, 1, GIB, GIB)


WEB = ManagedVm("11111111-1111-1111-1111-111111111111", "web", "h1")
DB = ManagedVm("22222222-2222-2222-2222-222222222222", "db", "h1")


@pytest.mark.parametrize(
    ("recorded", "snapshot", "blockers"),
    [
        ([], None, []),  # nothing of vmdeck's there: no poll needed, nothing blocks
        (
            [WEB, DB],
            HostSnapshot(
                "h1",
                "test:///default",
                HostStatus.CONNECTED,
                domains=(
                    _dom("web", WEB.uuid, DomainState.RUNNING),
                    _dom("db", DB.uuid, DomainState.SHUTOFF),
                ),
            ),
            ["web (running)"],
        ),
        (
            [WEB],
            HostSnapshot(
                "h1",
                "test:///default",
                HostStatus.CONNECTED,
                domains=(_dom("web", WEB.uuid, DomainState.PAUSED),),
            ),
            ["web (paused)"],  # a paused VM still holds the host's memory
        ),
        ([WEB], HostSnapshot("h1", "test:///default", HostStatus.CONNECTED), []),  # gone from the host
        (
            [WEB],
            HostSnapshot("h1", "test:///default", HostStatus.UNREACHABLE, error="timeout"),
            ["web (host unreachable: cannot tell whether it runs)"],
        ),
        ([WEB], None, ["web (host not polled: cannot tell whether it runs)"]),
    ],
)
def test_removal_blockers(
    recorded: list[ManagedVm], snapshot: HostSnapshot | None, blockers: list[str]
) -> None:
    assert removal_blockers(recorded, snapshot) == blockers


def test_fields_become_a_checked_record_or_a_refusal() -> None:
    assert CONFIG is not None
    record = host_record(
        CONFIG,
        name="n1",
        uri="qemu:///system",
        profile="pool1",
        realm="libvirt1",
        nat_ip="10.0.0.1",
        nat_base_port="30000",
    )
    assert (record.state, record.nat) == (HostState.ENABLED, Nat("10.0.0.1", 30000))
    for fields, message in [
        ({"uri": "qemu+ext:///system?command=/bin/sh"}, "ext runs a program"),
        ({"uri": "qemu+ssh://h/system?command=x"}, "'command' names a program to run"),
        ({"profile": "nope"}, "unknown hardware profile 'nope'"),
        ({"realm": ""}, "name a realm"),  # the sample config has two
        ({"nat_ip": "10.0.0.1", "nat_base_port": ""}, "needs both"),
        ({"state": "asleep"}, "unknown host state"),
    ]:
        given = {"name": "n1", "uri": "qemu:///system", "profile": "pool1", "realm": "libvirt1", **fields}
        with pytest.raises(HostError, match=message):
            host_record(CONFIG, **given)  # type: ignore[arg-type]
    assert host_changes(CONFIG, record, uri="qemu:///system", profile="pool2", no_nat=True) == {
        "profile": "pool2",
        "nat": None,
    }


def test_writes_take_the_action_path_and_the_store_audits(tmp_path: Path) -> None:
    assert CONFIG is not None
    store = Store(tmp_path / "db")
    record = host_record(CONFIG, name="n1", uri="qemu:///system", profile="pool1", realm="libvirt1")
    assert add_host(ActionPath(store, read_only=True), record, "x").result is Result.REFUSED
    assert store.hosts() == []  # read-only: nothing written
    assert add_host(ActionPath(store), record, "new").ok
    with pytest.raises(HostError, match="already exist"):
        add_host(ActionPath(store), record, "again")
    with pytest.raises(HostError, match="needs a reason"):
        edit_host(ActionPath(store), "n1", {"state": HostState.DISABLED}, None)
    assert edit_host(ActionPath(store), "n1", {"profile": "pool2"}, "re-cabled").ok
    store.record_vm(WEB.__class__(WEB.uuid, "web", "n1"))
    with pytest.raises(HostError, match="still runs vmdeck's VM"):  # n1 never polled: cannot tell
        remove_host(ActionPath(store), "n1", "gone")
    assert [e.what for e in store.audit()] == ["host.add", "host.edit", "vm.record"]
    assert store.leases() == []  # every lease taken was released


def test_probe_describes_a_host_that_answers(tmp_path: Path) -> None:
    uri = write_node_file(tmp_path / "n.xml", "n", [FakeDomain("a"), FakeDomain("b", running=False)])
    probe = probe_uri(uri, timeout=10)
    assert probe.ok, probe.message
    assert probe.message.startswith("libvirt ")
    assert probe.message.endswith(": 16 CPUs, 32 GiB, 2 domains"), (
        probe.message
    )  # write_node_file's default node


def test_probe_says_why_and_never_waits_past_its_bound(tmp_path: Path) -> None:
    missing = probe_uri(f"test://{tmp_path}/nowhere.xml", timeout=5)
    assert (missing.ok, missing.timed_out) == (False, False)
    assert "node file not found" in missing.message
    refused = probe_uri(f"qemu+unix:///system?socket={tmp_path}/none-sock", timeout=5)
    assert not refused.ok
    assert "none-sock" in refused.message
    with black_hole() as port:  # accepts and never answers: open() would block forever
        hung = probe_uri(f"qemu+tcp://127.0.0.1:{port}/system", timeout=1)
    assert (hung.ok, hung.timed_out) == (False, True)
    assert "no answer within 1 s" in hung.message
