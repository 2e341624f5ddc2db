"""The `vmdeck` command: with no subcommand it opens the console; otherwise it runs headless.

This package's `__init__` is the dispatcher; its modules are the subcommands, one per topic, each
exposing `register(subparsers)` (COMMAND_MODULES lists them).

Every capability of the console is also a subcommand with JSON output, so it can be scripted,
tested and benchmarked. Exit codes (every command): 0 success, 1 refused / invalid input / failed,
2 usage error, 3 partly done (some hosts unreachable), 130 interrupted.
"""

from __future__ import annotations

import os

# One OpenBLAS thread, unless the caller chose otherwise; set before anything imports numpy. numpy
# loads OpenBLAS, which starts a thread per core with its own buffers at import: 55 ms of CPU on
# this 2-core machine (146 -> 91 ms for `import numpy`), a twentieth of a 100,000-event `simulate`.
# Nothing of vmdeck calls BLAS (no dot, matmul or linalg: the scheduler's arrays are element-wise
# and argmin, which numpy runs itself), so the thread count changes no result.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from tui import __version__
from tui.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, fail, warn
from tui.services.config.paths import SAMPLE_CONFIG, default_config_path

log = logging.getLogger("vmdeck.cli")
LOG_HANDLER = "vmdeck-cli"  # the handler --debug/--log installs on the "vmdeck" logger

# Each module registers its own subcommands; add a module here in the commit that creates it.
COMMAND_MODULES: tuple[str, ...] = (
    "tui.cli.config",
    "tui.cli.scheduling",
    "tui.cli.hosts",  # it registers hosts drain (tui.cli.drain) and hosts check (tui.cli.hostcheck)
    "tui.cli.fleet",
    "tui.cli.vms",
    "tui.cli.pools",
    "tui.cli.lab",
    "tui.cli.shell",
    "tui.cli.store",
)
# The subcommands each module registers, so that a command line naming one builds only its module's
# parser: importing and registering the others costs ~0.1 s of CPU, a tenth of a 100,000-event
# `simulate`. `completion` and `manpage` describe the whole parser and are absent: they, a line
# naming no subcommand (the console, --help) and anything unknown get every module. A test holds
# this table to what the modules register.
COMMANDS: dict[str, str] = {
    "validate": "tui.cli.config",
    "curve": "tui.cli.config",
    "place": "tui.cli.scheduling",
    "headroom": "tui.cli.scheduling",
    "simulate": "tui.cli.scheduling",
    "workload": "tui.cli.scheduling",
    "hosts": "tui.cli.hosts",
    "audit": "tui.cli.hosts",
    "poll": "tui.cli.fleet",
    "fleet": "tui.cli.fleet",
    "reconcile": "tui.cli.fleet",
    "vms": "tui.cli.vms",
    "pools": "tui.cli.pools",
    "lab": "tui.cli.lab",
    "store": "tui.cli.store",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"vmdeck: {message}\n")


class _ProbeError(Exception):
    """The probe could not read the command line: the full parser reads it and says why."""


