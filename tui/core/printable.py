"""Text from outside (names, reasons, libvirt messages, file contents) made safe to print.

A host name, a domain name or an audit reason can carry terminal escape sequences (ESC [ 2 J clears
an admin's screen; OSC 52 writes their clipboard) or Unicode bidi overrides that make `rm-host`
display as something else. Every path that prints such text — the CLI's tables and messages, the
console's cells and notifications — passes it through `printable` first: one rule, one place.
"""

from __future__ import annotations


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` as a string with control characters and bidi controls written as visible escapes.

    A backslash is left alone: the result is for people to read, not for a parser to undo.
    With `keep_newlines`, a multi-line message (a libvirt error, a HOCON diagnostic) keeps its
    line breaks; everything else a terminal would act on is still escaped.
    """
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():
        return value  # the common case: no per-character work
    # Python's "printable" excludes every control (Cc), format character (Cf: the bidi controls,
    # zero-width joiners), separator other than space (Zl, Zp, NBSP...), surrogate and unassigned
    # code point: exactly what a terminal may act on or what cannot be seen.
    return "".join(c if c.isprintable() or (keep_newlines and c == "\n") else _escape(c) for c in value)
