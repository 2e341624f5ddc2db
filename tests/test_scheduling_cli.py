"""`vmdeck place/headroom/simulate/workload` on the sample config, fleet and workload in config/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tui.cli import main

REPO = Path(__file__).resolve().parent.parent
CONF = str(REPO / "config" / "ticrypt-vm.conf")
FLEET = str(REPO / "config" / "fleet.json")
WORKLOAD = str(REPO / "config" / "workload.jsonl")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_place_json_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "place", "--config", CONF, "--fleet", FLEET, "--vcpus", "2", "--memory", "4GiB", "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert data["placed"]
    assert data["host"] == "pool1-01"
    assert data["cost"] == 4.5
    costs = [c["cost"] for c in data["candidates"]]
    assert len(costs) == 24
    assert costs[0] == 4.5
    assert {c["host"]: c["terms"] for c in data["candidates"]}["pool1-01"] == {
        "vms": 1.0,
        "vcpus": 1.0,
        "memory": 2.5,
        "devices": {},
    }
    refused = [c for c in data["candidates"] if c["cost"] is None]
    assert {c["state"] for c in refused} == {"no-scheduling", "disabled"}


def test_place_gpu_takes_the_lowest_free_address_and_infinite_prints_as_inf(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys,
        "place",
        "--config",
        CONF,
        "--fleet",
        FLEET,
        "--vcpus",
        "2",
        "--memory",
        "4GiB",
        "--device",
        "nvidia-gpu=1",
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["host"] == "gpu-03"
    assert data["devices"] == ["0000:01:02.0"]
    code, out, _ = run(
        capsys, "place", "--config", CONF, "--fleet", FLEET, "--vcpus", "20", "--memory", "1GiB", "--json"
    )
    data = json.loads(out)
    assert code == 1
    assert not data["placed"]
    assert data["cost"] is None
    assert "inf" in [c["cost"] for c in data["candidates"]]
    assert any("vcpus is infinite at" in (c["reason"] or "") for c in data["candidates"])


def test_headroom_and_simulate_human_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "headroom", "--config", CONF, "--fleet", FLEET, "--vcpus", "4", "--memory", "8GiB"
    )
    assert code == 0
    assert "more VMs of this shape" in out
    assert "stopped by" in out
    code, out, _ = run(
        capsys, "simulate", "--config", CONF, "--fleet", FLEET, "--workload", WORKLOAD, "--json"
    )
    data = json.loads(out)
    starts = sum(1 for line in Path(WORKLOAD).read_text().splitlines() if '"start"' in line)
    assert code == 0
    assert data["placed"] + data["rejected"] == starts == len(data["placements"])
    assert set(data["placements"][0]) == {"id", "host", "cost", "devices", "reason"}
    assert len(data["hosts"]) == 24
    assert data["elapsed_s"] >= 0
    code, out, _ = run(
        capsys, "simulate", "--config", CONF, "--fleet", FLEET, "--workload", WORKLOAD, "--policy", "all"
    )
    assert code == 0
    assert all(p in out for p in ("cost", "first-fit", "best-fit", "spread"))


def test_compare_reports_differences(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for sub in ("cost-functions", "realms"):
        shutil.copytree(REPO / "config" / sub, tmp_path / sub)
    text = Path(CONF).read_text().replace("offset: 1000\n", "offset: 0\n")
    other = tmp_path / "b.conf"
    other.write_text(text)
    code, out, _ = run(
        capsys,
        "simulate",
        "--config",
        CONF,
        "--fleet",
        FLEET,
        "--workload",
        WORKLOAD,
        "--compare",
        str(other),
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["differ"] > 0
    assert data["differ"] == len(data["differences"])
    first = data["differences"][0]
    assert first["a"]["host"] != first["b"]["host"]
    code, out, _ = run(
        capsys,
        "simulate",
        "--config",
        CONF,
        "--fleet",
        FLEET,
        "--workload",
        WORKLOAD,
        "--compare",
        CONF,
        "--json",
    )
    assert json.loads(out)["differ"] == 0


def test_bad_inputs_name_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fleet = json.loads(Path(FLEET).read_text())
    fleet["hosts"][2]["profile"] = "nope"
    bad_fleet = tmp_path / "fleet.json"
    bad_fleet.write_text(json.dumps(fleet, indent=2))
    expected_line = json.dumps(fleet, indent=2).splitlines().index("    {", 0) + 1
    lines = json.dumps(fleet, indent=2).splitlines()
    starts = [n + 1 for n, line in enumerate(lines) if line == "    {"]
    assert starts[0] == expected_line
    code, _, err = run(
        capsys, "place", "--config", CONF, "--fleet", str(bad_fleet), "--vcpus", "1", "--memory", "1GiB"
    )
    assert code == 1
    assert f"fleet.json:{starts[2]}:" in err
    assert "unknown profile 'nope'" in err

    work = tmp_path / "w.jsonl"
    work.write_text(
        '{"op": "start", "id": "a", "vcpus": 1, "memory": "1GiB"}\n\n{"op": "start", "id": "b", "vcpus": 1, "memory": "-1GiB"}\n'
    )
    code, _, err = run(capsys, "simulate", "--config", CONF, "--fleet", FLEET, "--workload", str(work))
    assert code == 1
    assert "w.jsonl:3:" in err
    assert "negative" in err
    work.write_text('{"op": "start", "id": "a", "vcpus": 1, "memory": 1}\n{"op": "launch", "id": "a"}\n')
    code, _, err = run(capsys, "simulate", "--config", CONF, "--fleet", FLEET, "--workload", str(work))
    assert code == 1
    assert "w.jsonl:2:" in err
    assert "'op'" in err
    code, _, err = run(capsys, "place", "--config", CONF, "--fleet", FLEET, "--vcpus", "1", "--memory", "-3")
    assert code == 1
    assert "negative" in err


def test_generate_and_import_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "gen.jsonl"
    code, out, _ = run(
        capsys,
        "workload",
        "generate",
        "-o",
        str(out_file),
        "--vms",
        "50",
        "--gpu-share",
        "0.5",
        "--seed",
        "1",
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["starts"] == 50
    assert data["events"] == 100
    assert len(out_file.read_text().splitlines()) == 100
    trace = tmp_path / "trace.csv"
    trace.write_text(
        "id,start,end,vcpus,memory,devices\nx,0,5,2,4GiB,\ny,1,,1,1GiB,nvidia-gpu=1\nz,2,1,1,1GiB,\n"
    )
    code, _, err = run(capsys, "workload", "import", str(trace), "-o", str(tmp_path / "t.jsonl"))
    assert code == 1
    assert "trace.csv:4:" in err
    trace.write_text("id,start,end,vcpus,memory,devices\nx,0,5,2,4GiB,\ny,1,,1,1GiB,nvidia-gpu=1\n")
    code, _, _ = run(capsys, "workload", "import", str(trace), "-o", str(tmp_path / "t.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert code == 0
    assert [(e["op"], e["id"]) for e in lines] == [
        ("start", "x"),
        ("start", "y"),
        ("stop", "x"),
    ]
    assert lines[1]["devices"] == {"nvidia-gpu": 1}
    code, out, _ = run(
        capsys,
        "simulate",
        "--config",
        CONF,
        "--fleet",
        FLEET,
        "--workload",
        str(tmp_path / "t.jsonl"),
        "--json",
    )
    assert code == 0
    assert json.loads(out)["placed"] == 2
