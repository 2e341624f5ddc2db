"""Reading and writing what-if scenario files: FLEET.json, workload JSONL and CSV traces.

Every error names the file and the line (1-based) so an admin can jump straight to it; the parsed
results are plain core objects (`Fleet`, start/stop events) for the scheduler. Files are opened through
`bounded_files` (regular files only, size limits from tui/core/limits.py; a FIFO or /dev/zero is
refused at once) and workloads are read a bounded line at a time with a bounded number of events.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from tui.core import limits
from tui.core.fleet import Fleet, FleetError
from tui.core.model import VmConfig
from tui.core.scheduling.request import Request, RequestError
from tui.core.scheduling.workload import Event, Interval, StartEvent, StopEvent, events_from_intervals
from tui.core.units import UnitError, parse_size
from tui.services.bounded_files import InputFileError, decode_text, open_regular, read_text


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
        text = read_text(path, limits.MAX_FLEET_FILE_BYTES)
    except InputFileError as exc:
        raise ScenarioFileError(name, None, exc.message) from None
    try:
        return text, orjson.loads(text)  # 5x the json module on 100,000 hosts
    except orjson.JSONDecodeError:
        return text, _json(name, None, text)  # its messages (and NaN, huge integers) as before


def _json(name: str, line: int | None, text: str) -> Any:
    """json.loads with every failure as a ScenarioFileError (line: of the file, or of the JSON text)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = line if line is not None else exc.lineno
        raise ScenarioFileError(name, at, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ScenarioFileError(name, line, "not valid here: JSON nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise ScenarioFileError(name, line, "not valid here: a number with more than 4300 digits") from None


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
_CHUNK = 1 << 20  # bytes read at a time: lines are split in C, not read one system call at a time
# The fast path's events are made by filling a bare instance's fields: a frozen dataclass's __init__
# sets each field through object.__setattr__, a fifth of reading a line (tests/test_simulate_io.py holds
# the two ways to equal events, and the event classes to fields only, without __post_init__).
_new = object.__new__
_NONE: dict[str, object] = {}  # a start without "devices" (never changed)
_EVENT = "a workload event"


def _chunks(path: str | os.PathLike[str], what: str) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, whole lines) of a regular file, about a chunk at a time: each line
    with its newline but the file's last when it has none. Memory stays bounded by one chunk and one
    line; a line cut by the chunk's end longer than MAX_WORKLOAD_LINE_BYTES is refused here, the
    lines of a chunk by the caller (each at most the limit with its newline)."""
    name = str(path)
    limit = limits.MAX_WORKLOAD_LINE_BYTES
    try:
        handle = open_regular(path, limits.MAX_WORKLOAD_FILE_BYTES)
    except InputFileError as exc:
        raise ScenarioFileError(name, None, exc.message) from None
    with handle:
        number = 1
        rest = b""
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                body, rest = data[:cut], data[cut:]
                yield number, body
                number += body.count(b"\n")
            else:
                rest = data
            if len(rest) > limit:
                raise ScenarioFileError(name, number, f"line longer than {limit} bytes: not {what}")
        if rest:
            yield number, rest


def _raw_lines(path: str | os.PathLike[str], what: str) -> Iterator[tuple[int, bytes]]:
    """(number, bytes) of each line of a regular file, each at most MAX_WORKLOAD_LINE_BYTES with its
    newline."""
    name = str(path)
    limit = limits.MAX_WORKLOAD_LINE_BYTES
    for first, body in _chunks(path, what):
        lines = body.split(b"\n")
        last = lines.pop()  # b"" after a newline; else the file's last line, which has none
        for number, line in enumerate(lines, first):
            if len(line) >= limit:  # with its newline, longer than the limit
                raise ScenarioFileError(name, number, f"line longer than {limit} bytes: not {what}")
            yield number, line
        if last:
            yield first + len(lines), last


def _lines(path: str | os.PathLike[str], what: str) -> Iterator[tuple[int, str]]:
    """(number, text) of each line of a regular UTF-8 file, each at most MAX_WORKLOAD_LINE_BYTES."""
    name = str(path)
    for number, raw in _raw_lines(path, what):
        try:
            yield number, decode_text(name, raw)
        except InputFileError as exc:
            raise ScenarioFileError(name, number, exc.message) from None


def _count(name: str, number: int, count: int) -> None:
    if count > limits.MAX_WORKLOAD_EVENTS:
        raise ScenarioFileError(name, number, f"more than {limits.MAX_WORKLOAD_EVENTS:,} events in one file")


# The fast path: the line as `write_workload` (compact) or json.dumps (a space after ":" and ",")
# writes it, keys in to_json's order, read by one regular expression over a whole chunk, in C. A
# line it takes is a JSON object whatever its "devices" hold: an id of 1 to 256 characters that JSON
# takes as they are (printable ASCII but `"` and `\`), so the string orjson would make; vCPUs and
# memory as JSON integers (memory also as such a text), the devices as an object of at most 1 KiB
# without braces inside; a time that is a non-negative JSON number without exponent, of at most 16
# digits before the point and 17 after: float() of those digits is the correctly rounded double, as
# orjson's is, and never infinite (a whole number reads as float() of orjson's int, as the careful
# path makes it). Any other line is matched by the catch-all (the last group alone) and read the
# careful way. Every match ends with its line's newline, so the matches are the chunk's lines in order.
# A start's request is looked up by the raw bytes of its vcpus, memory and devices (group 2): the first
# line with given bytes is read the careful way (every check, every message) and only a request it
# accepts is kept; those bytes decide the values parsed, whatever the id and time around them.
_SEP = rb" ?"
_TEXT = rb'[^"\\\x00-\x1f\x7f-\xff]'  # a character a JSON string holds as it is (ASCII)
_WHOLE = rb"(?:0|[1-9][0-9]{0,18}+)"  # a JSON integer >= 0 (no leading zeros, as JSON has it)
_START = (
    rb'start",' + _SEP + rb'"id":' + _SEP + rb'"(' + _TEXT + rb'{1,256}+)",' + _SEP
    + rb'("vcpus":' + _SEP + _WHOLE + rb"," + _SEP
    + rb'"memory":' + _SEP + rb"(?:" + _WHOLE + rb'|"' + _TEXT + rb'{0,64}+")'
    + rb"(?:," + _SEP + rb'"devices":' + _SEP + rb"\{[^{}\n]{0,1024}+\})?)"
)  # fmt: skip
_STOP = rb'stop",' + _SEP + rb'"id":' + _SEP + rb'"(' + _TEXT + rb'{1,256}+)"'
_TIME = rb"(?:," + _SEP + rb'"t":' + _SEP + rb"((?:0|[1-9][0-9]{0,15}+)(?:\.[0-9]{1,17}+)?))?"
_FAST_LINE = re.compile(
    rb'(?:\{"op":' + _SEP + rb'"(?:' + _START + rb"|" + _STOP + rb")" + _TIME + rb"\}|([^\n]*+))\n"
)
_FAST_LINE_BYTES = 1500  # longer than any line the fast alternative takes (a test holds it)
# Every line by the catch-all, same groups: when the line limit is under _FAST_LINE_BYTES (tests).
_ANY_LINE = re.compile(rb"()()()()([^\n]*+)\n")


def load_workload(path: str | os.PathLike[str]) -> list[Event]:
    return list(stream_workload(path))


def stream_workload(path: str | os.PathLike[str]) -> Iterator[Event]:
    """The workload's events one at a time, as the file is read (a replay can consume them as they
    come); raises ScenarioFileError naming the line when one is wrong. The file is read with the
    limits of every input file. A line of the fast path's form (above) is an event at once, from the
    regular expression's groups; any other line takes the careful path: orjson parses its bytes (it
    checks the UTF-8 itself) and a line it refuses is decoded by `decode_text` (BOM, encoding and NUL
    messages), blank and comment lines skipped, then parsed by `_json` — with the messages and limits
    of before."""
    name = str(path)
    running: set[str] = set()
    shapes: dict[tuple[object, ...], Request] = {}  # a workload has few distinct shapes
    requests: dict[bytes, Request] = {}  # the fast path's: raw request bytes -> request
    count = 0
    limit, most = limits.MAX_WORKLOAD_LINE_BYTES, limits.MAX_WORKLOAD_EVENTS
    pattern = _FAST_LINE if limit > _FAST_LINE_BYTES else _ANY_LINE
    for first, body in _chunks(path, _EVENT):
        whole = body[-1:] == b"\n"  # else the file's last line without its newline, <= the limit
        if not whole:
            body += b"\n"
        lines: list[bytes] | None = None  # the chunk's lines, split only to read a fast line carefully
        for number, (start_id, shape, stop_id, time, other) in enumerate(pattern.findall(body), first):
            event: Event | None
            if start_id and (request := requests.get(shape)) is not None:
                vm = start_id.decode()
                if vm in running:
                    raise _still_running(name, number, vm)
                running.add(vm)
                event = _new(StartEvent)  # = StartEvent(vm, request, time): see `_new`
                fields = event.__dict__
                fields["id"] = vm
                fields["request"] = request
                fields["time"] = float(time) if time else None
            elif stop_id:
                vm = stop_id.decode()
                running.discard(vm)
                event = _new(StopEvent)  # = StopEvent(vm, time): see `_new`
                fields = event.__dict__
                fields["id"] = vm
                fields["time"] = float(time) if time else None
            else:  # a line of another form, or the first start with its request's bytes
                if start_id:
                    lines = body.split(b"\n") if lines is None else lines
                    raw = lines[number - first]
                elif len(other) >= limit and whole:  # with its newline, longer than the limit
                    raise ScenarioFileError(name, number, f"line longer than {limit} bytes: not {_EVENT}")
                else:
                    raw = other
                event = _careful_event(name, number, raw, shapes)
                if event is None:
                    continue
                vm = event.id
                if type(event) is StartEvent:
                    if start_id:
                        requests[shape] = event.request
                    if vm in running:
                        raise _still_running(name, number, vm)
                    running.add(vm)
                else:
                    running.discard(vm)
            count += 1
            if count > most:
                _count(name, number, count)
            yield event


def _still_running(name: str, number: int, vm: str) -> ScenarioFileError:
    return ScenarioFileError(name, number, f"start of {vm!r} while it is still running")


def _careful_event(
    name: str, number: int, raw: bytes, shapes: dict[tuple[object, ...], Request]
) -> Event | None:
    """The event of one line read with every check (None: a blank or comment line)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            text = decode_text(name, raw)
        except InputFileError as exc:
            raise ScenarioFileError(name, number, exc.message) from None
        if not text.strip() or text.lstrip().startswith("#"):
            return None
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = _json(name, number, text)
    try:
        return event_from_json(data, shapes)
    except ValueError as exc:
        raise ScenarioFileError(name, number, str(exc)) from None


