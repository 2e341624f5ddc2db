"""Bounded input (issue 10, items 5 and 8): every hostile config, fleet or workload ends in a located error.

Each case runs under a hang guard (a thread with a deadline, tens of times what it needs), because
before this change most of them never ended: `include "/dev/zero"` ate 3.3 GB in 4 s, a FIFO include
blocked for ever, `x = [1, 2` then `}` looped in the locator, a self-include took 321 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import REPO, SAMPLE_CONFIG
from tests.test_config_loader import BASE, REALM, Writer, at, load, only
from tui.core import limits
from tui.core.model import Realm
from tui.services.config import ConfigFileError, LoadResult, load_config
from tui.services.config import hocon as hocon_module

T = TypeVar("T")
DEADLINE_S = 60.0  # a hang guard, not a timing assertion: each case needs well under a second


def bounded(fn: Callable[[], T], deadline: float = DEADLINE_S) -> T:
    """fn() in a daemon thread; fails the test (instead of hanging the suite) if it does not end."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), f"did not finish within {deadline:g} s (hang)"
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def load_bounded(write: Writer, main: str = BASE, realm: str = REALM, **extra: str) -> LoadResult:
    return bounded(lambda: load(write, main, realm, **extra))


def with_realm_include(target: str) -> str:
    return BASE.replace('include "realms/r1.conf"', f"include {target}")


# -- files that are not regular text files ---------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ('"/dev/zero"', "character device"),
        ('file("/dev/urandom")', "character device"),
        ('required(file("/dev/zero"))', "character device"),
        ('"/tmp"', "directory"),
    ],
)
def test_device_and_directory_includes_are_refused_at_the_include_line(
    write_tree: Writer, target: str, needle: str
) -> None:
    result = load_bounded(write_tree, main=with_realm_include(target))
    err = only(result, "error", needle)
    at(err, "ticrypt-vm.conf", 3)
    assert result.config is None


