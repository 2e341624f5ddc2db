"""The command line speaks like virsh and the OpenStack client (issue 11 item 5, issue 12): shared
options in one place and one spelling, --config defaulted the same way everywhere, --version,
--debug/--log, exit 3 for partly done, completion and a man page generated from the parser."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui import __version__
from tui.cli import build_parser, main
from tui.core.hosts import HostRecord
from tui.services.libvirt.testdriver import fake_fleet
from tui.services.store import Store

from .conftest import REPO, SAMPLE_CONFIG

FLEET_JSON = REPO / "config" / "fleet.json"


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("VMDECK_CONFIG", raising=False)
    yield
    for handler in list(logging.getLogger("vmdeck").handlers):
        if handler.get_name() == "vmdeck-cli":
            logging.getLogger("vmdeck").removeHandler(handler)
            handler.close()


@pytest.fixture
def hung_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"vmdeck {__version__}"


@pytest.mark.parametrize("command", ["place", "headroom"])
def test_place_and_headroom_default_the_config_like_every_command(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config was required by place/headroom/simulate and defaulted elsewhere."""
    monkeypatch.setenv("VMDECK_CONFIG", str(SAMPLE_CONFIG))
    code = main([command, "--fleet", str(FLEET_JSON), "--vcpus", "2", "--memory", "4GiB", "--json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)


def test_simulate_defaults_the_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VMDECK_CONFIG", str(SAMPLE_CONFIG))
    workload = REPO / "config" / "workload.jsonl"
    assert main(["simulate", "--fleet", str(FLEET_JSON), "--workload", str(workload), "--json"]) == 0


def test_global_options_before_the_subcommand_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vmdeck --config X --db D --json place …` once lost --config to the subcommand's default."""
    code = main(
        ["--config", str(SAMPLE_CONFIG), "--json", "place", "--fleet", str(FLEET_JSON)]
        + ["--vcpus", "2", "--memory", "4GiB"]
    )
    assert code == 0, capsys.readouterr().err
    assert "placed" in json.loads(capsys.readouterr().out)
    db = tmp_path / "db"
    Store(db).add_host(HostRecord("n1", "test:///default", "pool1", "libvirt1"))
    assert main(["--db", str(db), "--json", "hosts", "list"]) == 0
    assert [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]] == ["n1"]


def test_sample_config_fallback_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if Path("/etc/ticrypt/ticrypt-vm.conf").exists():
        pytest.skip("this machine has /etc/ticrypt/ticrypt-vm.conf, so the sample is never the default")
    code = main(["place", "--fleet", str(FLEET_JSON), "--vcpus", "2", "--memory", "4GiB"])
    assert code == 0
    assert "using the bundled sample config" in capsys.readouterr().err


def test_one_reason_and_timeout_vocabulary() -> None:
    """--reason on every mutating command (the old --why hidden), --timeout/--open-timeout alike."""
    parser = build_parser()
    for argv in (
        ["vms", "stop", "w"],
        ["vms", "migrate", "w"],
        ["pools", "create", "h"],
        ["hosts", "state", "h", "enabled"],
        ["hosts", "remove", "h"],
        ["reconcile"],
    ):
        args = parser.parse_args([*argv, "--reason", "why not"])
        assert args.reason == "why not", argv
        assert parser.parse_args([*argv, "--why", "old"]).reason == "old", argv
    stop_help = next(sub for path, sub in _subparsers(parser) if path == ("vms", "stop")).format_help()
    assert "--reason TEXT" in stop_help
    assert "--why" not in stop_help  # the old spelling works, hidden
    for argv in (["vms", "list"], ["vms", "stop", "w"], ["poll"], ["fleet", "export"], ["reconcile"]):
        args = parser.parse_args([*argv, "--open-timeout", "3"])
        assert args.open_timeout == 3.0, argv
    assert parser.parse_args(["vms", "stop", "w", "--timeout", "5"]).timeout == 5.0
    assert parser.parse_args(["poll", "--timeout", "5"]).timeout == 5.0


def _subparsers(parser, path=()):  # type: ignore[no-untyped-def]
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subparsers(sub, (*path, name))


def test_poll_once_exits_3_naming_the_unreachable_hosts(
    tmp_path: Path, hung_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db"
    store = Store(db)
    healthy = fake_fleet(tmp_path / "nodes", 2, 1)
    for h in healthy:
        store.add_host(h)
    store.add_host(HostRecord("hung", f"qemu+tcp://127.0.0.1:{hung_port}/system", "pool1", "libvirt1"))
    common = ["--config", str(SAMPLE_CONFIG), "--db", str(db), "--timeout", "1"]
    code = main(["poll", "--once", "--json", *common])
    captured = capsys.readouterr()
    assert code == 3
    status = {h["host"]: h["status"] for h in json.loads(captured.out)["hosts"]}
    assert status == {healthy[0].name: "connected", healthy[1].name: "connected", "hung": "unreachable"}
    assert "partly done" in captured.err
    assert "hung" in captured.err
    assert healthy[0].name not in captured.err
    # Only the healthy hosts: done.
    assert main(["poll", "--once", "--host", healthy[0].name, *common]) == 0


def test_console_refuses_db_without_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if Path("/etc/ticrypt/ticrypt-vm.conf").exists():
        pytest.skip("this machine has /etc/ticrypt/ticrypt-vm.conf: the console would use it")
    import tui.console.launch

    opened: list[tuple[object, ...]] = []
    # Only the console's opening is replaced: what is under test is the command line deciding.
    monkeypatch.setattr(tui.console.launch, "run_console", lambda *a: opened.append(a) or 0)
    db = str(tmp_path / "db")
    assert main(["--db", db]) == 1
    err = capsys.readouterr().err
    assert "--config" in err
    assert "--sample-config" in err
    assert opened == []
    assert main(["--db", db, "--sample-config"]) == 0
    assert main(["--db", db, "--config", str(SAMPLE_CONFIG), "--read-only"]) == 0
    assert opened[0][1:] == (db, False)
    assert opened[1] == (str(SAMPLE_CONFIG), db, True)


def test_debug_log_file_holds_vmdeck_and_libvirt_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db"
    # Port 1 on loopback refuses at once: libvirt reports an error, which used to be silenced.
    Store(db).add_host(HostRecord("refusing", "qemu+tcp://127.0.0.1:1/system", "pool1", "libvirt1"))
    log = tmp_path / "vmdeck.log"
    argv = ["--debug", "--log", str(log), "poll", "--once", "--config", str(SAMPLE_CONFIG), "--db", str(db)]
    assert main([*argv, "--timeout", "2"]) == 3
    text = log.read_text()
    assert "vmdeck.cli" in text
    assert "poll --once" in text
    assert "vmdeck.poll" in text  # vmdeck's own events: each host's poll result
    assert "vmdeck.libvirt" in text
    assert "127.0.0.1" in text


def test_console_debug_needs_a_log_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--debug"])
    assert "--log FILE" in str(exit_info.value.code)


def test_hosts_drain_is_registered_by_the_hosts_command() -> None:
    """Not through argparse internals after the fact: `hosts` owns its `drain` whatever the order."""
    import tui.cli

    order = tuple(reversed(tui.cli.COMMAND_MODULES))
    original = tui.cli.COMMAND_MODULES
    try:
        tui.cli.COMMAND_MODULES = order
        args = tui.cli.build_parser().parse_args(["hosts", "drain", "n1", "--reason", "r", "--dry-run"])
    finally:
        tui.cli.COMMAND_MODULES = original
    assert (args.name, args.reason, args.dry_run) == ("n1", "r", True)
    source = (REPO / "tui/cli/vms.py").read_text()
    assert "._actions" not in source
    assert "_SubParsersAction" not in source


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_is_generated_from_the_parser(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("hosts", "drain", "migrate", "--read-only", "--open-timeout", "lab"):
        assert word in script, word
    if shell == "bash" and shutil.which("bash"):
        # The script must at least be valid bash.
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_manpage_is_generated_from_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manpage"]) == 0
    page = capsys.readouterr().out
    assert page.startswith(".TH VMDECK")
    for word in ("hosts", "drain", "reconcile", "read\\-only", "EXIT STATUS", "VMDECK_CONFIG"):
        assert word in page, word
    if shutil.which("man"):
        shown = subprocess.run(
            ["man", "-l", "-"],
            input=page,
            text=True,
            capture_output=True,
            env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"},
        )
        assert shown.returncode == 0, shown.stderr


def test_version_and_help_in_a_fresh_process() -> None:
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "--version"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"vmdeck {__version__}")


def test_lab_drain_preview_on_the_live_fleet_keeps_its_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lab drain-preview HOST --db DIR` polled the store with HOST overwritten by None."""
    db = tmp_path / "db"
    store = Store(db)
    hosts = fake_fleet(tmp_path / "nodes", 3, 2)
    for h in hosts:
        store.add_host(h)
    code = main(
        ["lab", "drain-preview", hosts[0].name, "--db", str(db), "--config", str(SAMPLE_CONFIG), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    plan = json.loads(captured.out)
    assert {m["from"] for m in plan["moves"]} | {s["host"] for s in plan["unmovable"]} == {hosts[0].name}
