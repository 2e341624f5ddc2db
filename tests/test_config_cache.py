"""The config parse cache: same results warm and cold, never stale, never trusted when tampered with."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CONFIG
from tests.test_config_loader import BASE, REALM, Writer, load
from tui.services.config import LoadResult, cache, load_config
from tui.services.config import loader as loader_module


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VMDECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VMDECK_CONFIG_CACHE", raising=False)
    return tmp_path / "cache" / "config"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files pyhocon parsed (each call of the loader's parse)."""
    seen: list[str] = []
    original = loader_module.parse  # type: ignore[attr-defined]

    def counting(text: str, file: str, *args: object, **kwargs: object) -> object:
        seen.append(Path(file).name)
        return original(text, file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader_module, "parse", counting)
    return seen


def same(a: LoadResult, b: LoadResult) -> None:
    assert a.diagnostics == b.diagnostics
    assert a.config == b.config
    assert a.counts == b.counts


def test_warm_load_equals_cold_load_without_parsing(cache_dir: Path, parses: list[str]) -> None:
    cold = load_config(SAMPLE_CONFIG)
    assert parses  # the cold load parsed
    assert len(list(cache_dir.glob("*.json"))) == 1
    parses.clear()
    warm = load_config(SAMPLE_CONFIG)
    assert parses == []  # the warm load took the tree from the cache
    same(cold, warm)
    assert warm.ok


def test_diagnostics_are_the_same_warm(cache_dir: Path, write_tree: Writer) -> None:
    main = BASE.replace("cores: 8,", "cores: 8, colour: blue,").replace("hard: 8 }", "hard: 16 }")
    cold = load(write_tree, main=main)
    assert cold.errors  # the unknown key
    assert cold.warnings  # the vCPU overcommit
    same(cold, load(write_tree, main=main))


def test_an_edit_to_an_included_file_is_never_served_stale(
    cache_dir: Path, write_tree: Writer, parses: list[str]
) -> None:
    first = load(write_tree)
    assert first.config is not None
    assert first.config.realms["r1"].name == "Realm one"
    second = load(write_tree, realm=REALM.replace("Realm one", "Realm two"))
    assert second.config is not None
    assert second.config.realms["r1"].name == "Realm two"


def test_syntax_errors_are_not_cached(cache_dir: Path, write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("cores: 8,", "cores: 8,, {"))
    assert not result.ok
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))


def test_substitutions_are_not_cached(cache_dir: Path, write_tree: Writer) -> None:
    # `${?X}` may read the environment: the tree depends on more than the files.
    load(write_tree, realm=REALM + "network-filter: ${?VMDECK_TEST_FILTER}\n")
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))


def entry(cache_dir: Path) -> Path:
    (only,) = cache_dir.glob("*.json")
    return only


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1, 2]",
        b'{"format": 1}',
        b"\x00\xff",
        b"[" * 100_000,
        b'{"format": 1, "key": "x", "tree": {}}',
    ],
)
def test_a_corrupt_entry_is_ignored_and_the_config_parsed(
    cache_dir: Path, parses: list[str], content: bytes
) -> None:
    cold = load_config(SAMPLE_CONFIG)
    entry(cache_dir).write_bytes(content)
    parses.clear()
    same(cold, load_config(SAMPLE_CONFIG))
    assert parses  # parsed again


def test_an_entry_pointing_at_a_device_is_ignored(cache_dir: Path, parses: list[str]) -> None:
    cold = load_config(SAMPLE_CONFIG)
    path = entry(cache_dir)
    path.unlink()
    path.symlink_to("/dev/zero")
    parses.clear()
    same(cold, load_config(SAMPLE_CONFIG))
    assert parses


def test_an_entry_writable_by_others_is_not_trusted(cache_dir: Path, parses: list[str]) -> None:
    cold = load_config(SAMPLE_CONFIG)
    path = entry(cache_dir)
    data = json.loads(path.read_text())
    data["tree"]["ticrypt"]["vm"]["hardware-profiles"]["pool1"]["cores"] = 4096
    path.write_text(json.dumps(data))
    os.chmod(path, 0o666)
    parses.clear()
    same(cold, load_config(SAMPLE_CONFIG))
    assert parses
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o700"


def test_entries_are_private_and_bounded(
    cache_dir: Path, write_tree: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(5):
        load(write_tree, realm=REALM.replace("Realm one", f"Realm {i}"))
    entries = list(cache_dir.glob("*.json"))
    assert len(entries) == 3
    assert all(e.stat().st_mode & 0o777 == 0o600 for e in entries)


def test_the_cache_can_be_turned_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMDECK_CONFIG_CACHE", "off")
    assert load_config(SAMPLE_CONFIG).ok
    assert not cache_dir.exists()


def test_durations_survive_the_round_trip(cache_dir: Path) -> None:
    cold = load_config(SAMPLE_CONFIG)
    warm = load_config(SAMPLE_CONFIG)
    assert cold.config is not None
    assert warm.config is not None
    assert warm.config.realms["libvirt1"].registration_timeout_s == 300
    assert warm.config.service.reload_freq_s == 300


def test_the_parser_version_is_importlib_metadatas(tmp_path: Path) -> None:
    # Read from the dist-info beside pyhocon without importlib.metadata; the same string, so keys
    # made before and after are the same.
    from importlib import metadata

    assert cache.parser_version() == metadata.version("pyhocon")
    # A site directory with no dist-info, two of them, or one without a Version header gives none:
    # the version then comes from importlib.metadata.
    assert cache._dist_info_version(tmp_path, "pyhocon") is None
    for version in ("1.0", "2.0"):
        info = tmp_path / f"pyhocon-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: pyhocon\nVersion: {version}\n\nVersion: 9\n"
        )
    assert cache._dist_info_version(tmp_path, "pyhocon") is None
    (tmp_path / "pyhocon-2.0.dist-info" / "METADATA").unlink()
    (tmp_path / "pyhocon-2.0.dist-info").rmdir()
    assert cache._dist_info_version(tmp_path, "pyhocon") == "1.0"
    (tmp_path / "pyhocon-1.0.dist-info" / "METADATA").write_text("Name: pyhocon\n\nVersion: 9\n")
    assert cache._dist_info_version(tmp_path, "pyhocon") is None