def event_from_json(data: Any, shapes: dict[tuple[object, ...], Request] | None = None) -> Event:
    """One workload event from its JSON object. `shapes` caches the requests already read, keyed by
    the raw vcpus, memory and devices (with their types, so `true` never passes for 1)."""
    if type(data) is dict and shapes is not None:
        # The common line in a few type tests: a string id, a finite float time or none, a stop or a
        # start of a known shape. Anything else: the checks below.
        raw_id, time, op = data.get("id"), data.get("t"), data.get("op")
        if type(raw_id) is str and raw_id and (time is None or (type(time) is float and time - time == 0.0)):
            if op == "stop":
                stop = _new(StopEvent)  # = StopEvent(raw_id, time): see `_new`
                fields = stop.__dict__
                fields["id"], fields["time"] = raw_id, time
                return stop
            vcpus, memory, devices = data.get("vcpus"), data.get("memory"), data.get("devices", _NONE)
            if op == "start" and type(vcpus) is int:
                # `_shape_key`'s key, written out for the commonest start (whole numbers, no devices).
                shape: tuple[object, ...] | None = (
                    (int, vcpus, int, memory, ())
                    if type(memory) is int and devices == _NONE
                    else _shape_key(vcpus, memory, devices)
                )
                known = shapes.get(shape) if shape is not None else None
                if known is not None:
                    start = _new(StartEvent)  # = StartEvent(raw_id, known, time): see `_new`
                    fields = start.__dict__
                    fields["id"], fields["request"], fields["time"] = raw_id, known, time
                    return start
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValueError(
            'expected an object such as {"op": "start", "id": "vm1", "vcpus": 2, "memory": "4 GiB"}'
        )
    op = data.get("op")
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise ValueError(f"'id' must be a non-empty string or a number, got {raw_id!r}")
    vm_id = str(raw_id)
    time = data.get("t")
    if time is not None and (
        isinstance(time, bool) or not isinstance(time, int | float) or not _finite(time)
    ):
        raise ValueError(f"'t' must be a finite number, got {_shown(time)}")
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
    if isinstance(vcpus, bool) or not isinstance(vcpus, int) or not 0 <= vcpus <= limits.MAX_COUNT:
        raise ValueError(
            f"start of {vm_id!r}: 'vcpus' must be a whole number from 0 to {limits.MAX_COUNT}, got {_shown(vcpus)}"
        )
    try:
        memory = parse_size(data["memory"])
    except UnitError as exc:
        raise ValueError(f"start of {vm_id!r}: 'memory': {exc}") from None
    devices = data.get("devices", {})
    if not isinstance(devices, Mapping):
        raise ValueError(f"start of {vm_id!r}: 'devices' must be an object {{type: count}}")
    for kind, count in devices.items():
        if isinstance(count, int) and not isinstance(count, bool) and count > limits.MAX_COUNT:
            raise ValueError(f"start of {vm_id!r}: device count for {kind!r} is over {limits.MAX_COUNT}")
    try:
        request = Request(vcpus, memory, tuple(devices.items()))
    except RequestError as exc:
        raise ValueError(f"start of {vm_id!r}: {exc}") from None
    if shape_key is not None and shapes is not None and len(shapes) < 100_000:
        shapes[shape_key] = request
    return StartEvent(vm_id, request, when)


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer beyond any float
        return False


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


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
    lines = (text for _, text in _lines(path, "a trace row"))
    intervals: list[Interval] = []
    reader = csv.DictReader(lines)
    try:
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
            _count(name, line, 2 * len(intervals))
    except csv.Error as exc:
        raise ScenarioFileError(name, reader.line_num, f"not valid CSV: {exc}") from None
    return events_from_intervals(intervals)


