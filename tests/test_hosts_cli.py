"""`vmdeck hosts|audit|poll|fleet export|reconcile` end to end, on the sample config and test:/// hosts."""

from __future__ import annotations

import json

import pytest

from tui.cli import main
from tui.core.fleet import Fleet
from tui.services.config import load_config
from tui.services.libvirt.testdriver import FakeDomain, fake_fleet, write_node_file
from tui.services.store import Store

from .conftest import SAMPLE_CONFIG

NODEINFO = """<node_info>
<nodes>
<node>
<hostname>node1</hostname>
<ipv4address>192.168.1.11</ipv4address>
<max_capacity><cpu_core>8</cpu_core><memory unit="KiB">32689796</memory><io unit="KiB">1073741824</io></max_capacity>
<available_capacity><cpu_core>8</cpu_core><memory unit="KiB">32689796</memory></available_capacity>
</node>
<node>
<hostname>node2</hostname>
<ipv4address>192.168.1.12</ipv4address>
<max_capacity><cpu_core>8</cpu_core><memory unit="KiB">33554432</memory></max_capacity>
</node>
</nodes>
</node_info>
"""


@pytest.fixture
def vm(tmp_path, capsys):
    db = tmp_path / "db"

    def run(*argv: str) -> tuple[int, object]:
        capsys.readouterr()
        code = main([*argv, "--config", str(SAMPLE_CONFIG), "--db", str(db), "--json"])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else None

    run.db = db  # type: ignore[attr-defined]
    return run


def files(db):
    return {p.name: p.read_bytes() for p in db.iterdir() if not p.name.startswith(".")} if db.exists() else {}


def test_add_list_state_audit(vm):
    code, out = vm(
        "hosts",
        "add",
        "kvm1",
        "--uri",
        "qemu+ssh://root@kvm1/system",
        "--profile",
        "pool1",
        "--realm",
        "libvirt1",
        "--nat-ip",
        "192.0.2.9",
        "--nat-base-port",
        "20000",
    )
    assert code == 0
    assert out["host"]["nat"] == {"ip": "192.0.2.9", "base_port": 20000}
    code, out = vm("hosts", "state", "kvm1", "no-scheduling", "--reason", "disk swap")
    assert (code, out["host"]["state"]) == (0, "no-scheduling")
    code, out = vm("hosts", "list")
    assert [(h["name"], h["state"], h["problem"]) for h in out["hosts"]] == [("kvm1", "no-scheduling", None)]
    code, out = vm("audit", "--host", "kvm1")
    assert [e["what"] for e in out["entries"]] == ["host.add", "host.state"]
    assert out["entries"][1]["reason"] == "disk swap"
    assert out["entries"][1]["before"]["state"] == "enabled"
    code, out = vm("hosts", "edit", "kvm1", "--no-nat", "--profile", "pool2")
    assert (code, out["host"]["nat"], out["host"]["profile"]) == (0, None, "pool2")
    code, out = vm("hosts", "remove", "kvm1", "--reason", "gone")
    assert code == 0
    assert vm("hosts", "list")[1] == {"hosts": []}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["hosts", "add", "kvm2", "--uri", "qemu:///system", "--profile", "nope", "--realm", "libvirt1"],
            "unknown hardware profile 'nope'",
        ),
        (
            ["hosts", "add", "kvm2", "--uri", "kvm2.example", "--profile", "pool1", "--realm", "libvirt1"],
            "malformed libvirt URI",
        ),
        (
            ["hosts", "add", "kvm1", "--uri", "qemu:///system", "--profile", "pool1", "--realm", "libvirt1"],
            "already exist",
        ),
        (
            ["hosts", "add", "kvm2", "--uri", "qemu:///system", "--profile", "pool1", "--realm", "libvirt9"],
            "unknown realm 'libvirt9'",
        ),
        (["hosts", "add", "kvm2", "--uri", "qemu:///system", "--profile", "pool1"], "name a realm"),
        (
            [
                "hosts",
                "add",
                "kvm2",
                "--uri",
                "qemu:///system",
                "--profile",
                "pool1",
                "--realm",
                "libvirt1",
                "--state",
                "maintenance",
            ],
            "unknown host state 'maintenance'",
        ),
        (
            [
                "hosts",
                "add",
                "bad name",
                "--uri",
                "qemu:///system",
                "--profile",
                "pool1",
                "--realm",
                "libvirt1",
            ],
            "invalid host name",
        ),
        (
            [
                "hosts",
                "add",
                "kvm2",
                "--uri",
                "qemu:///system",
                "--profile",
                "pool1",
                "--realm",
                "libvirt1",
                "--nat-ip",
                "10.0.0.1",
            ],
            "needs both",
        ),
        (["hosts", "state", "kvm1", "disabled"], "needs a reason"),
        (["hosts", "state", "kvm1", "asleep", "--reason", "x"], "unknown host state 'asleep'"),
        (["hosts", "state", "ghost", "disabled", "--reason", "x"], "no host named 'ghost'"),
        (["hosts", "edit", "kvm1", "--state", "disabled"], "needs a reason"),
        (["hosts", "edit", "kvm1", "--profile", "nope"], "unknown hardware profile"),
        (["hosts", "edit", "kvm1"], "nothing to change"),
        (["hosts", "remove", "ghost"], "no host named 'ghost'"),
        (["audit", "--limit", "-1"], "--limit"),
    ],
)
def test_bad_input_refused_and_nothing_changes(vm, argv, message):
    assert (
        vm("hosts", "add", "kvm1", "--uri", "qemu:///system", "--profile", "pool1", "--realm", "libvirt1")[0]
        == 0
    )
    before = files(vm.db)
    code, out = vm(*argv)
    assert code == 1
    assert out["ok"] is False
    assert message in out["error"]
    assert files(vm.db) == before


