"""scripts/libvirt-testbed.sh start on a running test bed: idempotent, never restarts a running host,
brings back host D's sshd when it is gone, and writes host D's ssh URI to the env file.

Runs only as root on the test-bed machine (it talks to the real daemons); the sshd is down for the
second or so that `start` needs to bring it back, and nothing else is touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from . import testbed

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "libvirt-testbed.sh"
STATE = testbed.TESTBED_DIR
PIDFILES = {
    "A": Path("/run/libvirtd.pid"),
    "B": STATE / "hostb" / "libvirtd.pid",
    "C": STATE / "hostc" / "libvirtd.pid",
    "D": STATE / "hostd" / "libvirtd.pid",
}
pytestmark = [
    pytest.mark.kvm,
    pytest.mark.skipif(
        os.geteuid() != 0 or testbed.testbed_ssh_uri() is None or testbed.testbed_uri_c() is None,
        reason="needs root and a running test bed with host D over ssh (bash scripts/libvirt-testbed.sh start)",
    ),
]


def _pids() -> dict[str, int]:
    return {name: int(path.read_text().strip()) for name, path in PIDFILES.items()}


def _sshd_pid() -> int:
    return int(Path(testbed.read_env()["VMDECK_TESTBED_SSHD_PID"]).read_text().strip())


def _start() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=120, check=False
    )


def test_start_again_restarts_nothing() -> None:
    before, sshd = _pids(), _sshd_pid()
    done = _start()
    assert done.returncode == 0, done.stderr
    assert "already running" in done.stderr
    assert (_pids(), _sshd_pid()) == (before, sshd)
    env = testbed.read_env()
    assert env["VMDECK_TESTBED_URI_D_SSH"].startswith("qemu+ssh://root@vmdeck-testbed-d:2222/system?keyfile=")
    assert "socket=" not in env["VMDECK_TESTBED_URI_D_SSH"]  # the sshd runs in D's namespaces


def test_start_brings_back_a_dead_sshd_without_restarting_the_hosts() -> None:
    before, sshd = _pids(), _sshd_pid()
    os.kill(sshd, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sshd}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    done = _start()
    assert done.returncode == 0, done.stderr
    assert "host D: starting sshd" in done.stderr
    assert _pids() == before  # no libvirtd restarted: A/B/C (and D) keep their VMs and connections
    assert _sshd_pid() != sshd
    assert testbed._answers(testbed.read_env()["VMDECK_TESTBED_URI_D_SSH"], time.monotonic() + 10)
