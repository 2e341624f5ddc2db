"""The pipe between the console and its poller worker: length-prefixed pickle frames.

Both ends are vmdeck's own processes (the console starts the worker with its own interpreter), so
pickle is safe here: nothing from outside is ever unpickled. A frame is a 4-byte big-endian length
and the pickled message; a frame over MAX_FRAME is a broken peer, not data.
"""

from __future__ import annotations

import contextlib
import pickle
import struct
import threading
from typing import IO

_HEADER = struct.Struct("!I")
MAX_FRAME = 1 << 30


class FrameWriter:
    """Writes whole frames from any thread (one lock: frames never interleave)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: object) -> None:
        """Raises OSError (BrokenPipeError) when the other end is gone."""
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._stream.write(_HEADER.pack(len(payload)))
            self._stream.write(payload)
            self._stream.flush()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):  # the reader is already gone
            self._stream.close()


def read_frame(stream: IO[bytes]) -> object | None:
    """The next message, or None at end of stream (the other process is gone)."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise OSError(f"poller worker pipe: frame of {size} bytes")
    payload = _read_exactly(stream, size)
    if payload is None:
        return None
    message: object = pickle.loads(payload)
    return message


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
