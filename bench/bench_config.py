"""Benchmark: loading ticrypt-vm.conf (parse + validate + lint), the sample and a generated large one.

Goals (issue 2): the sample config in <= 0.3 s; 200 profiles + 200 cost functions in <= 3 s.
Prints figures and where the time goes (pyhocon parse vs vmdeck's own scanning, building and lint).
Run: .venv/bin/python bench/bench_config.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tui.services.config import load_config
from tui.services.config import loader as loader_module

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


def timed(path: Path, repeat: int) -> tuple[list[float], float]:
    parse_time = 0.0
    original = loader_module._parse

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal parse_time
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            parse_time += time.perf_counter() - start

    loader_module._parse = counting  # type: ignore[assignment]
    try:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = load_config(path)
            samples.append(time.perf_counter() - start)
            assert result.ok, [str(d) for d in result.errors][:5]
    finally:
        loader_module._parse = original  # type: ignore[assignment]
    return samples, parse_time / repeat


def report(label: str, path: Path, repeat: int, goal: float) -> None:
    samples, parse = timed(path, repeat)
    median = statistics.median(samples)
    lines = sum(1 for _ in path.open())
    verdict = "meets" if median <= goal else "MISSES"
    print(
        f"{label:<34} {lines:>6} lines  median {median * 1000:8.1f} ms  best {min(samples) * 1000:8.1f} ms  "
        f"pyhocon {parse * 1000:8.1f} ms ({parse / median:5.1%})  goal {goal * 1000:.0f} ms: {verdict} "
        f"({goal / median:.1f}x headroom)"
    )


def main() -> None:
    load_config(REPO / "config" / "ticrypt-vm.conf")  # warm imports (pyhocon, pyparsing) once
    report("sample config/ticrypt-vm.conf", REPO / "config" / "ticrypt-vm.conf", repeat=10, goal=0.3)
    with tempfile.TemporaryDirectory() as tmp:
        big = generated_config(Path(tmp))
        report("generated 200 profiles + 200 cfs", big, repeat=3, goal=3.0)


if __name__ == "__main__":
    main()
