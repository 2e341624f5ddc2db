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
    """The roff text of vmdeck(1): argparse-manpage's rendering of the parser, plus the sections a
    parser cannot know (exit status, files, environment)."""
    page = Manpage(parser)
    page.source = f"vmdeck {__version__}"
    page.manual = "vmdeck manual"
    page.description = "console and command line for libvirt/KVM fleets and their cost-function scheduler"
    return str(page).rstrip("\n") + "\n" + _EXTRA_SECTIONS


_EXTRA_SECTIONS = r""".SH "EXIT STATUS"
.TP
.B 0
success
.TP
.B 1
refused (read\-only mode, a missing reason, no feasible host), invalid input, or the action failed
.TP
.B 2
usage error (unknown option, missing argument)
.TP
.B 3
partly done: some hosts were unreachable; the rest was done and reported, and stderr names them
.TP
.B 130
interrupted
.SH ENVIRONMENT
.TP
.B VMDECK_CONFIG
the ticrypt\-vm.conf used when \-\-config is not given
.TP
.B XDG_DATA_HOME
the store directory is $XDG_DATA_HOME/vmdeck unless \-\-db is given
.SH FILES
.TP
.I /etc/ticrypt/ticrypt\-vm.conf
the tiCrypt VM service's configuration, used when neither \-\-config nor $VMDECK_CONFIG is given
"""


def run_manpage(args: argparse.Namespace) -> int:
    sys.stdout.write(manpage(args.root_parser))
    return 0
