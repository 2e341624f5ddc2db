"""The console over ssh, as admins use it: a real sshd (its own, on a loopback port), `ssh -tt` from
inside tmux, vmdeck on the demo at 80x24 without colour (NO_COLOR, as many ssh setups have it).

Switch panes (the Activity pane included), mark rows, quit; the screen shows each step and the
session ends with vmdeck's exit code 0. The sshd, its keys and its config live in a temporary
directory and the server is stopped afterwards, whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_ui_e2e_tmux import keys, tmux, wait_screen

SSHD = Path("/usr/sbin/sshd")
pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(
        not SSHD.is_file() or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None,
        reason="openssh-server and openssh-client are needed (scripts/setup.sh test installs them)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="sshd's privilege separation needs root"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def own_sshd(tmp: Path) -> Iterator[tuple[int, Path]]:
    """A throwaway sshd for root on 127.0.0.1 with a pty allowed; yields (port, client key)."""
    tmp.mkdir(mode=0o700)
    host_key, client_key = tmp / "host_key", tmp / "client_key"
    for key in (host_key, client_key):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
        )
    (tmp / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = _free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {tmp / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "AllowUsers root\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitTTY yes\nStrictModes no\nX11Forwarding no\nAllowTcpForwarding no\nPrintMotd no\n"
        "UseDNS no\nAcceptEnv NONE\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    server = subprocess.Popen([str(SSHD), "-D", "-f", str(config), "-E", str(tmp / "sshd.log")])
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s, contextlib.suppress(OSError):
                s.connect(("127.0.0.1", port))
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the test sshd did not listen: {(tmp / 'sshd.log').read_text()}")
            time.sleep(0.05)
        yield port, client_key
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_console_over_ssh_at_80x24_without_colour(tmp_path: Path) -> None:
    vmdeck = Path(sys.executable).with_name("vmdeck")
    name = f"vmdeck-ssh-{uuid.uuid4().hex[:8]}"
    with own_sshd(tmp_path / "sshd") as (port, client_key):
        remote = (
            f"cd {Path.cwd()} && env XDG_DATA_HOME={tmp_path / 'xdg'} XDG_STATE_HOME={tmp_path / 'state'} "
            f"NO_COLOR=1 TERM=xterm-256color {vmdeck}"
        )
        ssh = (
            f"ssh -tt -p {port} -i {client_key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            f"-o LogLevel=ERROR -o BatchMode=yes root@127.0.0.1 '{remote}'"
        )
        tmux(
            "new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"{ssh}; echo VMDECK-EXITED $?; sleep 60"
        )
        try:
            first = wait_screen(name, lambda s: "pool1-01" in s and "Quit" in s, "the hosts pane over ssh")
            assert "? Help" in first  # 80x24 keeps help and quit on the key bar
            keys(name, "6")
            wait_screen(name, lambda s: "Activity" in s, "the Activity pane")
            keys(name, "1")
            wait_screen(name, lambda s: "pool1-01" in s, "the hosts pane again")
            keys(name, "Space", "Space")
            marked = wait_screen(name, lambda s: "2 marked" in s, "two marked rows")
            assert marked.count("✓") >= 2  # marks are text, not colour: they show without colour
            keys(name, "Escape")
            wait_screen(name, lambda s: "marked" not in s, "the marks cleared")
            keys(name, "q")
            end = wait_screen(name, lambda s: "VMDECK-EXITED" in s, "vmdeck's exit")
            assert "VMDECK-EXITED 0" in end, end
            assert "Traceback" not in end
            # It really went through this sshd (not a local shell): the server logged the login.
            assert "Accepted publickey for root" in (tmp_path / "sshd" / "sshd.log").read_text()
        finally:
            subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
