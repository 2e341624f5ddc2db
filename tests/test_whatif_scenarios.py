"""Scenarios in the store (save, list, replace, reopen, delete, exports) and `vmdeck lab` end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.whatif import Scenario
from tui.services.scenarios import ScenarioError, ScenarioStore, export_csv, export_json

REPO = Path(__file__).resolve().parents[1]
CONF = str(REPO / "config" / "ticrypt-vm.conf")
FLEET = str(REPO / "config" / "lab-fleet.json")


def test_store_round_trip(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path)
    results = {
        "rebalance": {
            "moves": [{"vm": "a", "from": "h1", "to": "h2", "delta": float("-inf")}],
            "unmovable": [],
        }
    }
    saved = store.save(Scenario("one", "sha256:x", edits=("pool1.vcpus.soft=9",), results=results))
    assert saved.created
    with pytest.raises(ScenarioError, match="exists"):
        store.save(Scenario("one", "sha256:y"))
    store.save(Scenario("one", "sha256:y", note="again"), replace=True)
    store.save(Scenario("two", "sha256:z"))
    assert [s.name for s in store.list()] == ["one", "two"]
    assert store.get("one").note == "again"
    assert (tmp_path / "scenarios.json").is_file()
    store.delete("two")
    with pytest.raises(ScenarioError):
        store.get("two")
    # Reopened from a fresh store object: what was saved, JSON-safe (infinity as text).
    again = ScenarioStore(tmp_path).get("one")
    assert again.config_hash == "sha256:y"
    scenario = Scenario("x", "h", results=results)
    data = json.loads(export_json(scenario, tmp_path / "x.json").read_text())
    assert data["results"]["rebalance"]["moves"][0]["delta"] == "-inf"
    paths = export_csv(scenario, tmp_path / "csv")
    assert sorted(p.name for p in paths) == ["rebalance-moves.csv", "rebalance-unmovable.csv"]
    rows = list(csv.DictReader((tmp_path / "csv" / "rebalance-moves.csv").open()))
    assert rows == [{"vm": "a", "from": "h1", "to": "h2", "delta": "-inf"}]


def test_export_json_is_strict_json_even_for_nan(tmp_path: Path) -> None:
    # One JSON-safe rule (tui/core/jsonsafe.py) for the CLI and the scenario files: a NaN (a 0/0 in a
    # result) is null, never the bare `NaN` json.dumps writes, which strict JSON readers refuse.
    scenario = Scenario("x", "h", results={"response": {"costs": [float("nan"), float("inf"), 1.5]}})
    text = export_json(scenario, tmp_path / "nan.json").read_text()

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert data["results"]["response"]["costs"] == [None, "inf", 1.5]


def _lab(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["lab", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_edit_rerank_and_save(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path)
    code, data = _lab(
        capsys,
        "edit",
        "--config",
        CONF,
        "--fleet",
        FLEET,
        "--set",
        "pool2.offset=0",
        "--save",
        "s1",
        "--store",
        store,
    )
    assert code == 0
    assert data["ok"]
    assert data["roundtrip"] is True
    # Equal costs now: the empty pool1 host still wins on its name, the empty pool2 host comes second.
    assert data["rerank"]["new_choice"] == "pool1-02"
    ranks = {h["host"]: (h["old_rank"], h["new_rank"]) for h in data["rerank"]["hosts"]}
    assert ranks["pool2-02"] == (6, 2)
    assert "offset" not in data["hocon"]
    code, listed = _lab(capsys, "scenario", "list", "--store", store)
    assert [s["name"] for s in listed["scenarios"]] == ["s1"]
    code, shown = _lab(capsys, "scenario", "show", "s1", "--store", store)
    assert shown["edits"] == ["pool2.offset=0"]
    assert shown["results"]["rerank"]["rerank"] == data["rerank"]


def test_cli_edit_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _lab(capsys, "edit", "--config", CONF, "--fleet", FLEET, "--set", "pool1.vcpus.soft=99")
    assert code == 1
    assert not data["ok"]
    assert any("must be below hard" in d["message"] for d in data["diagnostics"])


def test_cli_plans_and_replay(capsys: pytest.CaptureFixture[str]) -> None:
    code, drain = _lab(capsys, "drain-preview", "gpu-01", "--config", CONF, "--fleet", FLEET)
    assert code == 0
    assert [s["vm"] for s in drain["unmovable"]] == ["vm-019"]
    code, reb = _lab(capsys, "rebalance", "--config", CONF, "--fleet", FLEET, "--max-moves", "3")
    assert code == 0
    assert reb["after"]["total"] < reb["before"]["total"]
    code, con = _lab(capsys, "consolidate", "--config", CONF, "--fleet", FLEET, "--max-hosts", "1")
    assert len(con["emptied"]) == 1
    code, rep = _lab(
        capsys, "replay", "--config", CONF, "--fleet", FLEET, "--vms", "200", "--add-hosts", "pool1=2"
    )
    assert [p["policy"] for p in rep["policies"]] == ["cost", "first-fit", "best-fit", "spread"]
    assert len(rep["policies"][0]["hosts"]) == 14
    code, bad = _lab(capsys, "replay", "--config", CONF, "--fleet", FLEET, "--remove-hosts", "pool1=99")
    assert code == 1
    assert "cannot remove" in bad["error"]


def test_core_stays_pure() -> None:
    code = "import tui.core.whatif, sys; print(sorted(m for m in ('textual','libvirt','tinydb','pyhocon') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"
