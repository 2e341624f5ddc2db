"""Shared fixtures: paths to the sample config and a writer for small config trees in tmp dirs."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from . import testbed

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO / "config" / "ticrypt-vm.conf"
# The test bed's hosts B and C are reached through sockets the store accepts only when allowed the
# documented way (the socket allow-list): for this process and every vmdeck it starts.
testbed.allow_testbed_sockets()

# The config parse cache of this test run (subprocesses inherit it): never the user's ~/.cache.
os.environ["VMDECK_CACHE_DIR"] = tempfile.mkdtemp(prefix="vmdeck-test-cache-")


@pytest.fixture
def sample_config() -> Path:
    return SAMPLE_CONFIG


@pytest.fixture
def write_tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {relative path: text} under tmp_path (text is dedented); returns the first file's path."""

    def write(files: dict[str, str]) -> Path:
        first: Path | None = None
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
            first = first or path
        assert first is not None
        return first

    return write


# The private PostgreSQL cluster (session-scoped, started only by tests that ask for it).
from tests.pgcluster import no_pgpass, pg_cluster, pg_url  # noqa: E402, F401
