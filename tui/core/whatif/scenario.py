"""A saved what-if: which config (by hash) with which edits, over which fleet and workload, and what
came out. Plain data, so the store keeps it as JSON and the console and CLI reopen it the same way;
results export as JSON or as CSV tables (one per kind of result).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.model import VmConfig

# Which list of rows each kind of result becomes in CSV (the rest of its JSON is a summary).
CSV_ROWS: dict[str, tuple[str, ...]] = {
    "response": ("hosts",),
    "rerank": ("hosts",),
    "replay": ("policies",),
    "ab": ("differences",),
    "drain": ("moves", "unmovable"),
    "rebalance": ("moves", "unmovable"),
    "consolidate": ("moves", "unmovable"),
}


def config_hash(config: VmConfig) -> str:
    """sha256 of what scheduling depends on (cost functions, profiles): equal hashes schedule alike."""
    doc = {
        "cost_functions": {
            cid: {
                "vms": cf.vms.to_config() if cf.vms else None,
                "vcpus": cf.vcpus.to_config() if cf.vcpus else None,
                "memory": cf.memory.to_config() if cf.memory else None,
                "devices": {k: c.to_config() for k, c in cf.devices.items()},
                "scale": cf.scale,
                "offset": cf.offset,
            }
            for cid, cf in sorted(config.cost_functions.items())
        },
        "profiles": {
            pid: {
                "cores": p.cores,
                "memory": p.memory,
                "cost_function": p.cost_function,
                "devices": [[d.type, d.addr] for d in p.devices],
            }
            for pid, p in sorted(config.hardware_profiles.items())
        },
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=repr)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Scenario:
    name: str
    config_hash: str
    config_source: str | None = None
    edits: tuple[str, ...] = ()  # Edit.to_text() of each edit, in order
    fleet: Mapping[str, Any] | None = None  # FleetModel.to_json()
    fleet_source: str | None = None  # a file, or "live:<store dir>"
    workload: Mapping[str, Any] | None = None  # {"spec": {...}} or {"events": [...], "source": file}
    results: Mapping[str, Any] = field(default_factory=dict)  # kind -> its JSON
    created: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config_hash": self.config_hash,
            "config_source": self.config_source,
            "edits": list(self.edits),
            "fleet": self.fleet,
            "fleet_source": self.fleet_source,
            "workload": self.workload,
            "results": dict(self.results),
            "created": self.created,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scenario:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a scenario needs a non-empty 'name'")
        return cls(
            name=name,
            config_hash=str(data.get("config_hash", "")),
            config_source=data.get("config_source"),
            edits=tuple(str(e) for e in data.get("edits") or ()),
            fleet=data.get("fleet"),
            fleet_source=data.get("fleet_source"),
            workload=data.get("workload"),
            results=dict(data.get("results") or {}),
            created=str(data.get("created", "")),
            note=str(data.get("note", "")),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created": self.created,
            "config_hash": self.config_hash,
            "edits": len(self.edits),
            "results": sorted(self.results),
            "note": self.note,
        }


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, list | tuple):
            if value and isinstance(value[0], Mapping):
                continue  # nested tables (a policy's per-host rows) have their own export
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def csv_tables(results: Mapping[str, Any]) -> dict[str, str]:
    """`{file stem: CSV text}`: one table per list of rows of each result (e.g. rebalance-moves)."""
    tables: dict[str, str] = {}
    for kind, data in sorted(results.items()):
        for part in CSV_ROWS.get(kind, ()):
            rows = [_flatten(r) for r in (data or {}).get(part, [])]
            columns: list[str] = []
            for row in rows:
                columns.extend(k for k in row if k not in columns)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=columns or ["empty"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            tables[f"{kind}-{part}"] = buffer.getvalue()
    return tables