def test_fifo_include_and_fifo_config_are_refused_without_blocking(
    write_tree: Writer, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.conf")
    result = load_bounded(write_tree, main=with_realm_include('"pipe.conf"'))
    at(only(result, "error", "FIFO"), "ticrypt-vm.conf", 3)
    with pytest.raises(ConfigFileError, match="FIFO"):
        bounded(lambda: load_config(tmp_path / "pipe.conf"))


def test_devices_as_the_config_itself_are_refused() -> None:
    for device in ("/dev/zero", "/dev/urandom"):
        with pytest.raises(ConfigFileError, match="character device"):
            bounded(lambda device=device: load_config(device))  # type: ignore[misc]


def test_files_over_the_size_limit_are_refused(write_tree: Writer, tmp_path: Path) -> None:
    big = tmp_path / "big.conf"
    with big.open("wb") as handle:  # sparse: the size is refused from fstat, nothing is read
        handle.truncate(limits.MAX_CONFIG_FILE_BYTES + 1)
    result = load_bounded(write_tree, main=with_realm_include('"big.conf"'))
    at(only(result, "error", "the limit is 4 MiB"), "ticrypt-vm.conf", 3)
    with pytest.raises(ConfigFileError, match="the limit is 4 MiB"):
        bounded(lambda: load_config(big))


def test_symlink_loops_are_refused(write_tree: Writer, tmp_path: Path) -> None:
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    result = load_bounded(write_tree, main=with_realm_include('"loop1"'))
    at(only(result, "error", "symlink loop"), "ticrypt-vm.conf", 3)
    with pytest.raises(ConfigFileError, match="symlink loop"):
        bounded(lambda: load_config(tmp_path / "loop1"))


@pytest.mark.parametrize(
    ("data", "needle"),
    [(b"name: x\n\x00\x01\x02", "binary file"), (b"name: \xff\xfe caf\xe9\n", "not UTF-8")],
)
def test_binary_includes_name_the_file(write_tree: Writer, tmp_path: Path, data: bytes, needle: str) -> None:
    (tmp_path / "realms").mkdir(exist_ok=True)
    write_tree({"ticrypt-vm.conf": BASE})
    (tmp_path / "realms" / "r1.conf").write_bytes(data)
    result = bounded(lambda: load_config(tmp_path / "ticrypt-vm.conf"))
    err = only(result, "error", needle)
    assert "r1.conf" in err.message
    at(err, "ticrypt-vm.conf", 3)


# -- include cycles and depth ----------------------------------------------------------------------
def test_a_file_including_itself_is_a_cycle_with_its_line(write_tree: Writer) -> None:
    result = load_bounded(write_tree, realm='name: "x"\ninclude "r1.conf"\n')
    err = only(result, "error", "include cycle")
    at(err, "r1.conf", 2)
    assert "r1.conf:2 includes r1.conf" in err.message


def test_a_longer_cycle_names_every_include_line(write_tree: Writer) -> None:
    result = load_bounded(
        write_tree,
        realm='name: "x"\ninclude "a.conf"\n',
        **{"realms/a.conf": '# a\ninclude "b.conf"\n', "realms/b.conf": '# b\n#\n#\ninclude "a.conf"\n'},
    )
    err = only(result, "error", "include cycle")
    at(err, "b.conf", 4)
    assert "a.conf:2 includes b.conf" in err.message
    assert "b.conf:4 includes a.conf" in err.message


def test_includes_nested_too_deep_are_refused(write_tree: Writer) -> None:
    chain = {f"realms/d{i}.conf": f'include "d{i + 1}.conf"\n' for i in range(limits.MAX_INCLUDE_DEPTH + 2)}
    result = load_bounded(write_tree, realm='include "d0.conf"\n', **chain)
    only(result, "error", "includes nested deeper than")


@pytest.mark.parametrize("target", ['url("http://127.0.0.1:9/x.conf")', '"https://example.com/x.conf"'])
def test_url_includes_are_refused_and_never_fetched(write_tree: Writer, target: str) -> None:
    result = load_bounded(write_tree, main=with_realm_include(target))
    at(only(result, "error", "URLs are not supported"), "ticrypt-vm.conf", 3)


def test_wildcard_includes_are_refused(write_tree: Writer) -> None:
    result = load_bounded(write_tree, main=with_realm_include('"realms/*.conf"'))
    at(only(result, "error", "wildcards"), "ticrypt-vm.conf", 3)


# -- nesting, depth, the unclosed list --------------------------------------------------------------
def test_deep_nesting_is_a_diagnostic_not_a_recursion_error(write_tree: Writer) -> None:
    deep = "x = " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"
    result = load_bounded(write_tree, realm=REALM + deep)
    err = only(result, "error", "nesting deeper than 32")
    at(err, "r1.conf", 3)
    lists = load_bounded(write_tree, realm=REALM + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    only(lists, "error", "nesting deeper than 32")


def test_a_dotted_key_of_thousands_of_parts_is_a_diagnostic(write_tree: Writer) -> None:
    key = ".".join(f"k{i}" for i in range(5000))
    result = load_bounded(write_tree, realm=REALM + f"{key} = 1\n")
    at(only(result, "error", "key path deeper than"), "r1.conf", 3)


def test_unclosed_list_closed_by_a_brace_ends_with_a_located_syntax_error(write_tree: Writer) -> None:
    main = BASE.replace("  mongodb {", "  x = [1, 2\n  mongodb {")
    result = load_bounded(write_tree, main=main)
    assert result.config is None
    at(result.errors[0], "ticrypt-vm.conf", 3)  # pyhocon's own message; the line is the list's


def test_unclosed_list_in_a_realm_file(write_tree: Writer) -> None:
    result = load_bounded(write_tree, realm="x = [1, 2\n}\n")
    assert result.config is None
    assert Path(result.errors[0].file or "").name == "r1.conf"


# -- root-level dotted keys: linear, same values ------------------------------------------------------
def _count_root_copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts pyhocon's whole-object copies (merge_configs(copy_trees=True)): the root history path."""
    from pyhocon.config_tree import ConfigTree

    copies = [0]
    original = ConfigTree.merge_configs

    def counting(a: Any, b: Any, copy_trees: bool = False) -> Any:
        copies[0] += bool(copy_trees)
        return original(a, b, copy_trees=copy_trees)

    monkeypatch.setattr(ConfigTree, "merge_configs", staticmethod(counting))
    return copies


def test_root_dotted_keys_do_not_copy_the_tree_per_key(
    write_tree: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyhocon's root object copies the whole subtree for every dotted key that lands in it (O(n²));
    # before this change 4,000 such keys took 28 s and 680 MB, 20,000 over 120 s and 3 GB.
    copies = _count_root_copies(monkeypatch)
    lines = [f'ticrypt.vm.realms.r{i}.name = "realm {i}"' for i in range(20_000)]
    lines += ['ticrypt.vm.mongodb.uri = "mongodb://db"']
    result = load_bounded(write_tree, main="\n".join(lines) + "\n")
    assert copies[0] == 0
    assert result.config is None  # no cost functions or profiles: errors, but every realm was read
    assert result.counts["realms"] == 20_000


@pytest.mark.parametrize(
    "text",
    [
        "a.b.c = 1\na.b.d = 2\na { e: 3 }\na.b = { f: 4 }\n",
        "a = 1\na = { b: 2 }\na.c = 3\n",
        "a = [1, 2]\na = { x: 1 }\n",
        'a { include "x" }\n',
        "",
    ],
)
def test_wrapped_parse_gives_the_same_tree_as_pyhocon(text: str) -> None:
    assert hocon_module.can_wrap(text)
    assert _wrapped_or_error(text) == _pyhocon_or_error(text)


def _pyhocon_or_error(text: str) -> object:
    from pyhocon import ConfigFactory

    try:
        return hocon_module._plain(ConfigFactory.parse_string(text))
    except Exception:
        return "error"


def _wrapped_or_error(text: str) -> object:
    try:
        return hocon_module.parse(text, "t.conf", ".", {})
    except hocon_module.HoconError:
        return "error"


@pytest.mark.parametrize(
    "text",
    [
        "{ a.b = 1, a.c = [1, 2] }\n",
        "# comment\n// another\n{\n  a.b = 1\n}\n",
        # Found by the fuzz test: wrapped, the braces read as one key and `vcpus` as its sibling.
        ' { curve: "linear", slope: 1 }\nvcpus: { soft: 8 }\n',
        "{ a: 1 } { b: 2 }\n",
    ],
)
def test_a_root_in_braces_is_parsed_as_written(text: str) -> None:
    assert not hocon_module.can_wrap(text)
    assert _wrapped_or_error(text) == _pyhocon_or_error(text)


def test_substitutions_are_not_wrapped_and_still_resolve() -> None:
    text = "base { x: 1 }\nderived = ${base} { y: 2 }\nlist = [1]\nlist += [2]\n"
    assert not hocon_module.can_wrap(text)
    assert hocon_module.parse(text, "t.conf", ".", {})["derived"] == {"x": 1, "y": 2}
    assert _wrapped_or_error(text) == _pyhocon_or_error(text)


def test_syntax_error_lines_are_unshifted_by_the_wrap(write_tree: Writer) -> None:
    result = load_bounded(write_tree, realm='name: "x"\nregistration-timeout: 5 minutes\nbad = = =\n')
    err = result.errors[0]
    at(err, "r1.conf", 3)


# -- value checks (item 8) ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "needle", "line"),
    [
        ("hard: 32 GiB }", "hard: 32 GiB, scale: 1e400 }", "too large to be a number", 8),
        ("hard: 32 GiB }", 'hard: 32 GiB, scale: "NaN" }', "must be a number", 8),
        ("slope: 1, base: 0", "slope: 1e400, base: 0", "too large or not a number", 6),
        ("cores: 8,", "cores: 1e29,", "at most 65536", 12),
        ("cores: 8,", "cores: 100000000000000000000000000000,", "at most 65536", 12),
        ("memory: 32 GiB, cost", "memory: 1e400 GiB, cost", "too large", 12),
        ("memory: 32 GiB, cost", "memory: 1e400, cost", "too large", 12),
        ("    cf {\n", "    cf {\n      scale: -1\n", "'scale' must be at least 0", 6),
    ],
)
def test_values_out_of_range_are_errors_with_file_and_line(
    write_tree: Writer, old: str, new: str, needle: str, line: int
) -> None:
    assert old in BASE
    result = load_bounded(write_tree, main=BASE.replace(old, new, 1))
    at(only(result, "error", needle), "ticrypt-vm.conf", line)
    assert result.config is None


@pytest.mark.parametrize("key", ["poll-frequency", "registration-timeout"])
def test_zero_periods_are_refused(write_tree: Writer, key: str) -> None:
    result = load_bounded(write_tree, realm=REALM + f"{key}: 0 seconds\n")
    at(only(result, "error", f"'{key}' must be more than 0"), "r1.conf", 3)


def test_reload_freq_of_zero_is_refused(write_tree: Writer) -> None:
    result = load_bounded(write_tree, main=BASE.replace("  mongodb {", "  reload-freq: 0 s\n  mongodb {"))
    at(only(result, "error", "'reload-freq' must be more than 0"), "ticrypt-vm.conf", 2)


def test_akka_port_out_of_range(write_tree: Writer) -> None:
    main = BASE.replace("  mongodb {", "  akka.remote.netty.tcp.port: 1e400\n  mongodb {")
    result = load_bounded(write_tree, main=main)
    only(result, "error", "'port'")


def test_negative_offsets_and_curve_bases_are_allowed(write_tree: Writer) -> None:
    # A negative offset prefers a pool over the others (costs are only compared); the seeds' nested
    # piecewise example has base: -8. Neither is an error.
    main = BASE.replace("    cf {\n", "    cf {\n      offset: -500\n").replace("base: 0", "base: -8")
    result = load_bounded(write_tree, main=main)
    assert result.ok, [str(d) for d in result.errors]
    assert result.config is not None
    assert result.config.cost_functions["cf"].offset == -500


# -- the snapshots pool ----------------------------------------------------------------------------
def test_snapshots_pool_follows_the_volumes_pool(write_tree: Writer) -> None:
    result = load_bounded(write_tree, realm=REALM + "volumes-pool: rel2-vm\n")
    assert result.config is not None
    realm = result.config.realms["r1"]
    assert realm.pools() == {
        "volumes": "rel2-vm",
        "drives": "ticrypt-vm-drives",
        "bricks": "ticrypt-bricks",
        "snapshots": "rel2-vm-snapshots",
    }


def test_snapshots_pool_default_and_configured(write_tree: Writer) -> None:
    assert Realm("r").snapshots_pool == "ticrypt-vm-snapshots"  # the seeds' name for the defaults
    result = load_bounded(write_tree, realm=REALM + "volumes-pool: a\nsnapshots-pool: shared-snaps\n")
    assert result.config is not None
    assert result.config.realms["r1"].pools()["snapshots"] == "shared-snaps"


# -- fleet and workload files, and the command line ---------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def place(fleet: str | Path, memory: str = "1GiB") -> subprocess.CompletedProcess[str]:
    return run_cli(
        "place", "--config", str(SAMPLE_CONFIG), "--fleet", str(fleet), "--vcpus", "1", "--memory", memory
    )


def test_fleet_from_a_device_or_fifo_is_refused_at_once(tmp_path: Path) -> None:
    proc = place("/dev/zero")
    assert proc.returncode == 1
    assert "/dev/zero: is a character device" in proc.stderr
    os.mkfifo(tmp_path / "fleet.json")
    proc = place(tmp_path / "fleet.json")
    assert proc.returncode == 1
    assert "FIFO" in proc.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"hosts":[{"name":"n1","profile":"pool1","memory":"1e400 GiB"}]}', "too large"),
        ('{"hosts":[{"name":"n1","profile":"pool1","vcpus":1e400}]}', "whole number from 0"),
        ('{"hosts":[{"name":"n1","profile":"pool1","vms":' + "9" * 30 + "}]}", "whole number from 0"),
        ('{"hosts":[{"name":"n1","profile":"pool1","vms":' + "9" * 5000 + "}]}", "4300 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_fleet_values_out_of_range_are_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text(text)
    proc = place(fleet)
    assert proc.returncode == 1
    assert needle in proc.stderr


def test_memory_flag_of_1e400_is_a_clear_error() -> None:
    proc = place(REPO / "config" / "fleet.json", memory="1e400")
    assert proc.returncode == 1
    assert "--memory: size '1e400' is too large" in proc.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"op":"start","id":"a","vcpus":1,"memory":"1e400 GiB"}\n', "too large"),
        ('{"op":"start","id":"a","vcpus":1,"memory":"1 GiB","t":1e400}\n', "finite number"),
        ('{"op":"start","id":"a","vcpus":' + "9" * 20 + ',"memory":"1 GiB"}\n', "whole number from 0"),
        ("x" * 100_000 + "\n", "line longer than"),
        ('{"op":"stop","id":"a"}\n' + "[" * 50_000 + "\n", "nested too deeply"),
    ],
)
def test_workload_values_out_of_range_are_errors_with_the_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    from tui.services.scenario_files import ScenarioFileError, load_workload

    path = tmp_path / "w.jsonl"
    path.write_text(text)
    with pytest.raises(ScenarioFileError, match=needle) as caught:
        bounded(lambda: load_workload(path))
    assert caught.value.line == text.count("\n")


