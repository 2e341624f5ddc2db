"""A parse cache for ticrypt-vm.conf: pyhocon's tree, keyed by the content of every file it read.

pyhocon costs ~1-5 ms per line (94% of a 200-profile load). The tree it returns depends only on the
texts of the main file and its includes (and the pyhocon version), so a successful parse is stored
under the sha256 of exactly those texts and their paths: any edit to any included file is a new key.
Everything after the parse (building, every value check, lint) runs on every load, so the
diagnostics are the same with or without the cache, and a config that fails to parse is never cached.

Safety against a tampered cache: entries are JSON (never pickle: loading runs no code), read through
`bounded_files` (regular file, size limit), checked for shape, and the tree is then validated like
any config text. Files are 0600 in a 0700 directory, written atomically, and an entry or directory
owned by another user or writable by group or others is ignored; at most MAX_ENTRIES are kept. The directory is platformdirs' user cache dir (`~/.cache/vmdeck/config` on Linux),
`$VMDECK_CACHE_DIR` overrides it and `VMDECK_CONFIG_CACHE=off` disables the cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from tui.core import limits
from tui.services.bounded_files import InputFileError, read_text

FORMAT = 1
MAX_ENTRIES = 64
MAX_ENTRY_BYTES = 8 * limits.MAX_CONFIG_TOTAL_BYTES
_TIMEDELTA = "$timedelta"
_DICT = "$dict"


class _Uncacheable(Exception):
    """A value JSON cannot carry exactly (dateutil's relativedelta): that config is not cached."""


def cache_dir() -> Path | None:
    if os.environ.get("VMDECK_CONFIG_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    override = os.environ.get("VMDECK_CACHE_DIR")
    if override:
        return Path(override) / "config"
    return Path(platformdirs.user_cache_dir("vmdeck")) / "config"


def cacheable(texts: Mapping[str, str]) -> bool:
    """Substitutions may read environment variables (`${?HOME}`): such a tree depends on more than text."""
    return not any("${" in text for text in texts.values())


def parser_version() -> str:
    """pyhocon's installed version as importlib.metadata gives it, read from the Version header of the
    dist-info beside the package (0.1 ms; importing importlib.metadata is +40 modules, 15 ms of every
    load, a hundredth of a `vmdeck simulate`); an installation laid out otherwise asks importlib.metadata."""
    spec = importlib.util.find_spec("pyhocon")
    places = list(spec.submodule_search_locations or ()) if spec is not None else []
    found = _dist_info_version(Path(places[0]).parent, "pyhocon") if places else None
    if found is not None:
        return found
    # lazy: see above
    from importlib import metadata

    return metadata.version("pyhocon")


def _dist_info_version(site: Path, name: str) -> str | None:
    """The Version header of the one `name-VERSION.dist-info` in `site`; None if there is none, more
    than one, or no such header."""
    try:
        infos = [n for n in os.listdir(site) if n.startswith(f"{name}-") and n.endswith(".dist-info")]
        if len(infos) != 1:
            return None
        with open(site / infos[0] / "METADATA", encoding="utf-8") as headers:
            for line in headers:
                if not line.strip():
                    return None  # the end of the headers
                if line.startswith("Version:"):
                    return line.removeprefix("Version:").strip() or None
    except (OSError, ValueError):
        return None
    return None


def cache_key(texts: Mapping[str, str]) -> str:
    """sha256 over the format, the pyhocon version and every (path, text) pyhocon will see."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FORMAT, parser_version()]).encode())
    for path in sorted(texts):
        for part in (path, texts[path]):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _encode(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dt.timedelta):
        return {_TIMEDELTA: [value.days, value.seconds, value.microseconds]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        encoded = {str(k): _encode(v) for k, v in value.items()}
        return {_DICT: encoded} if _TIMEDELTA in encoded or _DICT in encoded else encoded
    raise _Uncacheable(type(value).__name__)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_TIMEDELTA}:
            days, seconds, micros = value[_TIMEDELTA]
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in (days, seconds, micros)):
                raise ValueError("bad timedelta")
            return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
        if set(value) == {_DICT}:
            return {k: _decode(v) for k, v in value[_DICT].items()}
        return {k: _decode(v) for k, v in value.items()}
    return value


def load(key: str) -> Any | None:
    """The cached tree for `key`, or None (missing, unreadable, or not in the expected shape)."""
    directory = cache_dir()
    if directory is None or not _private(directory) or not _private(directory / f"{key}.json"):
        return None
    try:
        entry = json.loads(read_text(directory / f"{key}.json", MAX_ENTRY_BYTES))
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
            return None
        tree = _decode(entry["tree"])
    except (InputFileError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return tree if isinstance(tree, dict) else None


def store(key: str, tree: Any) -> None:
    """Keep `tree` under `key`; any failure (read-only home, full disk) just leaves it uncached."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        payload = json.dumps({"format": FORMAT, "key": key, "tree": _encode(tree)}, separators=(",", ":"))
    except (_Uncacheable, ValueError, RecursionError):
        return
    with contextlib.suppress(OSError):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=directory)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
            os.replace(tmp, directory / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(directory)


def _private(path: Path) -> bool:
    """Owned by this user and writable by no one else (as ssh demands of ~/.ssh): else not trusted."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()
