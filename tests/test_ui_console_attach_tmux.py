"""The serial console from the console app, for real: `vmdeck` in tmux on a test-bed host, `o` on a
running VM hands the terminal to its serial console (App.suspend), ctrl+] comes back to the same
pane. No guest OS boots here (halt ROM), so nothing is written by the guest: the test asserts the
attach banner, that libvirt holds the console while attached, the return to the VMs pane, and the
audit entry."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tui.core.hosts import HostRecord
from tui.services.actions.domain_xml import CpuSpec, DomainSpec, build_domain_xml
from tui.services.store import Store

from . import testbed
from .test_ui_e2e_tmux import keys, tmux, wait_screen

URIS = testbed.testbed_uris()
pytestmark = [
    pytest.mark.kvm,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(
        URIS is None, reason="no real libvirtd test bed: run `bash scripts/libvirt-testbed.sh start`"
    ),
]
TAG = f"vmdeck-test-tcon-{uuidlib.uuid4().hex[:6]}"


@pytest.fixture
def running_vm() -> Iterator[str]:
    assert URIS is not None
    name = f"{TAG}-vm"
    spec = DomainSpec(
        name,
        str(uuidlib.uuid4()),
        1,
        1,
        64 << 20,
        64 << 20,
        domain_type="kvm" if testbed.testbed_kvm() else "qemu",
        machine="pc",
        firmware=str(testbed.HALT_ROM),
        cpu=CpuSpec.custom("qemu64", ("svm",)),
    )
    conn = libvirt.open(URIS[1])
    try:
        conn.defineXML(build_domain_xml(spec)).create()
    finally:
        conn.close()
    try:
        yield name
    finally:
        testbed.remove_test_objects(URIS[1], TAG)


def test_o_attaches_the_serial_console_and_ctrl_bracket_returns(tmp_path: Path, running_vm: str) -> None:
    assert URIS is not None
    (tmp_path / "vm.conf").write_text(
        'ticrypt.vm {\n mongodb { uri: "mongodb://localhost:27017" }\n realms { r = { name: "r" } }\n'
        ' cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }\n'
        " hardware-profiles { p { cores: 8, memory: 32 GiB, cost-function: c } }\n}\n"
    )
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("b", URIS[1], "p", "r"))
    name = f"vmdeck-e2e-{uuidlib.uuid4().hex[:8]}"
    vmdeck = Path(sys.executable).with_name("vmdeck")
    cmd = f"env TERM=xterm-256color {vmdeck} --config {tmp_path / 'vm.conf'} --db {db}; echo VMDECK-EXITED $?; sleep 60"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "30", cmd)
    try:
        wait_screen(name, lambda s: "vmdeck · Hosts" in s and " up " in s, "the hosts")
        keys(name, "4")
        wait_screen(name, lambda s: "vmdeck · VMs" in s and running_vm in s, "the VM on the VMs pane")
        keys(name, "/")
        keys(name, "-l", running_vm)
        keys(name, "Enter")
        wait_screen(name, lambda s: "1 of" in s, "the filtered row")
        keys(name, "o")
        wait_screen(
            name, lambda s: f"Connected to {running_vm} on b (escape character is ^])" in s, "the attach"
        )
        conn = libvirt.open(URIS[1])
        try:
            dom = conn.lookupByName(running_vm)
            with pytest.raises(libvirt.libvirtError, match="[Aa]ctive console session"):
                dom.openConsole(None, conn.newStream(0), 0)  # the console app holds it
            keys(name, "C-]")
            wait_screen(name, lambda s: "vmdeck · VMs" in s and "detached from" in s, "the VMs pane again")
            stream = conn.newStream(0)
            dom.openConsole(None, stream, 0)  # released
            stream.abort()
        finally:
            conn.close()
        keys(name, "q")
        wait_screen(name, lambda s: "VMDECK-EXITED 0" in s, "a clean exit")
        entries = [e for e in Store(db).audit() if e.what == "vm.console"]
        assert [e.after["result"] for e in entries] == ["ok"]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
