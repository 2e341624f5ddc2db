"""The `vmdeck` command: with no subcommand it opens the console; otherwise it runs headless.

Every capability of the console is also a subcommand with JSON output, so it can be scripted,
tested and benchmarked. Exit codes: 0 success, 1 refused or invalid input, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module registers its own subcommands; add a module here in the commit that creates it.
COMMAND_MODULES: tuple[str, ...] = (
    "tui.commands.config",
    "tui.commands.scheduling",
    "tui.commands.hosts",
    "tui.commands.fleet",
    "tui.commands.vms",  # after hosts: it adds `hosts drain` to that parser
    "tui.commands.lab",
    "tui.commands.store",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"vmdeck: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vmdeck", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", metavar="FILE", help="ticrypt-vm.conf of a real fleet (console)")
    parser.add_argument(
        "--db",
        metavar="DIR|URL",
        help="the store of a real fleet: a directory or a postgresql:// URL (console)",
    )
    parser.add_argument("--read-only", action="store_true", help="open the console without changing anything")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:
        # No subcommand: open the console — the built-in demo unless a store directory is named.
        if args.config and not args.db:
            parser.error("--config needs --db DIR (the fleet's store); run `vmdeck` alone for the demo")
        from tui.ui.launch import run_console

        return run_console(args.config, args.db, args.read_only)
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
