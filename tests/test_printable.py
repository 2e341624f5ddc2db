"""Text from outside is printed with terminal controls and bidi overrides escaped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.core.printable import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("node1", "node1"),
        ("évian-01 ✓", "évian-01 ✓"),
        ("\x1b[2Jgone", "\\x1b[2Jgone"),
        ("osc\x1b]52;c;Zm9v\x07", "osc\\x1b]52;c;Zm9v\\x07"),
        ("rel-dup\n", "rel-dup\\x0a"),
        ("a\rb\tc", "a\\x0db\\x09c"),
        ("\x9bcsi", "\\x9bcsi"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("iso\u2066late\u2069", "iso\\u2066late\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("lone\udcffsurrogate", "lone\\udcffsurrogate"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_controls_and_bidi_are_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_newlines_kept_only_when_asked() -> None:
    assert printable("first\nsecond\x1b[m", keep_newlines=True) == "first\nsecond\\x1b[m"
    assert printable("first\nsecond") == "first\\x0asecond"


def test_non_strings_are_converted() -> None:
    assert printable(42) == "42"
    assert printable(None) == "None"


@given(st.text())
def test_result_never_holds_a_terminal_control(raw: str) -> None:
    shown = printable(raw)
    assert all(c == " " or c.isprintable() for c in shown)
    assert not any(
        c in shown for c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
