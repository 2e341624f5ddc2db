"""`vmdeck completion bash|zsh` and `vmdeck manpage`: both generated from the argparse parser itself,
so they can never disagree with the options the command really takes.

Completion comes from shtab (a static script: nothing of vmdeck is imported at each Tab, unlike
argcomplete, whose hook runs the program on every key press); the man page from argparse-manpage
(subcommands included, roff the `man` program renders). Both are small pure-Python libraries
without dependencies of their own.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import shtab
from argparse_manpage.manpage import Manpage

from tui import __version__

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> None:
    comp = subparsers.add_parser(
        "completion",
        help="print a shell completion script: vmdeck completion bash > /etc/bash_completion.d/vmdeck",
    )
    comp.add_argument("shell", choices=SHELLS)
    comp.set_defaults(handler=run_completion)

    man = subparsers.add_parser(
        "manpage", help="print the manual page (roff): vmdeck manpage > /usr/local/share/man/man1/vmdeck.1"
    )
    man.set_defaults(handler=run_manpage)


def run_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(shtab.complete(args.root_parser, shell=args.shell))
    return 0


def manpage(parser: argparse.ArgumentParser) -> str:
    """The roff text of vmdeck(1)."""
    page = Manpage(parser)
    page.source = f"vmdeck {__version__}"
    page.manual = "vmdeck manual"
    page.description = (
        "vmdeck is a keyboard-driven terminal console for libvirt/KVM fleets and their tiCrypt "
        "cost-function scheduler. With no COMMAND it opens the console; every COMMAND runs headless, "
        "with --json for scripts. Exit status: 0 success; 1 refused, invalid input or failed; "
        "2 usage error; 3 partly done (some hosts unreachable); 130 interrupted."
    )
    return str(page)


def run_manpage(args: argparse.Namespace) -> int:
    sys.stdout.write(manpage(args.root_parser))
    return 0
