"""`vmdeck vms`, `vmdeck pools` and `vmdeck hosts drain` end to end on the real test bed, with --json."""

from __future__ import annotations

import json
import shutil
import uuid as uuidlib
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.hosts import HostRecord
from tui.services.store import Store

from . import testbed

pytestmark = pytest.mark.kvm
URIS = testbed.testbed_uris()
TAG = f"vmdeck-test-cli-{uuidlib.uuid4().hex[:6]}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.skipif(
    URIS is None, reason="no real libvirtd test bed: run `bash scripts/libvirt-testbed.sh start` as root"
)
def test_cli_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URIS is not None
    (tmp_path / "r.conf").write_text(
        f'name: "cli"\ndrives-pool: {TAG}-drives\nbricks-pool: {TAG}-bricks\nvolumes-pool: {TAG}-vm\n'
        f"drives.lazy-allocation: on\ndrives.cache: none\ndrives.min-size: 64 MiB\nregistration-timeout: 30 seconds\n"
    )
    conf = tmp_path / "vm.conf"
    conf.write_text(
        'ticrypt.vm {\n mongodb { uri: "mongodb://localhost:27017" }\n realms { cli = { include "r.conf" } }\n'
        ' cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }\n'
        " hardware-profiles { p { cores: 8, memory: 32 GiB, cost-function: c } }\n}\n"
    )
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("b", URIS[1], "p", "cli"))
    common = ["--config", str(conf), "--db", str(db), "--json"]
    guest = [
        "--firmware",
        str(testbed.HALT_ROM),
        "--cpu-model",
        "qemu64",
        "--cpu-disable",
        "svm",
        "--machine",
        "pc",
    ]
    pool_dir = Path(f"/srv/{TAG}")
    name = f"{TAG}-vm"
    try:
        code, out = _run(capsys, "pools", "check", "b", *common)
        assert code == 1
        assert out.get("result") == "failed", out
        code, out = _run(capsys, "pools", "create", "b", "--path", str(pool_dir), *common)
        assert code == 0, out
        code, out = _run(
            capsys, "vms", "start", name, "--vcpus", "1", "--memory", "64MiB", "--read-only", *common, *guest
        )
        assert (code, out["result"]) == (1, "refused")
        # The cost function counts every running VM on b (1 a VM): other admins' count too.
        running = len(testbed.foreign_domains(URIS[1], TAG, running_only=True))
        code, out = _run(
            capsys,
            "vms",
            "start",
            name,
            "--vcpus",
            "1",
            "--memory",
            "64MiB",
            "--disk",
            "128MiB",
            *common,
            *guest,
        )
        assert code == 0, out
        assert (out["host"], out["cost"]) == ("b", running + 1.0)
        code, out = _run(capsys, "vms", "list", *common)
        assert [(v["name"], v["state"], v["managed"]) for v in out["vms"] if v["name"] == name] == [
            (name, "running", True)
        ]
        code, out = _run(capsys, "hosts", "drain", "b", "--reason", "test", "--dry-run", *common)
        assert code == 0, out
        assert out["plan"]["unmovable"][0]["reason"].startswith("no feasible host")  # b is the only host
        code, out = _run(capsys, "vms", "destroy", name, *common)
        assert code == 0, out
        code, out = _run(capsys, "vms", "undefine", name, "--delete-drives", *common)
        assert code == 0, out
        assert len(out["deleted_drives"]) == 1
        whats = [e.what for e in Store(db).audit()]
        assert whats.count("vm.start") == 1  # the read-only refusal wrote nothing
        assert "vm.undefine" in whats
    finally:
        testbed.remove_test_objects(URIS[1], TAG, pool_dir)
        shutil.rmtree(pool_dir, ignore_errors=True)
