"""Read-only mode on the command line (issue 10 item 1): every mutating command is refused — before
any connection is opened or the store written — with exit 1, and each refusal is audited.

The inventory holds a hung host (a TCP port that accepts and never answers): a command that connected
before refusing would leave a connection waiting in that port's backlog, which the tests look for —
no timing assertion needed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import build_parser, main
from tui.core.hosts import HostRecord
from tui.services.store import Store

from .conftest import REPO, SAMPLE_CONFIG

UUID = "0b8e4a52-7f0e-4c3b-9d64-3f6f5b8f2a11"


@pytest.fixture
def hung_port() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock


def nobody_connected(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


@pytest.fixture
def fleet(tmp_path: Path, hung_port: socket.socket) -> Path:
    """A store with two hosts that hang (so anything that connects would wait in the backlog)."""
    db = tmp_path / "db"
    store = Store(db)
    port = hung_port.getsockname()[1]
    for name in ("hung1", "hung2"):
        store.add_host(HostRecord(name, f"qemu+tcp://127.0.0.1:{port}/system", "pool1", "libvirt1"))
    return db


def _import_file(tmp_path: Path) -> str:
    path = tmp_path / "more.json"
    path.write_text(
        json.dumps(
            {"hosts": [{"name": "n9", "uri": "test:///default", "profile": "pool1", "realm": "libvirt1"}]}
        )
    )
    return str(path)


FLEET_JSON = str(REPO / "config" / "fleet.json")

# (the command, its arguments, the host the refusal is audited against)
MUTATING: list[tuple[str, list[str], str | None]] = [
    ("hosts add", ["n1", "--uri", "test:///default", "--profile", "pool1", "--realm", "libvirt1"], "n1"),
    ("hosts edit", ["hung1", "--profile", "pool2"], "hung1"),
    ("hosts remove", ["hung1"], "hung1"),
    ("hosts import", ["@IMPORT@"], None),
    ("hosts state", ["hung1", "disabled", "--reason", "maintenance"], "hung1"),
    ("hosts drain", ["hung1", "--reason", "maintenance"], "hung1"),
    ("vms start", ["web1", "--vcpus", "1", "--memory", "64MiB", "--host", "hung1"], "hung1"),
    ("vms stop", ["web1"], None),
    ("vms destroy", ["web1", "--host", "hung2"], "hung2"),
    ("vms undefine", ["web1"], None),
    ("vms migrate", ["web1", "--to", "hung2"], None),
    ("vms scale", ["web1", "--memory", "300MiB"], None),
    ("pools create", ["hung1"], "hung1"),
    ("reconcile", ["--adopt", UUID], None),
    ("lab response", ["--fleet", FLEET_JSON, "--vcpus", "2", "--memory", "4GiB", "--save", "s1"], None),
    ("lab scenario delete", ["s1"], None),
]


def _argv(argv: list[str], tmp_path: Path) -> list[str]:
    return [_import_file(tmp_path) if a == "@IMPORT@" else a for a in argv]


def _files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.iterdir() if p.is_file() and p.name != "audit.jsonl"}


@pytest.mark.parametrize("placement", ["global", "subcommand"])
@pytest.mark.parametrize(("command", "argv", "host"), MUTATING, ids=[c for c, _, _ in MUTATING])
def test_read_only_refuses_before_connecting_and_audits(
    command: str,
    argv: list[str],
    host: str | None,
    placement: str,
    fleet: Path,
    tmp_path: Path,
    hung_port: socket.socket,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before_files = _files(fleet)
    before_audit = len(Store(fleet).audit())
    args = [*command.split(), *_argv(argv, tmp_path)]
    store_flag = "--store" if command.startswith("lab") else "--db"  # lab takes --fleet or --db, and --store
    common = ["--config", str(SAMPLE_CONFIG), store_flag, str(fleet)]
    if placement == "global":
        code = main(["--read-only", "--json", *args, *common])
    else:
        code = main([*args, *common, "--read-only", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    assert (out["ok"], out["result"]) == (False, "refused")
    assert "read-only mode" in out["error"]
    assert "read-only mode" in captured.err  # the one-line message on stderr as well as the JSON
    assert nobody_connected(hung_port), "the command connected to a host before refusing"
    assert _files(fleet) == before_files  # hosts, VMs and scenarios untouched
    entries = Store(fleet).audit()
    assert len(entries) == before_audit + 1
    entry = entries[-1]
    assert entry.what == "cli.refused"
    assert entry.host == host
    assert entry.after["result"] == "refused"
    assert entry.after["action"] == f"vmdeck {command}"


def test_old_why_spelling_is_the_audited_reason(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--read-only", "vms", "stop", "web1", "--why", "old script", "--db", str(fleet)])
    assert code == 1
    assert Store(fleet).audit()[-1].reason == "old script"


def test_read_only_lets_reading_commands_run(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--config", str(SAMPLE_CONFIG), "--db", str(fleet), "--json"]
    assert main(["--read-only", "hosts", "list", *common]) == 0
    assert [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]] == ["hung1", "hung2"]
    # A what-if computed from a fleet file changes nothing; only --save would write the store.
    code = main(["--read-only", "lab", "response", "--fleet", FLEET_JSON, "--vcpus", "2", "--memory", "4GiB"])
    assert code == 0, capsys.readouterr().err
    # Writing a local file the admin names (-o) is output, not a change to the fleet: allowed.
    target = fleet.parent / "w.jsonl"
    assert main(["--read-only", "workload", "generate", "-o", str(target), "--vms", "5"]) == 0
    assert target.is_file()


def _subcommands(parser, path=()):  # type: ignore[no-untyped-def]
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, (*path, name))
            return
    yield path, parser


def test_every_command_with_a_reason_is_declared_mutating() -> None:
    """A command that asks for an audit reason changes something: it must go through `mutating`
    (a new command that forgot it would escape read-only mode)."""
    for path, parser in _subcommands(build_parser()):
        dests = {a.dest for a in parser._actions}
        if "reason" in dests:
            assert parser.get_default("mutates") is not None, " ".join(path)
    mutating = {" ".join(p) for p, sub in _subcommands(build_parser()) if sub.get_default("mutates")}
    assert {c for c, _, _ in MUTATING} <= mutating
