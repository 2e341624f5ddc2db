"""`vmdeck SUBCOMMAND` builds only the parser of the module that registers SUBCOMMAND (tui.cli.COMMANDS):
the table must say what the modules really register, the probe must find the subcommand as the full
parser does, and the lazy parser must read a command line exactly as the full one."""

from __future__ import annotations

import argparse
import importlib

import pytest

import tui.cli
from tui.cli import COMMAND_MODULES, COMMANDS, build_parser, chosen_command


def test_the_table_names_every_subcommand_of_every_module_but_the_whole_parser_ones() -> None:
    registered: dict[str, str] = {}
    for name in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers(dest="command")
        importlib.import_module(name).register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    # completion and manpage are generated from the whole parser: they must get every module.
    assert {k: v for k, v in registered.items() if k not in ("completion", "manpage")} == COMMANDS
    assert registered["completion"] == registered["manpage"] == "tui.cli.shell"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["simulate", "--workload", "w.jsonl"], "simulate"),
        (["--config", "simulate", "place", "--vcpus", "1"], "place"),  # an option's value is no command
        (["--config=c.conf", "--json", "headroom"], "headroom"),
        (["--conf", "simulate", "place"], "place"),  # abbreviations are read as argparse reads them
        (["--read-only", "hosts", "drain", "n1"], "hosts"),
        (["--db"], None),  # unreadable: the full parser says why
        (["--help"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_probe_finds_the_subcommand_as_the_full_parser_does(
    argv: list[str], expected: str | None
) -> None:
    assert chosen_command(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--config", "c.conf", "--fleet", "f.json", "--workload", "w.jsonl", "--json"],
        ["--read-only", "place", "--fleet", "f.json", "--vcpus", "2", "--memory", "4GiB", "--device", "g=1"],
        ["workload", "generate", "-o", "w.jsonl", "--vms", "10"],
        ["hosts", "drain", "n1", "--reason", "r", "--dry-run"],
    ],
)
def test_the_lazy_parser_reads_a_line_as_the_full_parser(argv: list[str]) -> None:
    command = chosen_command(argv)
    assert command in COMMANDS
    lazy = vars(build_parser(command).parse_args(argv))
    full = vars(build_parser().parse_args(argv))
    assert lazy.pop("root_parser") is not full.pop("root_parser")
    assert _comparable(lazy) == _comparable(full)


def _comparable(values: dict[str, object]) -> dict[str, object]:
    """Handlers and checks compared by what they are (each registration makes new closures)."""
    return {k: v.__qualname__ if callable(v) else v for k, v in values.items()}


def test_completion_and_unknown_commands_get_the_whole_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert tui.cli.main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert all(name in script for name in COMMANDS)
    with pytest.raises(SystemExit) as exit_info:
        tui.cli.main(["simulat"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
