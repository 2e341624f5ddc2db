"""One sparkline rule (tui.core.sparkline) for the console and the CLI: ∞ where a value is infinite,
· where it is unknown, finite values on their own range (or a shared one); `vmdeck lab response`
draws each host's costs exactly as the console's load-response view does."""

from __future__ import annotations

import json
import math

import pytest

from tui.cli import main
from tui.core.sparkline import finite_range, spark

from .conftest import REPO, SAMPLE_CONFIG

INF = math.inf


@pytest.mark.parametrize(
    ("values", "kwargs", "drawn"),
    [
        ([1.0, 2.0, INF], {}, "▁█∞"),
        ([0.0, 4.0, 8.0], {}, "▁▅█"),
        ([3.0, 3.0], {}, "▁▁"),
        ([None, 1.0, INF, 2.0], {}, "·▁∞█"),
        ([INF, INF], {}, "∞∞"),
        ([1.0, 2.0, 3.0, 4.0], {"width": 2}, "▁█"),  # the last `width` values
        ([5.0, 10.0], {"scale": (0.0, 10.0)}, "▅█"),  # on a scale shared with another line
    ],
)
def test_spark(values: list[float | None], kwargs: dict[str, object], drawn: str) -> None:
    assert spark(values, **kwargs) == drawn  # type: ignore[arg-type]


def test_finite_range_ignores_infinity_and_unknowns() -> None:
    assert finite_range([INF, None, 2.0, -1.0]) == (-1.0, 2.0)
    assert finite_range([INF]) == (0.0, 0.0)


def test_the_cli_draws_the_load_response_as_the_console_does(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "lab",
        "response",
        "--config",
        str(SAMPLE_CONFIG),
        "--fleet",
        str(REPO / "config" / "lab-fleet.json"),
    ]
    argv += ["--vcpus", "2", "--memory", "4GiB"]
    assert main([*argv, "--json"]) == 0
    # JSON has no infinity: the CLI writes it "inf", which float() reads back.
    costs = {h["host"]: [float(c) for c in h["costs"]] for h in json.loads(capsys.readouterr().out)["hosts"]}
    assert main(argv) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert any(math.isinf(c) for host in costs.values() for c in host)  # refusals are in the data …
    for host, values in costs.items():
        assert lines[host][2] == spark(values)  # … and drawn as the console draws them (∞)
