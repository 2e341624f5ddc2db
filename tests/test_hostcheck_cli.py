"""`vmdeck hosts check` against libvirt's test driver (no daemon needed): the report's shape, the
exit codes, usage errors, and a store directory where the cache cannot be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.hosts import HostRecord
from tui.services.hostcheck import CACHE_FILE, CheckCache
from tui.services.store import Store

CONF = """ticrypt.vm {
 mongodb { uri: "mongodb://localhost:27017" }
 realms { r = { name: "r" } }
 cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }
 hardware-profiles { small { cores: 1, memory: 1 GiB, cost-function: c }, huge { cores: 4096, memory: 64 TiB, cost-function: c } }
}
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    (tmp_path / "vm.conf").write_text(CONF)
    Store(tmp_path / "db").add_hosts(
        [HostRecord("t", "test:///default", "small", "r"), HostRecord("h", "test:///default", "huge", "r")]
    )
    return tmp_path


def _check(fleet: Path, *argv: str) -> list[str]:
    return ["hosts", "check", *argv, "--config", str(fleet / "vm.conf"), "--db", str(fleet / "db")]


def test_report_shape_and_exit_code(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_check(fleet, "h", "--json", "--read-only"))
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    (report,) = out["hosts"]
    verdicts = {i["check"]: i["verdict"] for i in report["items"]}
    assert verdicts["cores"] == "fail"  # 4096 cores promised; the test driver's node has far fewer
    assert {"kvm", "iommu", "cores", "memory", "pool", "versions", "shared-storage", "migration"} <= set(
        verdicts
    )
    assert all(
        set(i) == {"check", "subject", "verdict", "detail", "fix", "device_type"} for i in report["items"]
    )
    assert CheckCache(fleet / "db").get("h") is not None
    main(_check(fleet, "h", "--read-only"))
    text = capsys.readouterr().out
    assert text.startswith("host h: FAIL — ")
    assert "FAIL  cores" in text
    assert "fix: lower `cores` of profile 'huge'" in text


def test_usage_errors(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_check(fleet)) == 2
    assert main(_check(fleet, "t", "--all")) == 2
    assert main(_check(fleet, "t", "--parallel", "0")) == 2
    assert "--parallel must be at least 1" in capsys.readouterr().err


def test_an_unwritable_cache_is_a_warning_not_a_traceback(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (fleet / "db" / CACHE_FILE).mkdir()  # the cache path is taken by a directory
    code = main(_check(fleet, "h", "--json", "--read-only"))
    captured = capsys.readouterr()
    assert code == 1  # the checks' own verdict
    assert json.loads(captured.out)["hosts"][0]["host"] == "h"
    assert "warning: the results are not kept for the console" in captured.err


def test_hosts_check_is_registered_by_the_hosts_command_whatever_the_order() -> None:
    import tui.cli

    original = tui.cli.COMMAND_MODULES
    try:
        tui.cli.COMMAND_MODULES = tuple(reversed(original))
        args = tui.cli.build_parser().parse_args(["hosts", "check", "n1", "n2", "--read-only"])
    finally:
        tui.cli.COMMAND_MODULES = original
    assert (args.names, args.read_only, args.all) == (["n1", "n2"], True, False)
    assert getattr(args, "mutates", None) is None  # read-only skips the writing checks, it does not refuse