def test_import_json_all_or_nothing(vm, tmp_path):
    good = {
        "name": "a",
        "uri": "qemu+ssh://a/system",
        "profile": "pool1",
        "realm": "libvirt1",
        "state": "enabled",
        "nat": {"ip": "10.0.0.1", "base_port": 30000},
    }
    doc = {"hosts": [good, {**good, "name": "b", "profile": "nope"}, {**good, "name": "c", "state": "zzz"}]}
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(doc))
    code, out = vm("hosts", "import", str(path))
    assert code == 1
    assert "2 problem(s)" in out["error"]
    assert "hosts[1]: host 'b': unknown hardware profile 'nope'" in out["error"]
    assert "hosts[2] (c)" in out["error"]
    assert files(vm.db).get("hosts.json") is None
    doc["hosts"] = [good, {**good, "name": "b", "state": "disabled", "nat": None}]
    path.write_text(json.dumps(doc))
    code, out = vm("hosts", "import", str(path), "--reason", "migration from tiCrypt")
    assert (code, out["imported"]) == (0, ["a", "b"])
    entries = vm("audit")[1]["entries"]
    assert {(e["what"], e["reason"]) for e in entries} == {("host.import", "migration from tiCrypt")}


def test_import_nodeinfo_xml(vm, tmp_path):
    path = tmp_path / "nodeinfo.xml"
    path.write_text(NODEINFO)
    code, out = vm("hosts", "import", str(path), "--realm", "libvirt1")
    assert code == 1
    assert "--profile" in out["error"]
    code, out = vm("hosts", "import", str(path), "--realm", "libvirt1", "--profile", "pool1")
    assert (code, out["imported"]) == (0, ["node1", "node2"])
    # 32689796 KiB is not the profile's 32 GiB: said, not refused (the profile is what vmdeck schedules by).
    assert len(out["warnings"]) == 1
    assert "node1" in out["warnings"][0]
    hosts = vm("hosts", "list")[1]["hosts"]
    assert [h["uri"] for h in hosts] == ["qemu+ssh://192.168.1.11/system", "qemu+ssh://192.168.1.12/system"]


def test_import_nodeinfo_with_uri_template_and_bad_xml(vm, tmp_path):
    path = tmp_path / "nodeinfo.xml"
    path.write_text(NODEINFO)
    code, out = vm(
        "hosts",
        "import",
        str(path),
        "--realm",
        "libvirt2",
        "--profile",
        "pool2",
        "--uri-template",
        "qemu+tcp://{host}:16509/system",
    )
    assert code == 0
    assert vm("hosts", "list")[1]["hosts"][0]["uri"] == "qemu+tcp://node1:16509/system"
    path.write_text("<node_info><nodes><node>")
    code, out = vm("hosts", "import", str(path), "--realm", "libvirt1", "--profile", "pool1")
    assert code == 1
    assert "not valid XML" in out["error"]


def add_test_hosts(vm, tmp_path):
    fleet = fake_fleet(tmp_path / "nodes", 3, 4)
    gpu_uri = write_node_file(
        tmp_path / "nodes" / "gpu.xml",
        "gpu",
        [
            FakeDomain("train", vcpus=4, memory_kib=8 << 20, hostdevs=("01:02.0",)),
            FakeDomain("off", running=False),
        ],
    )
    doc = {
        "hosts": [h.to_json() for h in fleet]
        + [{"name": "gpu", "uri": gpu_uri, "profile": "nvidia-gpu-node", "realm": "libvirt2"}]
    }
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(doc))
    assert vm("hosts", "import", str(path))[0] == 0
    return fleet


