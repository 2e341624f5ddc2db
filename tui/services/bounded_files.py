"""Opening and reading files from outside with limits: regular files only, bounded in size, text checked.

A path an admin (or an attacker) names may be a FIFO that never delivers, a device that never ends
(/dev/zero, /dev/urandom), a directory, a symlink loop or a binary file. Each of those is refused here
with a message naming the file, before anything is read: the path is stat'ed first (so a device is
never opened) and then opened with O_NONBLOCK and checked again with fstat (so a file swapped between
the two cannot make the open block or the read run on). Reads stop one byte past the limit, which
also bounds files whose size the kernel reports as 0 (/proc).
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from tui.core.units import format_size


class InputFileError(OSError):
    """A file that cannot be used as input; str() is `path: what is wrong`."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path, self.message = str(path), message
        super().__init__(f"{self.path}: {message}")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode):
        return "is a character device, not a regular file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return f"cannot read: {exc.strerror or exc}"


def open_regular(path: str | os.PathLike[str], limit: int) -> BinaryIO:
    """A binary handle on a regular file of at most `limit` bytes (as stat tells; read with a bound)."""
    try:
        before = os.stat(path)
    except OSError as exc:
        raise InputFileError(path, _os_message(exc)) from None
    except ValueError:  # an embedded NUL in the path
        raise InputFileError(path, "invalid file name") from None
    kind = _kind(before.st_mode)
    if kind:
        raise InputFileError(path, kind)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(path, _os_message(exc)) from None
    try:
        now = os.fstat(fd)
        kind = _kind(now.st_mode)
        if kind:
            raise InputFileError(path, kind)
        if now.st_size > limit:
            raise InputFileError(
                path, f"is {format_size(now.st_size)}; the limit is {format_size(limit)} ({limit} bytes)"
            )
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], limit: int) -> bytes:
    with open_regular(path, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(path, f"is larger than the limit of {format_size(limit)} ({limit} bytes)")
    return data


def decode_text(path: str | os.PathLike[str], data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); binary data and other encodings are refused with the offset."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    nul = text.find("\0")
    if nul >= 0:
        raise InputFileError(path, f"is a binary file, not text (NUL character at offset {nul})")
    return text


def read_text(path: str | os.PathLike[str], limit: int) -> str:
    """The text of a regular UTF-8 file of at most `limit` bytes, or InputFileError saying why not."""
    return decode_text(path, read_bytes(path, limit))


def resolve(path: Path) -> Path:
    """Path.resolve() that reports a symlink loop as InputFileError (Python 3.11 raises RuntimeError)."""
    try:
        return path.resolve()
    except RuntimeError:
        raise InputFileError(path, "symlink loop (too many levels of symbolic links)") from None
    except OSError as exc:
        raise InputFileError(path, _os_message(exc)) from None
