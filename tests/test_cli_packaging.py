"""Packaging and documentation (issue 11 item 6): the sdist holds what the tests need, the LICENSE is
the Apache 2.0 text pyproject names, and the README mentions every subcommand the parser has."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import build_parser

from .conftest import REPO

SHIPPED_DIRS = ("tests", "config", "styles", "scripts", "bench")


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from _subcommands(sub, (*path, name))


def _source_files(directory: Path) -> set[str]:
    return {
        str(p.relative_to(REPO))
        for p in directory.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and not p.name.endswith(".pyc")
        # bench/out holds a developer's benchmark results (git-ignored, pruned from the sdist).
        and not p.relative_to(REPO).as_posix().startswith("bench/out/")
    }


def test_license_is_the_apache_text() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (REPO / "pyproject.toml").read_text()


def test_readme_mentions_every_subcommand() -> None:
    readme = (REPO / "README.md").read_text()
    # "vmdeck vms stop|destroy|undefine" mentions stop, destroy and undefine.
    mentioned = set()
    for line in readme.splitlines():
        for match in re.finditer(r"vmdeck((?: [a-z][a-z-]*(?:\|[a-z][a-z-]*)*)+)", line):
            words = match.group(1).split()
            prefixes = [()]
            for word in words:
                prefixes = [(*p, alt) for p in prefixes for alt in word.split("|")]
                mentioned.update(prefixes)
    missing = sorted(" ".join(p) for p in _subcommands(build_parser()) if p not in mentioned)
    assert not missing, f"README does not mention: {missing}"


@pytest.mark.slow
def test_sdist_holds_everything_the_tests_need(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (archive,) = tmp_path.glob("vmdeck-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    wanted = {"LICENSE", "README.md", "pyproject.toml", ".ci/run"}
    for directory in SHIPPED_DIRS:
        wanted |= _source_files(REPO / directory)
    # The package data the app loads at run time (tui/_data links to styles/ and config/).
    wanted |= {"tui/_data/styles/vmdeck.tcss", "tui/_data/config/ticrypt-vm.conf"}
    missing = sorted(wanted - names)
    assert not missing, f"sdist lacks: {missing[:20]}"
