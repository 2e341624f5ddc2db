"""How every subcommand prints: a human table by default, JSON with --json (infinity as "inf").

Text from outside (host, domain and pool names, reasons, libvirt and file messages) may carry terminal
escapes or bidi overrides; everything a human reads passes through `tui.core.printable.printable` here,
once, in `emit`, `say`, `fail` and `table` — never per command. JSON stays exact: json.dumps already
writes control characters as \\u escapes.

Exit codes, the same in every command (README "Exit codes"):
      0  success
      1  refused (read-only, no reason, no feasible host), invalid input, or the action failed
      2  usage error (unknown option, missing argument)
      3  partly done (some hosts unreachable; the rest was done and is reported)
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

# `jsonable` is re-exported: the commands import it from here.
from tui.core.jsonsafe import jsonable as jsonable
from tui.core.printable import printable

EXIT_OK = 0
EXIT_FAILED = 1  # refused, invalid input, or the action failed
EXIT_USAGE = 2  # argparse: unknown option, missing argument
EXIT_PARTLY = 3  # partly done: e.g. some hosts unreachable, the rest polled
EXIT_INTERRUPTED = 130  # Ctrl-C


def say(text: str, stream: Any = None) -> None:
    """Print human text (a line, a table, a progress note), escaped, newline-terminated."""
    out = sys.stdout if stream is None else stream
    shown = printable(text, keep_newlines=True)
    out.write(shown if shown.endswith("\n") else shown + "\n")
    out.flush()


def warn(message: str) -> None:
    """A one-line note on stderr (`vmdeck: …`), whatever the output format."""
    say(f"vmdeck: {message}", sys.stderr)


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")
    else:
        say(human(data))


def fail(message: str, as_json: bool, code: int = EXIT_FAILED, **extra: Any) -> int:
    """Report a refused or failed command: the one-line message on stderr always, and with --json
    also the JSON document on stdout (so a script sees it and a person watching sees it too)."""
    if as_json:
        sys.stdout.write(json.dumps(jsonable({"ok": False, "error": message, **extra}), indent=2) + "\n")
    warn(message)
    return code


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (no colour: output is often piped or read over ssh)."""
    cells = [[printable(h) for h in headers]] + [[printable(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