def test_workload_and_trace_from_devices_are_refused(tmp_path: Path) -> None:
    from tui.services.scenario_files import ScenarioFileError, load_trace, load_workload

    os.mkfifo(tmp_path / "w.jsonl")
    for reader, path in (
        (load_workload, "/dev/zero"),
        (load_trace, "/dev/urandom"),
        (load_workload, tmp_path / "w.jsonl"),
    ):
        with pytest.raises(ScenarioFileError, match="not a regular file"):
            bounded(lambda reader=reader, path=path: reader(path))  # type: ignore[misc]


def test_trace_with_an_oversized_field_is_an_error(tmp_path: Path) -> None:
    from tui.services.scenario_files import ScenarioFileError, load_trace

    path = tmp_path / "t.csv"
    field = "\n".join(["x" * 50_000] * 3)  # each line is short; the quoted field is 150 kB
    path.write_text(f'id,start,end,vcpus,memory\n"{field}",0,1,1,1GiB\n')
    with pytest.raises(ScenarioFileError, match="CSV"):
        bounded(lambda: load_trace(path))


def test_workload_generate_refuses_absurd_counts(tmp_path: Path) -> None:
    proc = run_cli("workload", "generate", "--vms", "100000000", "-o", str(tmp_path / "w.jsonl"))
    assert proc.returncode == 1
    assert "at most 1,000,000 VMs" in proc.stderr
    assert not (tmp_path / "w.jsonl").exists()


