"""`vmdeck validate` and `vmdeck curve` as an admin or a script runs them (the installed console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_CONFIG

VMDECK = [sys.executable, "-m", "tui.cli"]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VMDECK, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def test_validate_sample_exits_zero_with_a_summary() -> None:
    proc = run("validate", str(SAMPLE_CONFIG))
    assert proc.returncode == 0, proc.stderr
    assert "4 cost functions, 4 hardware profiles, 2 realms" in proc.stdout
    assert "OK: 0 errors" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_validate_json_shape() -> None:
    proc = run("validate", str(SAMPLE_CONFIG), "--json")
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert data["errors"] == []
    assert data["summary"] == {"cost_functions": 4, "hardware_profiles": 4, "realms": 2}
    for diag in data["warnings"]:
        assert set(diag) == {"file", "line", "path", "message"}
        assert Path(diag["file"]).is_file()
        assert diag["line"] >= 1


def test_validate_errors_exit_one_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(
        "ticrypt.vm {\n  mongodb {}\n  realms {}\n  cost-functions {}\n"
        "  hardware-profiles { p { cores: 8, memory: 32 Gib, cost-function: x } }\n}\n"
    )
    proc = run("validate", str(bad), "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    messages = {(e["line"], e["path"]): e["message"] for e in data["errors"]}
    assert "did you mean GiB?" in messages[(5, "ticrypt.vm.hardware-profiles.p.memory")]
    assert "'x' does not exist" in messages[(5, "ticrypt.vm.hardware-profiles.p.cost-function")]
    human = run("validate", str(bad))
    assert human.returncode == 1
    assert (
        f"{bad}:5: error: ticrypt.vm.hardware-profiles.p.memory:" in human.stdout
        or "bad.conf:5: error" in human.stdout
    )


@pytest.mark.parametrize("args", [("validate", "--bogus"), ("curve",)])
def test_usage_errors_exit_two(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_unreadable_config_is_invalid_input_exit_one() -> None:
    """The exit-code table: a file that cannot be read is invalid input (1), not a usage error (2)."""
    proc = run("validate", "/nonexistent/x.conf")
    assert proc.returncode == 1
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_curve_points_json() -> None:
    spec = '{ curve: "hard-soft", soft: 16 GiB, hard: 32 GiB, scale: 10 }'
    proc = run("curve", spec, "--at", "0", "16GiB", "24 GiB", "32GiB", "33GiB", "--json")
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)["points"]
    gib = 2**30
    assert points == [
        {"x": 0.0, "cost": 0.0},
        {"x": 16.0 * gib, "cost": 10.0},
        {"x": 24.0 * gib, "cost": 55.0},
        {"x": 32.0 * gib, "cost": 100.0},
        {"x": 33.0 * gib, "cost": "inf"},
    ]


def test_curve_human_table_shows_infinity() -> None:
    proc = run("curve", "{ curve: unavailable }", "--at", "0", "1")
    assert proc.returncode == 0
    assert "∞" in proc.stdout.splitlines()[-1]


def test_bad_curve_spec_gets_diagnostics_and_exit_one() -> None:
    proc = run("curve", "{ curve: hard-soft, soft: 2, hard: 1 }", "--at", "1", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    assert any("must be below hard" in e["message"] and e["line"] == 1 for e in data["errors"])


def test_bad_curve_input_is_invalid_input_like_place() -> None:
    """A bad size unit exits 1 in `curve`, as in `place` (it was 2 here and 1 there)."""
    proc = run("curve", "{ curve: invalid }", "--at", "12 parsecs")
    assert proc.returncode == 1
    assert "unknown size unit" in proc.stderr
