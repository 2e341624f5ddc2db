"""What the `vmdeck` process does for its own start-up cost (tui/cli/__init__.py), held to its reasons."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("4", "4")])
def test_openblas_gets_one_thread_unless_the_caller_chose(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = "import os, sys; import tui.cli; print(os.environ['OPENBLAS_NUM_THREADS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_nothing_calls_blas() -> None:
    """One BLAS thread changes no result only while vmdeck calls no BLAS routine: none of numpy's
    products or linear algebra (the threaded ones), nor the @ operator on arrays."""
    blas = re.compile(
        r"\bnp\.(dot|vdot|inner|outer|matmul|tensordot|einsum|kron|linalg|polyfit|cov|corrcoef)\b|\.dot\(| @ "
    )
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "tui").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if blas.search(line.split("#", 1)[0])
    ]
    assert found == []
