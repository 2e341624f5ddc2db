"""`vmdeck vms` power, snapshot, info, xml and display commands end to end (real test bed, --json),
a realm with `graphics: none`, exit codes for bad input, and the demo fleet's driver saying no."""

from __future__ import annotations

import json
import shutil
import uuid as uuidlib
from pathlib import Path

import libvirt
import pytest

from tui.cli import main
from tui.core.hosts import HostRecord
from tui.services.store import Store

from . import testbed

URIS = testbed.testbed_uris()
TAG = f"vmdeck-test-lcli-{uuidlib.uuid4().hex[:6]}"


def _others_running(uri: str, mine: str) -> int:
    """Running domains on the host that are not this test's: other tests may run guests there too."""
    conn = libvirt.open(uri)
    try:
        return sum(
            1 for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) if d.name() != mine
        )
    finally:
        conn.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.kvm
@pytest.mark.skipif(
    URIS is None, reason="no real libvirtd test bed: run `bash scripts/libvirt-testbed.sh start` as root"
)
def test_cli_power_snapshots_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URIS is not None
    (tmp_path / "r.conf").write_text(
        f'name: "lcli"\ndrives-pool: {TAG}-drives\nbricks-pool: {TAG}-bricks\nvolumes-pool: {TAG}-vm\n'
        "graphics: none\ndrives.lazy-allocation: on\ndrives.cache: none\ndrives.min-size: 64 MiB\n"
        "registration-timeout: 30 seconds\n"
    )
    conf = tmp_path / "vm.conf"
    conf.write_text(
        'ticrypt.vm {\n mongodb { uri: "mongodb://localhost:27017" }\n realms { lcli = { include "r.conf" } }\n'
        ' cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }\n'
        " hardware-profiles { p { cores: 8, memory: 32 GiB, cost-function: c } }\n}\n"
    )
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("b", URIS[1], "p", "lcli"))
    common = ["--config", str(conf), "--db", str(db), "--json"]
    guest = ["--firmware", str(testbed.HALT_ROM), "--cpu-model", "qemu64", "--cpu-disable", "svm"]
    pool_dir = Path(f"/srv/{TAG}")
    name = f"{TAG}-vm"
    try:
        code, out = _run(capsys, "pools", "create", "b", "--path", str(pool_dir), *common)
        assert code == 0, out
        code, out = _run(
            capsys, "vms", "start", name, "--vcpus", "1", "--memory", "64MiB", "--disk", "128MiB",
            "--machine", "pc", *common, *guest,
        )  # fmt: skip
        assert code == 0, out
        code, out = _run(capsys, "vms", "xml", name, *common)
        assert code == 0, out
        assert "<console type='pty'" in out["xml"]
        assert "<graphics" not in out["xml"]  # the realm says graphics: none
        code, out = _run(capsys, "vms", "display", name, *common)
        assert code == 1
        assert "graphics: none" in out["error"]

        code, out = _run(capsys, "vms", "destroy", name, *common)
        assert code == 0, out
        code, out = _run(capsys, "vms", "start", name, "--device", "gpu=1", *common)
        assert code == 1
        assert "--vcpus" in out["error"]
        before = _others_running(URIS[1], name)
        code, out = _run(capsys, "vms", "start", name, "--why", "back on", *common)
        after = _others_running(URIS[1], name)
        assert code == 0, out
        assert out["action"] == "vm.power-on"
        # slope 1 per running VM: this one plus whatever else runs on the shared host meanwhile
        assert 1.0 + min(before, after) <= out["cost"] <= 1.0 + max(before, after)
        code, out = _run(capsys, "vms", "suspend", name, *common)
        assert code == 0, out
        code, out = _run(capsys, "vms", "resume", name, *common)
        assert code == 0, out
        code, out = _run(capsys, "vms", "resume", name, *common)
        assert (code, out["result"]) == (1, "refused")

        code, out = _run(
            capsys, "vms", "snapshot", name, "create", "s1", "--kind", "internal", "--reason", "r1", *common
        )
        assert code == 0, out
        assert out["kind"] == "internal"
        code, out = _run(capsys, "vms", "snapshot", name, "list", *common)
        assert code == 0, out
        assert [s["name"] for s in out["snapshots"]] == ["s1"]
        code, out = _run(capsys, "vms", "snapshot", name, "revert", "nope", *common)
        assert (code, out["result"]) == (1, "refused")
        assert "no snapshot 'nope'" in out["message"]

        code, out = _run(capsys, "vms", "info", name, *common)
        assert code == 0, out
        assert (out["state"], out["host"], out["vcpus"]) == ("running", "b", 1)
        assert out["disks"][0]["pool"] == f"{TAG}-drives"
        assert out["disks"][0]["cache"] == "none"
        assert out["disks"][0]["capacity"] == 128 << 20
        assert out["console"] is True
        assert out["graphics"] == []
        assert [s["name"] for s in out["snapshots"]] == ["s1"]
        history = [(h["what"], h["after"].get("result")) for h in out["history"]]
        assert ("vm.power-on", "ok") in history
        assert ("vm.snapshot.revert", "refused") in history  # the bad input is audited too

        code, out = _run(capsys, "vms", "info", f"{TAG}-absent", *common)
        assert code == 1
        assert "no VM named" in out["error"]
        code, out = _run(capsys, "vms", "snapshot", f"{TAG}-absent", "delete", "s1", *common)
        assert (code, out["result"]) == (1, "refused")

        code, out = _run(capsys, "vms", "destroy", name, *common)
        assert code == 0, out
        code, out = _run(capsys, "vms", "undefine", name, "--remove-storage", *common)
        assert code == 0, out
        assert len(out["deleted_drives"]) == 1
    finally:
        testbed.remove_test_objects(URIS[1], TAG, pool_dir)
        shutil.rmtree(pool_dir, ignore_errors=True)


def test_demo_fleet_shows_the_test_drivers_own_message(tmp_path: Path) -> None:
    """The test:/// driver has no serial consoles: the attach fails with libvirt's own words."""
    from tui.services.actions import Deck, Result
    from tui.services.actions.serialconsole import attach_console
    from tui.services.config import load_config
    from tui.services.demo import prepare_demo

    paths = prepare_demo(tmp_path)
    config = load_config(paths.config).config
    assert config is not None
    deck = Deck.open(config, Store(paths.db))
    try:
        host, vm = next(
            (h, d) for h, s in sorted(deck.snapshots().items()) for d in s.domains if d.state.holds_resources
        )
        out = attach_console(deck, vm.name, host=host, in_fd=0, out_fd=1)
        assert out.result is Result.FAILED
        assert "not supported" in out.message
        assert "virDomainOpenConsole" in out.message
        entry = deck.store.audit()[-1]
        assert (entry.what, entry.after["result"]) == ("vm.console", "failed")
    finally:
        deck.close()
