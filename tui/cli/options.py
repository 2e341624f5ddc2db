"""The options every subcommand shares, spelled once, and the declaration that a command changes things.

Shared options (--config, --db, --json, --read-only) exist on the root parser and on each subcommand, so
`vmdeck --read-only hosts state …` and `vmdeck hosts state … --read-only` mean the same. A subcommand's
copy defaults to `argparse.SUPPRESS`: argparse copies a subparser's defaults over the root's values,
and a suppressed default is simply absent, so the root's value (or its default) stays.

A command that changes the fleet or the store calls `mutating(parser)`; the dispatcher (tui/cli/__init__.py)
refuses it in read-only mode before the handler runs — before any connection or store write — and
audits the refusal. One mechanism, not a check per command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tui.services.config.paths import SAMPLE_CONFIG, default_config_path

# What a read-only refusal needs to know about a command: does it change something with these args?
MutatesWhen = Callable[[argparse.Namespace], bool]


def _always(_args: argparse.Namespace) -> bool:
    return True


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="ticrypt-vm.conf (default: $VMDECK_CONFIG, then /etc/ticrypt/ticrypt-vm.conf)",
    )


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="DIR|URL",
        default=argparse.SUPPRESS,
        help="the store: a directory or a postgresql:// URL (default: $VMDECK_DB, $XDG_DATA_HOME/vmdeck)",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="machine-readable output on stdout (messages still on stderr)",
    )


def add_common(parser: argparse.ArgumentParser) -> None:
    """--config, --db and --json: what nearly every subcommand takes."""
    add_config(parser)
    add_store(parser)
    add_json(parser)


def add_open_timeout(parser: argparse.ArgumentParser, default: float | None = 10.0) -> None:
    """--open-timeout SECONDS: the bound on opening each host's connection (every command that connects)."""
    shown = f"default {default:g}" if default is not None else "default: --timeout"
    parser.add_argument(
        "--open-timeout",
        type=float,
        default=default,
        metavar="SECONDS",
        help=f"bound on connecting to each host ({shown})",
    )


def add_timeout(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    """--timeout SECONDS: the bound on the command's own wait (a poll, a guest shutdown)."""
    parser.add_argument(
        "--timeout", type=float, default=default, metavar="SECONDS", help=f"{what} (default {default:g})"
    )


def mutating(
    parser: argparse.ArgumentParser,
    *,
    when: MutatesWhen = _always,
    host: str | None = None,
    target: str | None = None,
    reason_required: bool = False,
    reason_help: str = "why (kept in the audit log)",
) -> None:
    """Declare that this subcommand changes the fleet or the store (when `when(args)` says so).

    Adds --read-only (refuse it) and --reason TEXT (the audit reason; `--why` is a hidden alias kept
    for old scripts). `host` and `target` name the arguments that hold the host and the object
    (VM, pool…) the refusal is audited against.
    """
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="refuse this change (exit 1, audited) instead of making it",
    )
    parser.add_argument("--reason", metavar="TEXT", required=reason_required, default=None, help=reason_help)
    parser.add_argument("--why", dest="reason", metavar="TEXT", help=argparse.SUPPRESS)
    parser.set_defaults(
        mutates=when,
        mutation_host=host,
        mutation_target=target,
        mutation_command=parser.prog.removeprefix("vmdeck "),
    )


def config_path(args: argparse.Namespace, attr: str = "config") -> Path:
    """The config a command reads: --config, else $VMDECK_CONFIG, /etc/ticrypt/ticrypt-vm.conf, and
    only then the bundled sample — which is said on stderr, so a real fleet is never checked against
    the sample's profiles unnoticed."""
    given = getattr(args, attr, None)
    if given:
        return Path(given)
    path = default_config_path()
    if path == SAMPLE_CONFIG:
        sys.stderr.write(
            f"vmdeck: note: no --config, $VMDECK_CONFIG or /etc/ticrypt/ticrypt-vm.conf: "
            f"using the bundled sample config {path}\n"
        )
    return path
