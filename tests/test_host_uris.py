"""Hosts cannot run code and carry no secrets: the accepted libvirt URIs, at add, edit, import and load.

Issue 10 item 3: `qemu+ext:///system?command=/path/script` was accepted by `hosts add` and `hosts
import`, and the next poll ran the script; passwords in URIs were stored and shown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.hosts import HostError, check_uri, redact_uri, socket_dirs
from tui.services.store import Store, StoreError

from .conftest import SAMPLE_CONFIG


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("qemu+ext:///system?command=/tmp/x", "ext runs a program"),
        ("qemu+ssh://h/system?command=/tmp/x", "parameter 'command' names a program to run"),
        ("qemu+ssh://h/system?netcat=/tmp/nc", "parameter 'netcat' names a program"),
        ("qemu+unix:///system?socket=/tmp/evil.sock", "outside the allowed socket directories"),
        ("qemu+unix:///system?socket=/run/libvirt/../../tmp/s", "outside the allowed socket directories"),
        ("qemu+unix:///system?socket=relative.sock", "outside the allowed socket directories"),
        ("qemu+ssh://h/system?proxy=/bin/sh", "proxy='/bin/sh' is not one of"),
        ("qemu+ssh://h/system?colour=red", "unknown parameter 'colour'"),
        ("qemu+libssh2://h/system", "unknown libvirt transport 'libssh2'"),
        ("lxc:///system", "unknown libvirt driver 'lxc'"),
        ("qemu+ssh://admin:s3cret@h/system", "contains a password"),
        ("qemu:///system\n", "control characters"),
        ("qemu:///system#frag", "fragment"),
    ],
)
def test_uri_refused_with_the_reason(uri: str, message: str) -> None:
    with pytest.raises(HostError) as caught:
        check_uri(uri)
    assert message in str(caught.value)
    assert "s3cret" not in str(caught.value)  # a refused password is not echoed back


@pytest.mark.parametrize(
    "uri",
    [
        "qemu:///system",
        "qemu+tls://h.example/system",
        "qemu+tcp://10.0.0.5:16509/system",
        "qemu+ssh://admin@kvm1/system?keyfile=/home/admin/.ssh/id_ed25519&no_verify=0",
        "qemu+ssh://kvm1/system?no_tty=1&known_hosts=/etc/vmdeck/known_hosts",
        "qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock",
        "test:///default",
    ],
)
def test_uri_accepted(uri: str) -> None:
    assert check_uri(uri) == uri


def test_socket_allow_list_comes_from_the_documented_variable() -> None:
    uri = "qemu+unix:///system?socket=/srv/bed/hostb/libvirt-sock"
    with pytest.raises(HostError, match="VMDECK_SOCKET_DIRS"):
        check_uri(uri, allowed_socket_dirs=socket_dirs({}))
    assert check_uri(uri, allowed_socket_dirs=socket_dirs({"VMDECK_SOCKET_DIRS": "/opt/x:/srv/bed"})) == uri
    assert "/srv/bed" not in socket_dirs({"VMDECK_SOCKET_DIRS": "srv/bed"})  # relative: ignored


def test_redaction() -> None:
    assert redact_uri("qemu+ssh://admin:pw@h:22/system") == "qemu+ssh://admin:***@h:22/system"
    assert redact_uri("qemu:///system") == "qemu:///system"


@pytest.fixture
def vm(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    db = tmp_path / "db"

    def run(*argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        capsys.readouterr()
        code = main([*argv, "--config", str(SAMPLE_CONFIG), "--db", str(db), "--json"])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else {}

    run.db = db  # type: ignore[attr-defined]
    return run


def script(tmp_path: Path) -> tuple[Path, Path]:
    """A program that leaves a mark when something runs it."""
    marker = tmp_path / "ran"
    prog = tmp_path / "evil.sh"
    prog.write_text(f"#!/bin/sh\ntouch {marker}\n")
    prog.chmod(0o755)
    return prog, marker


def test_add_edit_and_import_refuse_a_uri_that_runs_code(vm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prog, marker = script(tmp_path)
    bad = f"qemu+ext:///system?command={prog}"
    code, out = vm("hosts", "add", "n1", "--uri", bad, "--profile", "pool1", "--realm", "libvirt1")
    assert code == 1
    assert "ext runs a program" in out["error"]
    code, _ = vm("hosts", "add", "n1", "--uri", "qemu:///system", "--profile", "pool1", "--realm", "libvirt1")
    assert code == 0
    code, out = vm("hosts", "edit", "n1", "--uri", f"qemu+ssh://h/system?command={prog}")
    assert code == 1
    assert "names a program" in out["error"]
    listing = tmp_path / "hosts-import.json"
    listing.write_text(json.dumps({"hosts": [{"name": "n2", "uri": bad, "profile": "pool1"}]}))
    code, out = vm("hosts", "import", str(listing))
    assert code == 1
    assert "ext runs a program" in out["error"]
    assert [h.name for h in Store(vm.db).hosts()] == ["n1"]
    assert Store(vm.db).host("n1").uri == "qemu:///system"  # type: ignore[union-attr]
    assert not marker.exists()


def test_a_hand_edited_store_with_such_a_uri_is_refused_at_load_and_never_opened(vm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prog, marker = script(tmp_path)
    code, _ = vm("hosts", "add", "n1", "--uri", "qemu:///system", "--profile", "pool1", "--realm", "libvirt1")
    assert code == 0
    path = vm.db / "hosts.json"
    data = json.loads(path.read_text())
    data["hosts"]["1"]["uri"] = f"qemu+ext:///system?command={prog}"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="hosts.json: document 1"):
        Store(vm.db).hosts()
    code, out = vm("poll", "--once")
    assert code == 1
    assert "ext runs a program" in out["error"]
    assert not marker.exists()


def test_passwords_are_refused_and_never_echoed(vm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri = "qemu+ssh://admin:hunter2@kvm1/system"
    code, out = vm("hosts", "add", "n1", "--uri", uri, "--profile", "pool1", "--realm", "libvirt1")
    assert code == 1
    assert "contains a password" in out["error"]
    assert "hunter2" not in json.dumps(out)
    # One that got into a file by hand is refused when loaded, redacted in the message.
    vm.db.mkdir(parents=True, exist_ok=True)
    doc = {"name": "n1", "uri": uri, "profile": "pool1", "realm": "libvirt1", "state": "enabled", "nat": None}
    (vm.db / "hosts.json").write_text(json.dumps({"hosts": {"1": doc}}))
    code, out = vm("hosts", "list")
    assert code == 1
    assert "admin:***@kvm1" in out["error"]
    assert "hunter2" not in json.dumps(out)


def test_the_test_bed_sockets_are_allowed_through_the_variable() -> None:
    assert "/var/lib/vmdeck-testbed" in os.environ["VMDECK_SOCKET_DIRS"].split(":")  # tests/conftest.py
    uri = "qemu+unix:///system?socket=/var/lib/vmdeck-testbed/hostb/run/libvirt/libvirt-sock"
    assert check_uri(uri) == uri
