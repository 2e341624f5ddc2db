"""End to end in a real terminal: `vmdeck` on the demo inside tmux, driven by send-keys.

Start, switch panes, disable a host with a reason and confirm, quit; then check what the screen
showed and what the store and audit log hold. The demo lives in a temporary XDG_DATA_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui.core.fleet import HostState
from tui.services.store import Store

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"vmdeck-e2e-{uuid.uuid4().hex[:8]}"
    data = tmp_path / "xdg"
    vmdeck = Path(sys.executable).with_name("vmdeck")
    state = tmp_path / "state"  # a crash log would land here
    command = (
        f"env XDG_DATA_HOME={data} XDG_STATE_HOME={state} TERM=xterm-256color {vmdeck}; "
        "echo VMDECK-EXITED $?; sleep 60"
    )
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", str(REPO), command)
    try:
        yield name, data
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def screen(name: str) -> str:
    return tmux("capture-pane", "-t", name, "-p")


def wait_screen(name: str, ok: Callable[[str], bool], what: str) -> str:
    for _ in range(300):
        text = screen(name)
        if ok(text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"screen never showed {what}:\n{screen(name)}")


def keys(name: str, *sequence: str) -> None:
    tmux("send-keys", "-t", name, *sequence)


def command(name: str, word: str) -> None:
    """Type `:word` like a person: wait for the prompt before typing (keys sent earlier would race it)."""
    keys(name, ":")
    wait_screen(name, lambda s: "hosts profiles curves vms sim activity help quit" in s, "the command prompt")
    keys(name, "-l", word)
    keys(name, "Enter")


def test_vmdeck_in_tmux_switch_panes_disable_host_quit(session: tuple[str, Path]) -> None:
    name, data = session
    # Hosts appear as each is polled; the demo's unreachable host must show up as a status.
    text = wait_screen(name, lambda s: "vmdeck · Hosts" in s and " up " in s and "DOWN" in s, "the hosts")
    assert "pool1-01" in text
    command(name, "curves")
    wait_screen(name, lambda s: "vmdeck · Curves" in s and "∞" in s, "the curves pane")
    keys(name, "4")
    wait_screen(name, lambda s: "vmdeck · VMs" in s and "203.0.113." in s, "the VMs pane")
    command(name, "hosts")
    wait_screen(name, lambda s: "vmdeck · Hosts" in s, "the hosts pane again")
    keys(name, "d")
    wait_screen(name, lambda s: "Set gpu-01: Enabled → Disabled" in s and "VMs affected" in s, "the dialog")
    wait_screen(name, lambda s: "reason (required" in s, "the reason field")
    keys(name, "-l", "rack power work")
    keys(name, "Enter")
    wait_screen(name, lambda s: "Confirm: set gpu-01 to Disabled" in s, "the confirmation")
    keys(name, "y")
    wait_screen(name, lambda s: "Host state changed" in s or "audit written" in s, "the notification")
    row = wait_screen(
        name,
        lambda s: any(line.split()[:3] == ["gpu-01", "Disabled", "off"] for line in s.splitlines()),
        "row",
    )
    assert "gpu-01" in row
    keys(name, "q")
    wait_screen(name, lambda s: "VMDECK-EXITED 0" in s, "a clean exit")
    store = Store(data / "vmdeck" / "demo" / "db")
    assert store.host("gpu-01").state is HostState.DISABLED  # type: ignore[union-attr]
    entry = store.audit("gpu-01")[-1]
    assert entry.reason == "rack power work"
    assert entry.what == "host.state"
    assert os.path.isfile(data / "vmdeck" / "demo" / "nodes" / "gpu-01.xml")


def test_bursts_and_pastes_in_tmux_never_crash(session: tuple[str, Path]) -> None:
    """Issue 11's crashes, through a real terminal: `/` with a pasted line and two newlines, `:` and
    two Enters, a bracketed paste, PageDown with ctrl+p, a reason typed at once after `n`."""
    name, data = session
    wait_screen(name, lambda s: "vmdeck · Hosts" in s and " up " in s, "the hosts")
    keys(name, "/", "pool1", "Enter", "Enter")  # one send-keys: one burst, as a paste arrives
    wait_screen(name, lambda s: "Cost breakdown" in s, "the host detail the second Enter opened")
    keys(name, "Escape")
    wait_screen(name, lambda s: "pool1-01" in s and "pool2-01" not in s, "the filter kept")
    keys(name, ":", "Enter", "Enter")
    wait_screen(name, lambda s: "Cost breakdown" in s, "the host detail again")
    # A lone Escape is told from a key sequence by a pause: wait for what it does before typing on.
    keys(name, "Escape")
    wait_screen(name, lambda s: "Cost breakdown" not in s, "the hosts pane")
    keys(name, "C-p", "PageDown", "PageDown")
    wait_screen(name, lambda s: "Show Hosts pane" in s or "Quit vmdeck" in s, "the palette")
    keys(name, "Escape")
    wait_screen(name, lambda s: "vmdeck · Hosts" in s and "Quit vmdeck" not in s, "the palette closed")
    keys(name, "Escape")  # esc on the pane drops the filter
    wait_screen(name, lambda s: "pool2-01" in s, "every host")
    tmux("set-buffer", "-b", f"{name}-paste", "pool2\n\n")
    keys(name, "/")
    wait_screen(name, lambda s: "text or regex" in s, "the filter prompt")
    tmux("paste-buffer", "-p", "-b", f"{name}-paste", "-t", name)  # bracketed: the first line only
    keys(name, "Enter")
    wait_screen(name, lambda s: "pool2-01" in s and "pool1-01" not in s, "the pasted filter")
    keys(name, "Escape")  # drop the filter
    wait_screen(name, lambda s: "pool1-01" in s and "pool2-01" in s, "every host again")
    keys(name, "n", "tmux paste rs")  # n, then a reason with r (drain) and s (start) in it
    text = wait_screen(name, lambda s: "tmux paste rs" in s, "the reason in the dialog")
    assert "Start a VM" not in text
    assert "Drain" not in text.split("Set ")[0]
    keys(name, "Escape")
    wait_screen(name, lambda s: "vmdeck · Hosts" in s and "Set " not in s, "the dialog closed")
    assert "VMDECK-EXITED" not in screen(name)
    keys(name, "q")
    wait_screen(name, lambda s: "VMDECK-EXITED 0" in s, "a clean exit")
    state = Path(data).parent / "state"
    assert not list(state.glob("vmdeck/crash-*.log"))


def test_bulk_destroy_of_the_vms_a_filter_shows_in_tmux(session: tuple[str, Path]) -> None:
    """Marks and a bulk action through a real terminal: on the VMs pane filter to one host, `*`
    marks every VM shown (✓ in the first column, "N marked" in the header), k asks one reason and
    one confirmation listing them, then each runs on its own: the status line says how it ended."""
    name, data = session
    wait_screen(name, lambda s: "vmdeck · Hosts" in s and " up " in s, "the hosts")
    keys(name, "4")
    wait_screen(name, lambda s: "vmdeck · VMs" in s and "203.0.113." in s, "the VMs pane")
    keys(name, "/")
    wait_screen(name, lambda s: "text or regex" in s, "the filter prompt")
    keys(name, "-l", "pool2-01")
    keys(name, "Enter")
    wait_screen(name, lambda s: "filter /pool2-01/" in s, "the filter")
    keys(name, "*")
    text = wait_screen(name, lambda s: " marked (esc clears)" in s, "the marks")
    marked = int(text.split(" marked (esc clears)")[0].split()[-1])
    rows = [line for line in text.splitlines() if "pool2-01-vm" in line]
    assert marked == len(rows) >= 3
    assert all(line.lstrip().startswith("✓") for line in rows)  # the mark is text, not a colour
    keys(name, "k")
    wait_screen(name, lambda s: f"Destroy {marked} VMs" in s and f"{marked} VMs on 1 host" in s, "the dialog")
    wait_screen(name, lambda s: "reason (required" in s, "the reason field")
    keys(name, "-l", "tmux bulk destroy")
    keys(name, "Enter")
    wait_screen(name, lambda s: f"Confirm: destroy {marked} VMs on 1 host" in s, "the confirmation")
    keys(name, "y")
    text = wait_screen(name, lambda s: f"Destroy {marked} VMs finished:" in s, "the summary")
    keys(name, "q")
    wait_screen(name, lambda s: "VMDECK-EXITED 0" in s, "a clean exit")
    store = Store(data / "vmdeck" / "demo" / "db")
    raw = [e for e in store.audit(raw=True) if e.what == "vm.destroy"]
    intents = sorted(e.target or "" for e in raw if e.kind == "intent")
    outcomes = sorted(e.target or "" for e in raw if e.kind == "outcome" and e.result == "ok")
    assert intents == outcomes  # one intent and one outcome per VM destroyed
    assert intents
    assert all(t.startswith("pool2-01-") for t in intents)
    assert f"finished: {len(intents)} done" in text
    refused = [e for e in store.audit() if e.what == "console.refused"]
    assert len(intents) + len(refused) == marked  # the shut-off ones were refused, each audited
