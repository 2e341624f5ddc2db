"""What the command line prints (issue 10 item 4, issue 11 item 5): text from outside escaped in
every human output, JSON exact, the one-line message on stderr with --json too, sizes as sizes, and
the text audit showing an action's real result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main
from tui.cli.output import fail, table
from tui.core.hosts import HostRecord
from tui.services.store import Store

from .conftest import SAMPLE_CONFIG

CLEAR_SCREEN = "\x1b[2J"
BIDI = "\u202e"


def test_table_escapes_controls_and_bidi_in_every_cell() -> None:
    text = table(["NAME", "REASON"], [["web\x1b]52;c;aGk=\x07", f"ok{BIDI}txt.exe"]])
    assert "\x1b" not in text
    assert "\x07" not in text
    assert BIDI not in text
    assert "\\x1b]52;c;aGk=\\x07" in text
    assert "\\u202e" in text


def test_fail_escapes_the_message_and_writes_stderr_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert fail(f"no host named 'x{CLEAR_SCREEN}'", True) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == f"no host named 'x{CLEAR_SCREEN}'"  # JSON: exact
    assert captured.err == "vmdeck: no host named 'x\\x1b[2J'\n"  # people: escaped


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("n1", "test:///default", "pool1", "libvirt1"))
    return db


def test_audit_text_escapes_a_hostile_reason(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reason = f"{CLEAR_SCREEN}all good{BIDI}"
    common = ["--config", str(SAMPLE_CONFIG), "--db", str(db)]
    assert main(["hosts", "state", "n1", "disabled", "--reason", reason, *common]) == 0
    capsys.readouterr()
    assert main(["audit", *common]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert BIDI not in out
    assert "\\x1b[2Jall good\\u202e" in out
    assert main(["audit", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][-1]["reason"] == reason


def test_audit_text_shows_an_actions_real_result(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(db)
    store.record_action(
        "vm.migrate",
        "n1",
        {"result": "failed", "target": "web1", "message": "libvirt: migration failed: no route"},
        None,
    )
    assert main(["audit", "--db", str(db)]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert "vm.migrate" in row
    assert "failed web1: libvirt: migration failed: no route" in row
    assert "created" not in row


def test_json_error_is_on_stdout_and_stderr(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hosts", "remove", "nobody", "--db", str(db), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["ok"] is False
    assert captured.err.startswith("vmdeck: ")
    assert "nobody" in captured.err
    assert len(captured.err.splitlines()) == 1


def test_curve_prints_sizes_as_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "{ curve: hard-soft, soft: 16GiB, hard: 32GiB }"
    assert main(["curve", spec, "--at", "8GiB", "1.5 TiB", "3"]) == 0
    out = capsys.readouterr().out
    assert "8.58993e+09" not in out
    xs = [line.split("  ")[0].strip() for line in out.splitlines()[2:]]
    assert xs == ["8 GiB", "1.5 TiB", "3"]


def test_bad_size_unit_is_the_same_exit_code_in_curve_and_place(capsys: pytest.CaptureFixture[str]) -> None:
    curve = main(["curve", "{ curve: unavailable }", "--at", "8 GiBB"])
    place = main(
        ["place", "--config", str(SAMPLE_CONFIG), "--fleet", str(SAMPLE_CONFIG.parent / "fleet.json")]
        + ["--vcpus", "2", "--memory", "8 GiBB"]
    )
    assert curve == place == 1
    assert capsys.readouterr().err.count("unknown size unit") == 2


def test_json_refusals_say_so_on_stderr_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --json a person watching a script still sees why it stopped (it was stdout only)."""
    bad = tmp_path / "bad.conf"
    bad.write_text("ticrypt { vm { hardware-profiles { p { memory: 32 Gib } } } }\n")
    assert main(["validate", str(bad), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False
    assert "invalid config" in captured.err
    fleet = SAMPLE_CONFIG.parent / "fleet.json"
    with pytest.raises(SystemExit) as usage:  # --memory missing: a usage error, exit 2
        main(["place", "--config", str(SAMPLE_CONFIG), "--fleet", str(fleet), "--vcpus", "100000"])
    assert usage.value.code == 2
    capsys.readouterr()
    code = main(
        [
            "place",
            "--config",
            str(SAMPLE_CONFIG),
            "--fleet",
            str(fleet),
            "--vcpus",
            "100000",
            "--memory",
            "1GiB",
        ]
        + ["--json"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["placed"] is False
    assert "no feasible host" in captured.err


def test_an_unusable_store_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(["hosts", "list", "--db", str(not_a_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vmdeck: ")
    assert "Traceback" not in err
