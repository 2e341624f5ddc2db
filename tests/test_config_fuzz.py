"""Fuzzing the config loader with truncated and mutated copies of the sample config and its includes.

Each example writes the sample tree (config/ticrypt-vm.conf, its realms and its cost-function include)
with one to three mutations to a fresh directory and loads it under a hang guard. The loader must end
within the deadline with diagnostics (or ConfigFileError for an unreadable main file) and never raise
anything else: no traceback, no hang, whatever the bytes.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE_CONFIG
from tests.test_config_limits import _pyhocon_or_error, _wrapped_or_error, bounded
from tui.core.diagnostics import Severity
from tui.services.config import ConfigFileError, LoadResult, hocon, load_config
from tui.services.config.locator import index_source

SAMPLE_DIR = SAMPLE_CONFIG.parent
FILES = {
    "ticrypt-vm.conf": SAMPLE_CONFIG.read_bytes(),
    "realms/libvirt1.conf": (SAMPLE_DIR / "realms" / "libvirt1.conf").read_bytes(),
    "realms/libvirt2.conf": (SAMPLE_DIR / "realms" / "libvirt2.conf").read_bytes(),
    "cost-functions/pool-common.conf": (SAMPLE_DIR / "cost-functions" / "pool-common.conf").read_bytes(),
}
# Pieces that matter to HOCON (and to the hostile cases of issue 10), spliced in at random places.
PIECES = [
    b"{",
    b"}",
    b"[",
    b"]",
    b"[1, 2\n",
    b'"',
    b'"""',
    b":",
    b"=",
    b"+=",
    b",",
    b"\n",
    b"#",
    b"//",
    b".",
    b"${ticrypt.vm}",
    b"${?x}",
    b"1e400",
    b"-1",
    b"NaN",
    b"0 seconds",
    b"512 m",
    b"\x00",
    b"\xff\xfe",
    b'include "ticrypt-vm.conf"\n',
    b'include "../ticrypt-vm.conf"\n',
    b'include "/dev/zero"\n',
    b'include file("/dev/urandom")\n',
    b'include url("http://127.0.0.1:9/")\n',
    b"include required(",
    b"a.b.c.d.e.f = 1\n",
    b"{" * 60,
    b"[" * 60,
    b"curve: piecewise cutoff: 1",
    b"\\",
    b"\r\n",
    b"\t",
]


# Whole lines that once hung the loader or ate gigabytes (issue 10), inserted at line starts.
HOSTILE_LINES = [
    b'include "/dev/zero"',
    b'include file("/dev/urandom")',
    b'include "ticrypt-vm.conf"',
    b'include "../ticrypt-vm.conf"',
    b'include "pool-common.conf"',
    b"x = [1, 2",
    b"x = " + b"{a: " * 80,
    b".".join(b"k%d" % i for i in range(3000)) + b" = 1",
    b'include url("http://127.0.0.1:9/")',
]
# Values that once gave tracebacks or wrong configs, put where a value was.
VALUES = [
    b"1e400",
    b"-1e400",
    b"NaN",
    b"-1",
    b"0",
    b"0 seconds",
    b"512 m",
    b"1e29",
    b"9" * 40,
    b"[1, 2",
    b"{",
    b'"\\u0000"',
    b"${nothing}",
    b"true",
    b"null",
    b"[]",
    b"{}",
    b"1 yottabyte",
    b"32 Gib",
]
_VALUE = re.compile(rb"(?<=[:=]) *[^\n{\[]+")


@st.composite
def mutated_tree(draw: st.DrawFn) -> dict[str, bytes]:
    files = dict(FILES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(sorted(files)))
        data = files[name]
        cut = draw(st.integers(min_value=0, max_value=len(data)))
        # The line and value mutations keep most of the text valid HOCON, so they reach past the parser.
        action = draw(
            st.sampled_from(
                ["line"] * 3 + ["value"] * 3 + ["truncate", "delete", "insert", "duplicate", "flip"]
            )
        )
        if action == "line":  # a whole line of its own: most often still valid HOCON around it
            starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
            at = draw(st.sampled_from(starts))
            line = draw(st.one_of(st.sampled_from(HOSTILE_LINES), st.sampled_from(PIECES)))
            data = data[:at] + line.rstrip(b"\n") + b"\n" + data[at:]
        elif action == "value":
            spans = [m.span() for m in _VALUE.finditer(data)]
            if spans:
                begin, end = draw(st.sampled_from(spans))
                data = data[:begin] + b" " + draw(st.sampled_from(VALUES)) + data[end:]
        elif action == "truncate":
            data = data[:cut]
        elif action == "delete":
            data = data[:cut] + data[cut + draw(st.integers(min_value=1, max_value=80)) :]
        elif action == "insert":
            piece = draw(st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=8)))
            data = data[:cut] + piece + data[cut:]
        elif action == "duplicate":
            end = min(len(data), cut + draw(st.integers(min_value=1, max_value=400)))
            data = data[:end] + data[cut:end] * draw(st.integers(min_value=1, max_value=20)) + data[end:]
        elif data:
            index = min(cut, len(data) - 1)
            data = data[:index] + bytes([draw(st.integers(min_value=0, max_value=255))]) + data[index + 1 :]
        files[name] = data
    return files


def load_tree(files: dict[str, bytes], times: int = 1) -> list[LoadResult | ConfigFileError]:
    """Load the tree `times` times from one directory (the second load takes the parse cache)."""
    outcomes: list[LoadResult | ConfigFileError] = []
    with tempfile.TemporaryDirectory(prefix="vmdeck-fuzz-") as tmp:
        root = Path(tmp)
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        for _ in range(times):
            try:
                outcomes.append(bounded(lambda: load_config(root / "ticrypt-vm.conf"), deadline=30.0))
            except ConfigFileError as exc:
                outcomes.append(exc)
    return outcomes


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_tree())
def test_mutated_sample_configs_end_with_diagnostics(files: dict[str, bytes]) -> None:
    outcome, again = load_tree(files, times=2)
    if isinstance(outcome, ConfigFileError):
        assert "ticrypt-vm.conf" in str(outcome)
        return
    assert outcome.ok == (outcome.config is not None)
    for diag in outcome.diagnostics:
        assert diag.file, diag  # every diagnostic points at a file ...
        assert diag.message.strip(), diag
    if not outcome.ok:  # ... and a refused config says why
        assert any(d.severity is Severity.ERROR for d in outcome.diagnostics)
    # The second load may come from the parse cache: it must give exactly the same result.
    assert isinstance(again, LoadResult)
    assert (again.diagnostics, again.config, again.counts) == (
        outcome.diagnostics,
        outcome.config,
        outcome.counts,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_tree(), st.sampled_from(sorted(FILES)))
def test_the_wrapped_parse_agrees_with_pyhocon_on_mutated_files(files: dict[str, bytes], name: str) -> None:
    """The linear root-wrap (tui.services.config.hocon) gives pyhocon's own tree, or fails where it fails."""
    try:
        text = files[name].decode("utf-8")
    except UnicodeDecodeError:
        return
    index = index_source(text, Path("/nonexistent/vmdeck-fuzz") / name)
    # Only texts plain pyhocon can be run on safely: no includes (it would read them), no deep nesting.
    if index.problems or index.includes or "include" in text or not hocon.can_wrap(text):
        return
    assert _wrapped_or_error(text) == _pyhocon_or_error(text)


def test_the_unmutated_sample_loads() -> None:
    (outcome,) = load_tree(FILES)
    assert isinstance(outcome, LoadResult)
    assert outcome.ok, [str(d) for d in outcome.errors]
