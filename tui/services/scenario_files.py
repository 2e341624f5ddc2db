"""Reading and writing what-if scenario files: FLEET.json, workload JSONL and CSV traces.

Every error names the file and the line (1-based) so an admin can jump straight to it; the parsed
results are plain core objects (`Fleet`, start/stop events) for the scheduler.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from tui.core.fleet import Fleet, FleetError
from tui.core.model import VmConfig
from tui.core.scheduling.request import Request, RequestError
from tui.core.scheduling.workload import Event, Interval, StartEvent, StopEvent, events_from_intervals
from tui.core.units import UnitError, parse_size


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; str() is `file:line: message`."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


# --- FLEET.json ------------------------------------------------------------------------------------
def read_fleet_document(path: str | os.PathLike[str]) -> tuple[str, Any]:
    """The text and the parsed JSON of a fleet file; unreadable or invalid JSON names file and line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(name, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(name, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None


def fleet_error_at(path: str | os.PathLike[str], text: str, exc: FleetError) -> ScenarioFileError:
    """A FleetError ("hosts[N] ...") placed on the line where host N starts."""
    match = re.match(r"hosts\[(\d+)\]", str(exc))
    lines = _host_lines(text)
    line = lines[int(match.group(1))] if match and int(match.group(1)) < len(lines) else None
    return ScenarioFileError(str(path), line, str(exc))


def load_fleet(path: str | os.PathLike[str], config: VmConfig | None = None) -> Fleet:
    text, data = read_fleet_document(path)
    try:
        return Fleet.from_json(data, config)
    except FleetError as exc:
        raise fleet_error_at(path, text, exc) from None


def _host_lines(text: str) -> list[int]:
    """The line on which each element of the top-level "hosts" array starts (a tiny JSON scanner:
    the json module keeps no positions)."""
    lines: list[int] = []
    stack: list[str] = []  # "{" / "[" containers; the hosts array is "[" directly inside the root "{"
    line, i, n = 1, 0, len(text)
    last_key: str | None = None
    hosts_depth: int | None = None
    expecting_element = False
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if len(stack) == 1:
                last_key = text[i + 1 : j]
            if expecting_element:
                lines.append(line)
                expecting_element = False
            i = j
        elif ch in "{[":
            if expecting_element:
                lines.append(line)
                expecting_element = False
            stack.append(ch)
            if ch == "[" and len(stack) == 2 and last_key == "hosts":
                hosts_depth = 2
                expecting_element = True
        elif ch in "}]":
            if stack:
                stack.pop()
            if hosts_depth is not None and len(stack) < hosts_depth:
                hosts_depth = None
                expecting_element = False
        elif ch == "," and hosts_depth is not None and len(stack) == hosts_depth:
            expecting_element = True
        elif not ch.isspace() and expecting_element:
            lines.append(line)
            expecting_element = False
        i += 1
    return lines


# --- workload JSONL --------------------------------------------------------------------------------
def load_workload(path: str | os.PathLike[str]) -> list[Event]:
    return list(stream_workload(path))


def stream_workload(path: str | os.PathLike[str]) -> Iterator[Event]:
    """The workload's events one at a time, as the file is read (a replay can consume them as they
    come); raises ScenarioFileError naming the line when one is wrong. Lines are parsed with orjson
    (2.5x the json module here); a line it refuses is parsed again with json, which accepts the same
    documents as before (NaN, huge integers) and gives the same messages."""
    name = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ScenarioFileError(name, None, f"cannot read: {exc.strerror or exc}") from None
    running: set[str] = set()
    shapes: dict[tuple[object, ...], Request] = {}  # a workload has few distinct shapes
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip() or raw.lstrip().startswith(b"#"):
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                try:
                    data = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise ScenarioFileError(name, number, f"not UTF-8 text: {exc.reason}") from None
                except json.JSONDecodeError as exc:
                    raise ScenarioFileError(
                        name, number, f"not valid JSON: {exc.msg} (column {exc.colno})"
                    ) from None
            try:
                event = event_from_json(data, shapes)
            except ValueError as exc:
                raise ScenarioFileError(name, number, str(exc)) from None
            if isinstance(event, StartEvent):
                if event.id in running:
                    raise ScenarioFileError(name, number, f"start of {event.id!r} while it is still running")
                running.add(event.id)
            else:
                running.discard(event.id)
            yield event


def event_from_json(data: Any, shapes: dict[tuple[object, ...], Request] | None = None) -> Event:
    """One workload event from its JSON object. `shapes` caches the requests already read, keyed by
    the raw vcpus, memory and devices (with their types, so `true` never passes for 1)."""
    if not isinstance(data, Mapping):
        raise ValueError(
            'expected an object such as {"op": "start", "id": "vm1", "vcpus": 2, "memory": "4 GiB"}'
        )
    op = data.get("op")
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise ValueError(f"'id' must be a non-empty string or a number, got {raw_id!r}")
    vm_id = str(raw_id)
    time = data.get("t")
    if time is not None and (isinstance(time, bool) or not isinstance(time, int | float)):
        raise ValueError(f"'t' must be a number, got {time!r}")
    when = float(time) if time is not None else None
    if op == "stop":
        return StopEvent(vm_id, when)
    if op != "start":
        raise ValueError(f'\'op\' must be "start" or "stop", got {op!r}')
    for key in ("vcpus", "memory"):
        if key not in data:
            raise ValueError(f"start of {vm_id!r}: missing {key!r}")
    raw_devices = data.get("devices", {})
    shape_key = _shape_key(data["vcpus"], data["memory"], raw_devices) if shapes is not None else None
    if shape_key is not None and shapes is not None:
        known = shapes.get(shape_key)
        if known is not None:
            return StartEvent(vm_id, known, when)
    vcpus = data["vcpus"]
    if isinstance(vcpus, bool) or not isinstance(vcpus, int) or vcpus < 0:
        raise ValueError(f"start of {vm_id!r}: 'vcpus' must be a whole number >= 0, got {vcpus!r}")
    try:
        memory = parse_size(data["memory"])
    except UnitError as exc:
        raise ValueError(f"start of {vm_id!r}: 'memory': {exc}") from None
    devices = data.get("devices", {})
    if not isinstance(devices, Mapping):
        raise ValueError(f"start of {vm_id!r}: 'devices' must be an object {{type: count}}")
    try:
        request = Request(vcpus, memory, tuple(devices.items()))
    except RequestError as exc:
        raise ValueError(f"start of {vm_id!r}: {exc}") from None
    if shape_key is not None and shapes is not None and len(shapes) < 100_000:
        shapes[shape_key] = request
    return StartEvent(vm_id, request, when)


def _shape_key(vcpus: object, memory: object, devices: object) -> tuple[object, ...] | None:
    """A hashable key of a start's raw request fields, or None when one is not a plain value."""
    plain = (int, str, float)
    if type(vcpus) not in plain or type(memory) not in plain:
        return None
    if not isinstance(devices, dict):
        return None
    items = []
    for kind, count in devices.items():
        if type(count) not in plain:
            return None
        items.append((kind, type(count), count))
    return (type(vcpus), vcpus, type(memory), memory, tuple(items))


def write_workload(path: str | os.PathLike[str], events: Iterable[Event]) -> int:
    """Write events as JSONL atomically (temp file + os.replace); returns the number written."""
    target = Path(path)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for event in events:
                out.write(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
                count += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


# --- CSV traces ------------------------------------------------------------------------------------
TRACE_COLUMNS = ("id", "start", "end", "vcpus", "memory")


def load_trace(path: str | os.PathLike[str]) -> list[Event]:
    """A CSV trace with a header `id,start,end,vcpus,memory[,devices]` -> events in time order.

    `end` may be empty (still running); `memory` takes size units ("4 GiB"); `devices` is
    `type=count` pairs separated by `;` (e.g. `nvidia-gpu=1`).
    """
    name = str(path)
    try:
        handle = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ScenarioFileError(name, None, f"cannot read: {exc.strerror or exc}") from None
    intervals: list[Interval] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TRACE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ScenarioFileError(
                name, 1, f"missing column(s) {', '.join(missing)} (need {','.join(TRACE_COLUMNS)})"
            )
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            try:
                item = _interval(row)
            except (ValueError, UnitError) as exc:
                raise ScenarioFileError(name, line, str(exc)) from None
            if item.id in seen:
                raise ScenarioFileError(name, line, f"duplicate id {item.id!r}")
            seen.add(item.id)
            intervals.append(item)
    return events_from_intervals(intervals)


def _interval(row: Mapping[str, str | None]) -> Interval:
    vm_id = (row.get("id") or "").strip()
    if not vm_id:
        raise ValueError("empty id")
    start = float(row.get("start") or "nan")
    if start != start:
        raise ValueError(f"{vm_id}: empty or invalid start")
    end_text = (row.get("end") or "").strip()
    end = float(end_text) if end_text else None
    if end is not None and end < start:
        raise ValueError(f"{vm_id}: ends ({end:g}) before it starts ({start:g})")
    vcpus = int((row.get("vcpus") or "").strip())
    memory = parse_size((row.get("memory") or "").strip())
    devices: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in (row.get("devices") or "").split(";"))):
        kind, _, count = part.partition("=")
        devices.append((kind.strip(), int(count or "1")))
    try:
        request = Request(vcpus, memory, tuple(devices))
    except RequestError as exc:
        raise ValueError(f"{vm_id}: {exc}") from None
    return Interval(vm_id, start, end, request)