def test_root_dotted_keys_with_substitutions_are_bounded(write_tree: Writer) -> None:
    # With ${...} the file is parsed as written, where pyhocon's root object is quadratic.
    lines = [f"a.k{i} = ${{?HOME}}" for i in range(limits.MAX_ROOT_DOTTED_WITH_SUBSTITUTIONS + 1)]
    result = load_bounded(write_tree, realm=REALM + "\n".join(lines) + "\n")
    at(only(result, "error", "dotted keys at the top level of a file with substitutions"), "r1.conf", 1)


def test_substitutions_are_bounded(write_tree: Writer) -> None:
    lines = [f"x{i} = ${{?HOME}}" for i in range(limits.MAX_SUBSTITUTIONS + 1)]
    result = load_bounded(write_tree, realm=REALM + "x {\n" + "\n".join(lines) + "\n}\n")
    only(result, "error", f"more than {limits.MAX_SUBSTITUTIONS} substitutions")


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--vcpus", "1" + "0" * 400], "vcpus must be a whole number >= 0 (at most 2147483647)"),
        (["--vcpus", "1", "--device", "nvidia-gpu=1" + "0" * 400], "device count for 'nvidia-gpu'"),
    ],
)
def test_absurd_request_counts_are_clear_cli_errors(flags: list[str], needle: str) -> None:
    # Before: OverflowError tracebacks (int too large to convert to float) from the cost curves.
    fleet = str(REPO / "config" / "fleet.json")
    proc = run_cli("place", "--config", str(SAMPLE_CONFIG), "--fleet", fleet, "--memory", "1GiB", *flags)
    assert proc.returncode == 1
    assert needle in proc.stderr