def _interval(row: Mapping[str, str | None]) -> Interval:
    vm_id = (row.get("id") or "").strip()
    if not vm_id:
        raise ValueError("empty id")
    start = float(row.get("start") or "nan")
    if not math.isfinite(start):
        raise ValueError(f"{vm_id}: empty or invalid start")
    end_text = (row.get("end") or "").strip()
    end = float(end_text) if end_text else None
    if end is not None and not math.isfinite(end):
        raise ValueError(f"{vm_id}: invalid end {end_text!r}")
    if end is not None and end < start:
        raise ValueError(f"{vm_id}: ends ({end:g}) before it starts ({start:g})")
    vcpus = int((row.get("vcpus") or "").strip())
    if not 0 <= vcpus <= limits.MAX_COUNT:
        raise ValueError(f"{vm_id}: vcpus must be from 0 to {limits.MAX_COUNT}, got {vcpus}")
    memory = parse_size((row.get("memory") or "").strip())
    devices: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in (row.get("devices") or "").split(";"))):
        kind, _, count = part.partition("=")
        number = int(count or "1")
        if number > limits.MAX_COUNT:
            raise ValueError(f"{vm_id}: device count for {kind.strip()!r} is over {limits.MAX_COUNT}")
        devices.append((kind.strip(), number))
    try:
        request = Request(vcpus, memory, tuple(devices))
    except RequestError as exc:
        raise ValueError(f"{vm_id}: {exc}") from None
    return Interval(vm_id, start, end, request)