def test_poll_once_prints_the_fleet(vm, tmp_path):
    fleet = add_test_hosts(vm, tmp_path)
    vm("hosts", "state", fleet[2].name, "disabled", "--reason", "test")
    code, out = vm("poll", "--once")
    assert code == 0
    by = {h["host"]: h for h in out["hosts"]}
    assert by[fleet[0].name]["status"] == "connected"
    assert len(by[fleet[0].name]["domains"]) == 4
    assert by[fleet[2].name]["status"] == "disabled"
    gpu = by["gpu"]
    assert gpu["allocation"]["devices"] == {"nvidia-gpu": {"allocated": 1, "capacity": 2}}
    assert gpu["allocation"]["vcpus"] == {"allocated": 4, "capacity": 8}
    # nvidia-gpu cost function: vms 1 + vcpus 4×0.5 + memory 8 GiB → 5 + 1 GPU, + offset 100000
    assert gpu["allocation"]["cost"]["total"] == pytest.approx(100000 + 1 + 2 + 5 + 1)


def test_fleet_export_is_a_fleet_json(vm, tmp_path, capsys):
    fleet = add_test_hosts(vm, tmp_path)
    out_file = tmp_path / "FLEET.json"
    code, _ = vm("fleet", "export", "--output", str(out_file))
    assert code == 0
    config = load_config(SAMPLE_CONFIG).config
    exported = Fleet.from_json(json.loads(out_file.read_text()), config)
    hosts = exported.by_name()
    assert hosts["gpu"].devices_in_use == ("0000:01:02.0",)
    assert (hosts["gpu"].vms, hosts["gpu"].vcpus) == (1, 4)
    assert hosts[fleet[0].name].vms == 3  # one of four fake domains is shut off


def test_reconcile_adopt_and_forget(vm, tmp_path):
    add_test_hosts(vm, tmp_path)
    code, out = vm("reconcile", "--host", "gpu")
    assert code == 0
    unmanaged = [f for f in out["findings"] if f["kind"] == "unmanaged" and f["host"] == "gpu"]
    assert sorted(f["name"] for f in unmanaged) == ["off", "train"]
    train = next(f for f in unmanaged if f["name"] == "train")["uuid"]
    code, out = vm("reconcile", "--host", "gpu", "--adopt", train, "--reason", "ours")
    assert code == 0
    assert train not in {f["uuid"] for f in out["findings"]}
    code, out = vm("reconcile", "--forget", train)
    assert code == 1
    assert "still reports it" in out["error"]
    code, out = vm("reconcile", "--adopt", "00000000-0000-0000-0000-000000000000")
    assert code == 1
    assert "no connected host" in out["error"]


def test_poll_refuses_unknown_host(vm, tmp_path):
    add_test_hosts(vm, tmp_path)
    code, out = vm("poll", "--once", "--host", "nobody")
    assert code == 1
    assert "no host named 'nobody'" in out["error"]


def test_poll_json_includes_the_recent_load(vm, tmp_path):
    fleet = add_test_hosts(vm, tmp_path)
    vm("hosts", "state", fleet[2].name, "disabled", "--reason", "test")
    code, out = vm("poll", "--once")
    assert code == 0
    by = {h["host"]: h for h in out["hosts"]}
    load = by[fleet[0].name]["load"]
    assert load["window_seconds"] == 3600
    assert len(load["at"]) == len(load["cpu"]) == len(load["memory"]) == 1  # one poll, one sample
    assert load["cpu"] == [None]  # a CPU rate needs two polls
    running = [d for d in by[fleet[0].name]["domains"] if d["state"] == "running"]
    node_memory = by[fleet[0].name]["node"]["memory"]
    assert load["memory"][0] == round(sum(d["memory"] for d in running) / node_memory, 4)
    assert by[fleet[2].name]["load"]["at"] == []  # disabled: not polled, no sample


def test_remove_is_refused_while_vmdecks_vm_runs_there(vm, tmp_path):
    """The console's rule (tui/services/hostadmin.py), from the CLI: the host is polled (only when
    vmdeck has VMs recorded on it), and one of them running keeps the host, named in the refusal."""
    add_test_hosts(vm, tmp_path)
    train = next(f for f in vm("reconcile", "--host", "gpu")[1]["findings"] if f["name"] == "train")["uuid"]
    off = next(f for f in vm("reconcile", "--host", "gpu")[1]["findings"] if f["name"] == "off")["uuid"]
    assert vm("reconcile", "--host", "gpu", "--adopt", off, "--reason", "ours")[0] == 0
    before = files(vm.db)
    assert vm("reconcile", "--host", "gpu", "--adopt", train, "--reason", "ours")[0] == 0
    code, out = vm("hosts", "remove", "gpu", "--reason", "gone")
    assert code == 1
    assert "host 'gpu' still runs vmdeck's VM(s): train (running); stop or migrate them first" in out["error"]
    assert "off" not in out["error"].split(";")[0]  # a shut-off VM of vmdeck's keeps nothing
    assert vm("hosts", "list")[1]["hosts"][-1]["name"] == "gpu"
    # Once only the shut-off one is recorded there, the host can go.
    Store(vm.db).forget_vm(train, reason="test")
    assert files(vm.db)["hosts.json"] == before["hosts.json"]
    code, out = vm("hosts", "remove", "gpu", "--reason", "gone")
    assert (code, out["removed"]["name"]) == (0, "gpu")
