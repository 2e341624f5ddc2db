"""When the console crashes anyway: the traceback goes to a log file, the terminal gets one line.

Textual prints a full traceback (with locals) over the admin's terminal and `vmdeck` used to exit 0.
Instead the traceback is written to `$XDG_STATE_HOME/vmdeck/crash-<UTC time>-<pid>.log` (XDG's
place for logs; default ~/.local/state) and the console exits 1 after printing one line naming it.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Mapping
from pathlib import Path


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/vmdeck, or ~/.local/state/vmdeck (the XDG base directory default)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "vmdeck"


def write_crash_log(error: BaseException, directory: Path | None = None) -> Path | None:
    """Write `error`'s traceback to a new file (mode 0600: it may hold names); None if that fails."""
    directory = directory or state_dir()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = directory / f"crash-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"vmdeck console crashed at {stamp} (pid {os.getpid()})\n{text}")
    except OSError:
        return None
    return path


def crash_line(error: BaseException, path: Path | None) -> str:
    """The one line printed on the terminal after a crash."""
    where = f"the traceback is in {path}" if path is not None else "the traceback could not be saved"
    return f"vmdeck: the console stopped on an internal error ({type(error).__name__}); {where}"
