"""The host inventory and audit log: validation, refusals that change nothing, audit contents."""

from __future__ import annotations

import json

import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord, Nat, check_nat, check_uri
from tui.core.live import ManagedVm
from tui.services.store import Actor, Store, current_actor, default_data_dir


def host(name: str = "kvm1", **kw: object) -> HostRecord:
    base: dict[str, object] = {"uri": "qemu+ssh://root@kvm1/system", "profile": "pool1", "realm": "libvirt1"}
    base.update(kw)
    return HostRecord(name=name, **base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "db", actor=Actor("alice", "10.1.2.3"))


def snapshot_files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.name.startswith(".")}


def test_add_list_and_audit(store):
    store.add_host(host(nat=Nat("192.0.2.10", 20000)), reason="new rack")
    assert store.hosts() == [host(nat=Nat("192.0.2.10", 20000))]
    [entry] = store.audit()
    assert (entry.what, entry.host, entry.reason, entry.before) == ("host.add", "kvm1", "new rack", None)
    assert entry.after["nat"] == {"ip": "192.0.2.10", "base_port": 20000}
    assert entry.who == Actor("alice", "10.1.2.3")


def test_duplicate_refused_and_nothing_changes(store):
    store.add_host(host())
    before = snapshot_files(store.directory)
    with pytest.raises(HostError, match="already exist"):
        store.add_hosts([host("kvm2"), host("kvm1")])
    assert snapshot_files(store.directory) == before


def test_import_duplicates_inside_input_refused(store):
    with pytest.raises(HostError, match="duplicate host name"):
        store.add_hosts([host("a"), host("a")])
    assert store.hosts() == []
    assert store.audit() == []


def test_state_change_needs_reason_and_is_audited(store):
    store.add_host(host())
    with pytest.raises(HostError, match="needs a reason"):
        store.set_state("kvm1", HostState.DISABLED, "  ")
    with pytest.raises(HostError, match="needs a reason"):
        store.edit_host("kvm1", {"state": HostState.NO_SCHEDULING})
    assert store.host("kvm1").state is HostState.ENABLED
    store.set_state("kvm1", HostState.NO_SCHEDULING, "maintenance window")
    entry = store.audit("kvm1")[-1]
    assert entry.what == "host.state"
    assert (entry.before["state"], entry.after["state"]) == ("enabled", "no-scheduling")
    assert entry.reason == "maintenance window"


def test_edit_without_change_writes_nothing(store):
    store.add_host(host())
    store.edit_host("kvm1", {"profile": "pool1"})
    assert len(store.audit()) == 1


def test_edit_and_remove_unknown_host(store):
    with pytest.raises(HostError, match="no host named"):
        store.edit_host("ghost", {"profile": "pool2"})
    with pytest.raises(HostError, match="no host named"):
        store.remove_host("ghost")


def test_remove_keeps_before_in_audit(store):
    store.add_host(host())
    store.remove_host("kvm1", reason="decommissioned")
    assert store.hosts() == []
    entry = store.audit()[-1]
    assert (entry.what, entry.after, entry.before["name"]) == ("host.remove", None, "kvm1")


def test_audit_filter_by_host(store):
    store.add_hosts([host("a"), host("b")])
    store.set_state("b", HostState.DISABLED, "broken fan")
    assert [e.what for e in store.audit("b")] == ["host.add", "host.state"]
    assert [e.host for e in store.audit("a")] == ["a"]


def test_managed_vms_record_and_forget(store):
    store.record_vm(ManagedVm("AAAA-1", "vm1", "kvm1"), reason="started")
    store.record_vm(ManagedVm("aaaa-1", "vm1", "kvm2"), reason="migrated")
    assert store.managed_vms() == [ManagedVm("aaaa-1", "vm1", "kvm2")]
    store.forget_vm("AAAA-1")
    assert store.managed_vms() == []
    with pytest.raises(HostError, match="no record"):
        store.forget_vm("aaaa-1")


def test_torn_audit_tail_is_ignored_then_cut(store):
    store.add_host(host("a"))
    with store.audit_log.path.open("ab") as handle:
        handle.write(b'{"when": "x", "wha')  # a writer killed mid-append
    assert [e.host for e in store.audit()] == ["a"]
    store.add_host(host("b"))
    lines = store.audit_log.path.read_bytes().splitlines()
    assert [json.loads(line)["host"] for line in lines] == ["a", "b"]


def test_hosts_file_is_plain_tinydb_json(store):
    store.add_host(host())
    data = json.loads((store.directory / "hosts.json").read_text())
    assert data["hosts"]["1"]["uri"] == "qemu+ssh://root@kvm1/system"


def test_actor_from_ssh_environment():
    assert current_actor({"SSH_CONNECTION": "198.51.100.7 50000 10.0.0.1 22"}).remote == "198.51.100.7"
    assert current_actor({"SSH_CLIENT": "198.51.100.8 50000 22"}).remote == "198.51.100.8"
    assert current_actor({}).remote is None


def test_default_data_dir():
    assert default_data_dir({"XDG_DATA_HOME": "/x/data"}) == __import__("pathlib").Path("/x/data/vmdeck")
    assert str(default_data_dir({})).endswith(".local/share/vmdeck")


@pytest.mark.parametrize(
    "uri",
    [
        "qemu:///system",
        "qemu+ssh://root@kvm1:2222/system",
        "test:///default",
        "qemu+unix:///system?socket=/run/libvirt/libvirt-sock",
        "qemu+ssh://admin@kvm1/system?keyfile=/home/admin/.ssh/id_ed25519&no_verify=0",
    ],
)
def test_uri_accepted(uri):
    assert check_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("kvm1", "malformed"),
        ("qemu:/system", "malformed"),
        ("qemu+ssh:///system", "names no host"),
        ("qemu+carrier://h/system", "unknown libvirt transport"),
        ("qemu://", "no path"),
        ("QEMU://h/system", "malformed"),
        ("qemu+ssh://h:99999/system", "invalid port"),
    ],
)
def test_uri_refused(uri, message):
    with pytest.raises(HostError, match=message):
        check_uri(uri)


@pytest.mark.parametrize(
    ("ip", "port", "message"),
    [
        ("300.1.1.1", 2000, "not an IPv4"),
        ("10.0.0.1", 65500, "must be 1.."),
        ("10.0.0.1", "x", "whole number"),
    ],
)
def test_nat_refused(ip, port, message):
    with pytest.raises(HostError, match=message):
        check_nat(ip, port)


def test_nat_port_for_vm():
    assert check_nat("10.0.0.1", "20000").port_for("192.168.7.42") == 20042


def test_record_from_json_refuses_unknown_fields_and_states():
    with pytest.raises(HostError, match="unknown field"):
        HostRecord.from_json(
            {"name": "a", "uri": "qemu:///system", "profile": "p", "realm": "r", "colour": 1}
        )
    with pytest.raises(HostError, match="unknown host state"):
        HostRecord.from_json(
            {"name": "a", "uri": "qemu:///system", "profile": "p", "realm": "r", "state": "on"}
        )
