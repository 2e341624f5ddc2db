"""Benchmark: loading ticrypt-vm.conf (parse + validate + lint), the sample and a generated large one.

Goals: the sample config in <= 0.3 s (issue 2); 200 profiles + 200 cost functions in <= 0.5 s
(issue 14), and 20,000 root-level dotted keys in seconds (issue 10). Printed side by side, in one
run: pyhocon alone (parse_file, no checks: the floor without a cache), vmdeck with the parse cache
off (every load parses), a cold cache (the first load, which also writes the entry) and a warm cache
(the entry exists: no pyhocon at all), plus the whole `vmdeck validate` process warm.
Run: .venv/bin/python bench/bench_config.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tui.services.config import load_config

REPO = Path(__file__).resolve().parents[1]


def generated_config(directory: Path, n_cost_functions: int = 200, n_profiles: int = 200) -> Path:
    lines = ["ticrypt.vm {", '  mongodb { uri: "mongodb://db" }', "  realms {"]
    (directory / "realms").mkdir(exist_ok=True)
    for r in range(4):
        (directory / "realms" / f"r{r}.conf").write_text(
            f'name: "Realm {r}"\nregistration-timeout: 5 minutes\n'
        )
        lines.append(f'    r{r} = {{ include "realms/r{r}.conf" }}')
    lines += ["  }", "  cost-functions {"]
    for i in range(n_cost_functions):
        lines += [
            f"    cf{i} {{",
            f'      name: "Cost function {i}"',
            "      vms: { curve: linear, slope: 1, base: 0 }",
            f"      vcpus: {{ curve: hard-soft, soft: {8 + i % 8}, hard: {16 + i % 16}, softAmt: 4, hardAmt: 32 }}",
            "      memory: { curve: hard-soft, soft: 16 GiB, hard: 32 GiB, scale: 10 }",
            "      devices.gpu: { curve: piecewise, cutoff: 1, low: { curve: linear, slope: 1, base: 0 }, "
            "high: { curve: constant, value: 50 }, max: 4 }",
            f"      offset: {i * 10}",
            "    }",
        ]
    lines += ["  }", "  hardware-profiles {"]
    for i in range(n_profiles):
        lines += [
            f"    p{i} {{",
            f'      name: "Profile {i}"',
            "      cores: 32",
            "      memory: 64 GiB",
            f"      cost-function: cf{i % n_cost_functions}",
            "      devices = [",
            f'        {{type: "gpu", addr: "{i % 256:02x}:01.0"}}',
            f'        {{type: "gpu", addr: "{i % 256:02x}:02.0"}}',
            "      ]",
            "    }",
        ]
    lines += ["  }", "}"]
    path = directory / "ticrypt-vm.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def median_s(fn: Callable[[], object], repeat: int, before: Callable[[], None] = lambda: None) -> float:
    samples = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def loaded_ok(path: Path) -> None:
    result = load_config(path)
    assert result.ok, [str(d) for d in result.errors][:5]


def report(label: str, path: Path, repeat: int, goal: float, cache: Path) -> None:
    from pyhocon import ConfigFactory

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    lines = sum(1 for _ in path.open())
    alone = median_s(lambda: ConfigFactory.parse_file(str(path)), repeat)
    os.environ["VMDECK_CONFIG_CACHE"] = "off"
    uncached = median_s(lambda: loaded_ok(path), repeat)
    del os.environ["VMDECK_CONFIG_CACHE"]
    cold = median_s(lambda: loaded_ok(path), repeat, before=clear)
    warm = median_s(lambda: loaded_ok(path), max(repeat, 5))
    process = median_s(
        lambda: subprocess.run(
            [sys.executable, "-m", "tui.cli", "validate", str(path)], capture_output=True, check=True
        ),
        3,
    )
    verdict = "meets" if warm <= goal else "MISSES"
    print(f"{label} ({lines} lines)")
    print(f"  pyhocon alone (parse_file)  {alone * 1000:9.1f} ms")
    print(f"  vmdeck, cache off           {uncached * 1000:9.1f} ms  ({uncached / alone:.2f}x pyhocon alone)")
    print(f"  vmdeck, cold cache          {cold * 1000:9.1f} ms  ({cold / alone:.2f}x)")
    print(
        f"  vmdeck, warm cache          {warm * 1000:9.1f} ms  ({alone / warm:.1f}x faster than pyhocon alone)"
        f"  goal {goal * 1000:.0f} ms: {verdict}"
    )
    print(
        f"  `vmdeck validate` process, warm {process * 1000:5.0f} ms (interpreter start and imports included)"
    )


def dotted(directory: Path, n: int) -> Path:
    lines = [f'ticrypt.vm.realms.r{i}.name = "realm {i}"' for i in range(n)]
    path = directory / f"dotted-{n}.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def report_dotted(directory: Path) -> None:
    from pyhocon import ConfigFactory

    os.environ["VMDECK_CONFIG_CACHE"] = "off"
    print("root-level dotted keys (ticrypt.vm.realms.rN.name = ...), cache off")
    for n in (1000, 2000, 20000):
        path = dotted(directory, n)
        ours = median_s(lambda path=path: load_config(path), 1)  # type: ignore[misc]
        if n <= 2000:  # pyhocon alone is quadratic here: 20,000 take minutes and gigabytes
            alone = median_s(lambda path=path: ConfigFactory.parse_file(str(path)), 1)  # type: ignore[misc]
            print(
                f"  {n:>6} keys: pyhocon alone {alone:7.2f} s   vmdeck load {ours:6.2f} s ({alone / ours:.1f}x)"
            )
        else:
            print(f"  {n:>6} keys: pyhocon alone (not run: quadratic)   vmdeck load {ours:6.2f} s")
    del os.environ["VMDECK_CONFIG_CACHE"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        os.environ["VMDECK_CACHE_DIR"] = str(cache)
        loaded_ok(REPO / "config" / "ticrypt-vm.conf")  # warm imports (pyhocon, pyparsing) once
        report(
            "sample config/ticrypt-vm.conf", REPO / "config" / "ticrypt-vm.conf", 10, 0.3, cache / "config"
        )
        big_dir = Path(tmp) / "big"
        big_dir.mkdir()
        big = generated_config(big_dir)
        report("generated 200 profiles + 200 cost functions", big, 3, 0.5, cache / "config")
        report_dotted(Path(tmp))


if __name__ == "__main__":
    main()