class _Probe(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ProbeError(message)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand a command line names, read by a parser of the shared options alone (so option
    values, `--opt=value` and abbreviations are read as the full parser reads them); None when it
    names none or cannot be read."""
    probe = _Probe(prog="vmdeck", add_help=False)
    _shared_options(probe, version=False)
    probe.add_argument("command", nargs="?")
    try:
        known, _ = probe.parse_known_args(list(argv))
    except _ProbeError:
        return None
    command = known.command
    return command if isinstance(command, str) else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `vmdeck` parser; with a `command` of COMMANDS, only the module registering it is imported
    and registered (the others' subcommands are then unknown to it)."""
    parser = _Parser(
        prog="vmdeck",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Exit status (every command): 0 success; 1 refused, invalid input or failed; 2 usage error; "
        "3 partly done (some hosts unreachable); 130 interrupted. Shared options may come before or after "
        "the subcommand.",
    )
    _shared_options(parser, version=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    only = COMMANDS.get(command) if command is not None else None
    for name in (only,) if only is not None else COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    # `vmdeck completion` and `vmdeck manpage` are generated from this very parser.
    parser.set_defaults(root_parser=parser)
    return parser


def _shared_options(parser: argparse.ArgumentParser, version: bool) -> None:
    if version:
        parser.add_argument("--version", action="version", version=f"vmdeck {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="ticrypt-vm.conf (default: $VMDECK_CONFIG, /etc/ticrypt/ticrypt-vm.conf)",
    )
    parser.add_argument(
        "--db", metavar="DIR|URL", help="the store of a real fleet: a directory or a postgresql:// URL"
    )
    parser.add_argument(
        "--sample-config",
        action="store_true",
        help="console: use the bundled sample config with --db (otherwise --db needs a config)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="refuse every change (console and subcommands alike)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output (subcommands)")
    parser.add_argument(
        "--debug", action="store_true", help="log vmdeck's and libvirt's events at debug level"
    )
    parser.add_argument(
        "--log", metavar="FILE", help="write the log to FILE (stderr by default with --debug)"
    )


def setup_logging(debug: bool, log_file: str | None, console: bool) -> None:
    """Route vmdeck's loggers (and libvirt's errors, which tui.services.libvirt.runtime logs) to
    --log FILE or, with --debug on a headless command, stderr. Without either nothing is logged."""
    if not debug and not log_file:
        return
    handler: logging.Handler
    if log_file:
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise SystemExit(f"vmdeck: --log {log_file}: cannot write: {exc.strerror or exc}") from None
    elif console:
        # The console owns the terminal: log lines on stderr would garble it.
        raise SystemExit("vmdeck: with the console, --debug needs --log FILE (the terminal is the console's)")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("vmdeck")
    for old in [h for h in root.handlers if h.get_name() == LOG_HANDLER]:
        root.removeHandler(old)  # main() called again in one process (tests): one handler, the last
        old.close()
    handler.set_name(LOG_HANDLER)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def refuse_read_only(args: argparse.Namespace) -> int | None:
    """The one read-only check of the command line: a command declared `mutating` is refused here,
    before its handler opens a connection or writes the store; the refusal itself is audited."""
    mutates = getattr(args, "mutates", None)
    if not args.read_only or mutates is None or not mutates(args):
        return None
    command = args.mutation_command
    host = getattr(args, args.mutation_host, None) if args.mutation_host else None
    target = getattr(args, args.mutation_target, None) if args.mutation_target else None
    message = f"read-only mode: `vmdeck {command}` would change the fleet; refused, nothing was changed"
    after = {"result": "refused", "action": f"vmdeck {command}", "message": message}
    if target is not None:
        after["target"] = str(target)
    log.info("refused in read-only mode: vmdeck %s (host %s, target %s)", command, host, target)
    _audit_refusal(args, host, after)
    return fail(message, args.json, result="refused", command=f"vmdeck {command}")


def _audit_refusal(args: argparse.Namespace, host: str | None, after: dict[str, str]) -> None:
    # lazy: the store (tinydb, the audit log) is ~20 ms of every start; few commands open it
    from tui.services.store import Store, StoreError, default_data_dir

    try:
        # `lab --save` keeps scenarios in --store when given: the refusal is audited in that store.
        where = getattr(args, "store", None) or args.db or default_data_dir()
        Store(where).record_action("cli.refused", host, after, args.reason)
    except (StoreError, OSError) as exc:
        # A read-only medium or a broken store must not turn the refusal into a crash; say so.
        warn(f"the refusal could not be audited: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(chosen_command(args_list))
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    setup_logging(args.debug, args.log, console=handler is None)
    if handler is None:
        return _console(parser, args)
    log.debug("vmdeck %s", " ".join(args_list))
    refused = refuse_read_only(args)
    if refused is not None:
        return refused
    try:
        code = int(handler(args))
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = EXIT_OK
    except _environment_errors() as exc:
        # The environment said no (an unwritable store, a full disk, a permission): one line, no
        # traceback; the details are in the log with --debug.
        log.debug("command failed", exc_info=True)
        code = fail(str(exc), getattr(args, "json", False))
    log.debug("exit %d", code)
    return code


def _environment_errors() -> tuple[type[Exception], ...]:
    """What `main` reports in one line: OSError, and StoreError once the store is imported (a command
    that never imported it cannot have raised it; the import stays with the commands that use it)."""
    files = sys.modules.get("tui.services.store.files")
    store_error: type[Exception] | None = getattr(files, "StoreError", None) if files is not None else None
    return (OSError,) if store_error is None else (store_error, OSError)


def _console(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """No subcommand: open the console — the built-in demo unless a store directory is named."""
    if args.config and not args.db:
        parser.error("--config needs --db DIR (the fleet's store); run `vmdeck` alone for the demo")
    config = args.config
    if args.db and not config:
        config = str(default_config_path())
        if config == str(SAMPLE_CONFIG) and not args.sample_config:
            return fail(
                f"--db {args.db} needs the fleet's config: give --config FILE or set $VMDECK_CONFIG "
                "(no /etc/ticrypt/ticrypt-vm.conf here); --sample-config uses the bundled sample",
                False,
                EXIT_FAILED,
            )
    # lazy: the console (Textual) is +303 modules, 226 ms CPU, which no headless command needs
    from tui.console.launch import run_console

    return run_console(config, args.db, args.read_only)
