"""pyhocon, kept within bounds: includes come from texts already read, and root-level dotted keys stay linear.

Two things pyhocon does on its own are unsafe on input from outside:

- It opens included files itself (`ConfigFactory.parse_file`: any path, no size limit, blocking on a
  FIFO, reading /dev/zero forever) and fetches `include url(...)`. While a parse runs here, both are
  replaced by functions that serve only the texts the locator has already read through
  `bounded_files` (and refuse everything else), so every byte pyhocon sees passed the same checks.
- Its root object (`ConfigTree(root=True)`) keeps a history for self-referencing substitutions: each
  dotted key that lands in an existing object (`a.b.k1 = 1`, `a.b.k2 = 2` … at the top level of a file)
  copies that whole object and keeps the old copy. n such keys cost O(n²) time and memory (4,000 keys:
  28 s and 680 MB). Inside any other object the same keys merge in place, in linear time. So a file
  without substitutions (`${…}`, `+=`, where the history matters) is parsed wrapped in one extra object
  and unwrapped: the values are the same (tests/test_config_limits.py compares both ways), and the
  line numbers of syntax errors are shifted back.

pyhocon also mutates pyparsing's global whitespace setting while parsing, so parses take one lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from tui.core.diagnostics import Diagnostic, Severity

# pyhocon logs a missing include as a warning; that would print over the console. We report it ourselves.
logging.getLogger("pyhocon").addHandler(logging.NullHandler())
logging.getLogger("pyhocon").propagate = False

_PARSE_LOCK = threading.Lock()
_LINE_COL = re.compile(r"\(line:\s*(\d+),\s*col:\s*(\d+)\)")
_WRAP_KEY = "vmdeck-unwrapped-root"
_WRAP_PREFIX = _WRAP_KEY + " {\n"  # on its own line: syntax errors move down exactly one line
_FIRST_TOKEN = re.compile(r"(?:\s|#[^\n]*|//[^\n]*)*(.)", re.DOTALL)


class HoconError(Exception):
    """A parse that failed; `diagnostic` names the file and line where pyhocon stopped."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


def can_wrap(text: str) -> bool:
    """Whether `text` parses the same inside an object: no substitutions, and its root is an object
    without braces. A root in braces is parsed as it is: wrapped, `{ a: 1 } b: 2` would read as a
    key followed by a sibling, where pyhocon refuses it (found by tests/test_config_fuzz.py)."""
    if "${" in text or "+=" in text:
        return False
    first = _FIRST_TOKEN.match(text)
    return first is None or first.group(1) not in "[{"


def _wrap(text: str) -> str:
    return _WRAP_PREFIX + text + "\n}\n"


def _parse_text(text: str, basedir: str, resolve: bool, **options: Any) -> Any:
    # lazy: pyhocon is +38 modules, 33 ms CPU; `vmdeck simulate` and the console read a cached config
    from pyhocon import ConfigFactory

    if not can_wrap(text):
        return ConfigFactory.parse_string(text, basedir=basedir, resolve=resolve, **options)
    tree = ConfigFactory.parse_string(_wrap(text), basedir=basedir, resolve=resolve, **options)
    return dict.__getitem__(tree, _WRAP_KEY)


@contextlib.contextmanager
def _includes_from(texts: Mapping[str, str]) -> Iterator[None]:
    """pyhocon's own file and URL reading replaced, for the duration of one parse, by `texts`."""
    from pyhocon import config_parser  # lazy: as in _parse_text

    factory = config_parser.ConfigFactory

    def parse_file(
        filename: str, encoding: str = "utf-8", required: bool = True, resolve: bool = True, **options: Any
    ) -> Any:
        text = texts.get(os.path.realpath(filename))
        if text is None:  # the locator refused it or never saw it: it is not read behind its back
            if required:
                raise OSError(f"{filename}: not read by vmdeck")
            return []
        return _parse_text(text, os.path.dirname(filename), resolve, **options)

    def parse_url(url: str, *args: Any, **kwargs: Any) -> Any:
        raise OSError(f"{url}: includes from URLs are not supported")

    saved = factory.__dict__["parse_file"], factory.__dict__["parse_URL"]
    factory.parse_file = staticmethod(parse_file)
    factory.parse_URL = staticmethod(parse_url)
    try:
        yield
    finally:
        factory.parse_file, factory.parse_URL = saved


def parse(text: str, file: str, basedir: str, texts: Mapping[str, str], resolve: bool = True) -> Any:
    """The parsed tree as plain dicts and lists; HoconError (with file and line) on a syntax error."""
    wrapped = can_wrap(text)
    try:
        with _PARSE_LOCK, _includes_from(texts):
            return _plain(_parse_text(text, basedir, resolve))
    except RecursionError:
        raise HoconError(
            Diagnostic(Severity.ERROR, "", "nested too deeply for the HOCON parser", file, None)
        ) from None
    except Exception as exc:  # pyparsing and pyhocon raise many types; all are syntax errors here
        raise HoconError(syntax_diagnostic(exc, file, line_shift=1 if wrapped else 0)) from None


def _plain(value: Any) -> Any:
    """ConfigTree -> dict: ConfigTree.get() splits keys on dots and raises on missing keys."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in dict.items(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "NoneValue":
        return None
    return value


def syntax_diagnostic(exc: Exception, file: str, line_shift: int = 0) -> Diagnostic:
    line = getattr(exc, "lineno", None)
    message = getattr(exc, "msg", None) or str(exc)
    if line is None:
        match = _LINE_COL.search(str(exc))
        line = int(match.group(1)) if match else None
    if line is not None:
        line = max(1, line - line_shift)
    message = _LINE_COL.sub("", str(message)).strip().rstrip(",:")
    if "Expected" in message or "Expected" in str(exc):
        col = getattr(exc, "col", None)
        message = f"HOCON syntax error{f' at column {col}' if col else ''}: {message}"
    return Diagnostic(Severity.ERROR, "", message, file, line)
