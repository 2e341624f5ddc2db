"""`vmdeck simulate`'s whole-process path: the streamed workload reader and the fast JSON writer.

The reader caches requests by their raw fields; these tests hold it to the same diagnostics as a
fresh parse of every line. The writer must give the same document as the generic `emit`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.cli import main
from tui.cli.output import jsonable
from tui.core.scheduling import replay
from tui.core.scheduling.request import Request
from tui.core.scheduling.workload import StartEvent, StopEvent
from tui.services.config.loader import load_config
from tui.services.scenario_files import (
    ScenarioFileError,
    event_from_json,
    load_fleet,
    load_workload,
    stream_workload,
)

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "config" / "ticrypt-vm.conf"
FLEET = REPO / "config" / "fleet.json"
WORKLOAD = REPO / "config" / "workload.jsonl"


def _write(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    return path


def test_cached_shapes_keep_every_check(tmp_path: Path) -> None:
    ok = '{"op": "start", "id": "a", "vcpus": 1, "memory": "1 GiB"}'
    # The same raw values with other JSON types must not hit the cache of line 1.
    for bad, message in [
        ('{"op": "start", "id": "b", "vcpus": true, "memory": "1 GiB"}', "'vcpus' must be a whole number"),
        ('{"op": "start", "id": "b", "vcpus": 1.0, "memory": "1 GiB"}', "'vcpus' must be a whole number"),
        ('{"op": "start", "id": "b", "vcpus": 1, "memory": "1 GiB", "devices": []}', "'devices' must be"),
        ('{"op": "start", "id": "a", "vcpus": 1, "memory": "1 GiB"}', "while it is still running"),
        ('{"op": "start", "id": "b", "vcpus": 1}', "missing 'memory'"),
        ('{"op": "start", "id": "b", "vcpus": 1, "memory": NaN}', ""),
        ('{"op": "start", "id": "b", "vcpus": 1, "memory": "1 GiB"', "not valid JSON"),
        (b'{"op": "start", "id": "\xff", "vcpus": 1, "memory": "1 GiB"}', "not UTF-8"),
    ]:
        path = _write(tmp_path, ok, bad)
        with pytest.raises(ScenarioFileError) as info:
            load_workload(path)
        assert info.value.line == 2, (bad, str(info.value))
        assert message in str(info.value), (bad, str(info.value))


def test_streamed_events_equal_the_whole_file(tmp_path: Path) -> None:
    events = load_workload(WORKLOAD)
    assert list(stream_workload(WORKLOAD)) == events
    assert len({e.request for e in events if hasattr(e, "request")}) > 1
    # An error after good lines is raised when the stream reaches it, naming the line.
    lines = WORKLOAD.read_text().splitlines()[:5] + ["{}"]
    stream = stream_workload(_write(tmp_path, *lines))
    assert len([next(stream) for _ in range(5)]) == 5
    with pytest.raises(ScenarioFileError, match=r":6: 'id' must be"):
        next(stream)


@pytest.mark.parametrize("policy", ["cost", "first-fit"])
def test_simulate_json_is_the_generic_document(capsys: pytest.CaptureFixture[str], policy: str) -> None:
    code = main(
        ["simulate", "--config", str(CONF), "--fleet", str(FLEET), "--workload", str(WORKLOAD)]
        + ["--policy", policy, "--json"]
    )
    assert code == 0
    got = json.loads(capsys.readouterr().out)
    config = load_config(CONF).config
    expected = jsonable(replay(config, load_fleet(FLEET, config), load_workload(WORKLOAD), policy).to_json())
    got.pop("elapsed_s"), expected.pop("elapsed_s")
    assert list(got) == list(expected)
    assert got == expected


def test_infinite_costs_are_written_as_inf(capsys: pytest.CaptureFixture[str]) -> None:
    # A hard-limit policy can place where the cost function says inf; emit writes that as "inf".
    from tui.cli.scheduling import _write_replay_json
    from tui.core.scheduling.replay import PlacementRecord, ReplayResult

    records = (PlacementRecord("a", "h", math.inf, (), None), PlacementRecord("b", "h", 2.5, ("x",), None))
    result = ReplayResult("first-fit", 2, 2, 0, 0, records, (), {"share": 0.5}, 0.1)
    _write_replay_json(result)
    got = json.loads(capsys.readouterr().out)
    assert got == jsonable(result.to_json())
    assert [p["cost"] for p in got["placements"]] == ["inf", 2.5]


def test_lines_read_in_chunks_keep_numbers_endings_and_limits(tmp_path: Path, monkeypatch) -> None:
    """Lines are split from large chunks and parsed from bytes: CRLF endings, a BOM on any line, blank
    and comment lines, lines across chunk boundaries and a last line without newline read as before;
    errors still name the right line, and an over-long line is refused even when it spans chunks."""
    from tui.core import limits
    from tui.services import scenario_files

    monkeypatch.setattr(scenario_files, "_CHUNK", 7)  # every line crosses a chunk boundary
    start = '{"op": "start", "id": "%s", "vcpus": 1, "memory": "1 GiB"}'
    path = tmp_path / "w.jsonl"
    path.write_bytes(
        (start % "a").encode()
        + b"\r\n\xef\xbb\xbf"
        + (start % "b").encode()
        + b"\n\n  # a comment\n\xc2\xa0\n"  # a no-break space alone is a blank line too
        + b'{"op": "stop", "id": "a"}'
    )
    events = load_workload(path)
    assert [(type(e).__name__, e.id) for e in events] == [
        ("StartEvent", "a"),
        ("StartEvent", "b"),
        ("StopEvent", "a"),
    ]
    path.write_bytes(b"\n".join([(start % "a").encode(), b"# ok", b'{"op": "start", "id": 1.5}']))
    with pytest.raises(ScenarioFileError, match=r":3: .*'id' must be"):
        load_workload(path)
    path.write_bytes((start % "a").encode() + b"\n\xff\xfe{}\n")
    with pytest.raises(ScenarioFileError, match=r":2: .*not UTF-8"):
        load_workload(path)
    monkeypatch.setattr(limits, "MAX_WORKLOAD_LINE_BYTES", 40)
    path.write_bytes(b"# short\n" + b" " * 100)
    with pytest.raises(ScenarioFileError, match=r":2: line longer than 40 bytes"):
        load_workload(path)


@pytest.mark.parametrize(
    "line",
    [
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "t": 1.5},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": None},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": []},
        {"op": "start", "id": "a", "vcpus": True, "memory": 4096},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096.0},
        {"op": "start", "id": "", "vcpus": 2, "memory": 4096},
        {"op": "start", "id": 7, "vcpus": 2, "memory": 4096, "t": 3},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "t": float("nan")},
        {"op": "begin", "id": "a", "vcpus": 2, "memory": 4096},
        {"op": "stop", "id": "a", "t": 2.25},
        {"op": "stop", "id": "a", "t": float("inf")},
        {"op": "stop", "id": True},
    ],
)
def test_a_known_shape_reads_as_a_first_one_does(line: dict[str, object]) -> None:
    """The reader's fast path for a shape already read gives the event (or the error) the full
    checks give."""
    shapes: dict[tuple[object, ...], Request] = {}
    event_from_json({"op": "start", "id": "first", "vcpus": 2, "memory": 4096}, shapes)  # known now
    assert _read(line, shapes) == _read(line)


def _read(line: dict[str, object], shapes: dict[tuple[object, ...], Request] | None = None) -> object:
    """The event a line reads as, or the error's text (with `shapes`: through the fast path)."""
    try:
        return event_from_json(line, shapes)
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize(
    "line",
    [
        {"op": "start", "id": "a", "vcpus": 2, "memory": "4 GiB"},
        {"op": "start", "id": "a", "vcpus": 2, "memory": "4 GiB", "devices": {}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": "4GiB"},
        {"op": "start", "id": "a", "vcpus": True, "memory": "4 GiB"},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {"gpu": 1}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {"gpu": True}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {"gpu": 1.0}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {"gpu": 1, "fpga": 0}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096.0, "devices": {"gpu": 1}},
        {"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "devices": {"gpu": [1]}},
        {"op": "start", "id": "", "vcpus": 2, "memory": 4096, "devices": {"gpu": 1}},
    ],
)
def test_a_known_shape_with_devices_or_a_size_text_reads_as_a_first_one_does(line: dict[str, object]) -> None:
    """The fast path also serves shapes with devices or a memory size as text, by `_shape_key`'s key:
    the same event (or error) as the full checks."""
    shapes: dict[tuple[object, ...], Request] = {}
    event_from_json({"op": "start", "id": "f1", "vcpus": 2, "memory": "4 GiB"}, shapes)
    event_from_json({"op": "start", "id": "f2", "vcpus": 2, "memory": 4096, "devices": {"gpu": 1}}, shapes)
    assert _read(line, shapes) == _read(line)


def test_the_fast_paths_events_are_the_events_the_classes_make() -> None:
    """The fast path fills bare instances' fields instead of calling the frozen dataclasses' __init__;
    that is only the same while the classes have these fields and nothing run after __init__."""
    assert [f.name for f in dataclasses.fields(StartEvent)] == ["id", "request", "time"]
    assert [f.name for f in dataclasses.fields(StopEvent)] == ["id", "time"]
    assert not hasattr(StartEvent, "__post_init__")
    assert not hasattr(StopEvent, "__post_init__")
    shapes: dict[tuple[object, ...], Request] = {}
    event_from_json({"op": "start", "id": "first", "vcpus": 2, "memory": 4096}, shapes)
    made = [
        event_from_json({"op": "start", "id": "a", "vcpus": 2, "memory": 4096, "t": 1.5}, shapes),
        event_from_json({"op": "start", "id": "b", "vcpus": 2, "memory": 4096}, shapes),
        event_from_json({"op": "stop", "id": "a", "t": 2.5}, shapes),
        event_from_json({"op": "stop", "id": "b"}, shapes),
    ]
    built = [
        StartEvent("a", Request(2, 4096), 1.5),
        StartEvent("b", Request(2, 4096), None),
        StopEvent("a", 2.5),
        StopEvent("b", None),
    ]
    for got, want in zip(made, built, strict=True):
        assert type(got) is type(want)
        assert vars(got) == vars(want)
        assert got == want
        assert hash(got) == hash(want)
        assert repr(got) == repr(want)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].id = "c"  # type: ignore[misc]


def test_every_cost_that_is_not_finite_is_written_as_emit_writes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tui.cli.scheduling import _write_replay_json
    from tui.core.scheduling.replay import PlacementRecord, ReplayResult

    costs = [math.inf, -math.inf, math.nan, None, 0.0, -2.5, 1e308]
    records = tuple(
        PlacementRecord(f"v{i}", "h" if c is not None else None, c, ("x", "y") if i % 2 else (), None)
        for i, c in enumerate(costs)
    )
    result = ReplayResult(
        "spread", 7, 6, 1, 0, records, ({"name": "h", "vms": 1},), {"share": math.inf}, 0.25
    )
    _write_replay_json(result)
    got = json.loads(capsys.readouterr().out)
    expected = jsonable(result.to_json())
    assert list(got) == list(expected)
    assert got == expected
    assert [p["cost"] for p in got["placements"]] == ["inf", "-inf", None, None, 0.0, -2.5, 1e308]


# --- the fast path's regular expression against the careful path --------------------------------
def _stream_as_read(
    path: Path, careful: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[object], str | None]:
    """(events as type and fields, the error's text or None) of a file; with `careful`, every line
    takes the careful path (the fast alternative swapped for the catch-all alone)."""
    from tui.services import scenario_files

    with monkeypatch.context() as patch:
        if careful:
            patch.setattr(scenario_files, "_FAST_LINE", scenario_files._ANY_LINE)
        events: list[object] = []
        try:
            for event in stream_workload(path):
                events.append((type(event).__name__, vars(event)))
        except ScenarioFileError as exc:
            return events, str(exc)
    return events, None


_IDS = st.one_of(
    st.from_regex(r"vm-[0-9]{1,6}", fullmatch=True),
    st.text(max_size=8),  # quotes, backslashes, controls, non-ASCII: not the fast path's
    st.text(alphabet="ab", min_size=255, max_size=258),  # around the fast path's 256 characters
    st.integers(-3, 3),
    st.none(),
)
_WHOLES = st.one_of(
    st.integers(0, 64),
    st.integers(2**31 - 2, 2**31 + 1),
    st.integers(10**18 - 1, 10**19 + 1),
    st.integers(-2, -1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
_MEMORY = st.one_of(_WHOLES, st.sampled_from(["4 GiB", "4GiB", "1.5 KiB", "", "x", "1" * 70, "-1 GiB"]))
_DEVICES = st.one_of(
    st.dictionaries(st.sampled_from(["nvidia-gpu", "fpga", "", "g}"]), _WHOLES, max_size=3),
    st.sampled_from([None, [], "gpu", 1]),
)
_TIMES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1e6),
    st.integers(-1, 10**17),
    st.decimals(0, 10**6, places=8, allow_nan=False).map(float),
    st.none(),
)


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    """A workload line: mostly events as the writers write them, some with other values, key orders,
    separators or bytes (each such line is read the careful way, or refused with its message)."""
    usual = draw(st.integers(0, 3)) > 0  # three lines in four as the writers write them
    op = draw(st.sampled_from(["start", "start", "stop", "begin"] if not usual else ["start", "stop"]))
    event: dict[str, object] = {
        "op": op,
        "id": draw(_IDS if not usual else st.sampled_from(["a", "b", "vm-1"])),
    }
    if op != "stop":
        if usual:
            event.update(vcpus=draw(st.sampled_from([1, 2])), memory=draw(st.sampled_from([4096, "4 GiB"])))
            event["devices"] = draw(st.sampled_from([{}, {"nvidia-gpu": 1}]))
        else:
            event.update(vcpus=draw(_WHOLES), memory=draw(_MEMORY))
            if draw(st.booleans()):
                event["devices"] = draw(_DEVICES)
    time = draw(_TIMES if not usual else st.one_of(st.floats(0, 1e6), st.none()))
    if time is not None or draw(st.booleans()):
        event["t"] = time
    keys = list(event)
    if draw(st.integers(0, 9)) == 0:
        keys = draw(st.permutations(keys))
    compact = draw(st.booleans())
    text = json.dumps({k: event[k] for k in keys}, separators=(",", ":") if compact else None)
    line = text.encode()
    mutation = draw(st.integers(0, 11))
    if mutation == 0 and line:  # one byte changed
        at = draw(st.integers(0, len(line) - 1))
        line = line[:at] + bytes([draw(st.integers(0, 255))]) + line[at + 1 :]
    elif mutation == 1 and line:  # one byte dropped
        at = draw(st.integers(0, len(line) - 1))
        line = line[:at] + line[at + 1 :]
    elif mutation == 2:
        line = draw(
            st.sampled_from([b"", b"  ", b"# a comment", b"\xef\xbb\xbf" + line, line + b"\r", line + b" "])
        )
    return line


@settings(max_examples=400, deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=12), st.booleans(), st.data())
def test_the_fast_path_reads_every_file_as_the_careful_path(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], last_newline: bool, data: st.DataObject
) -> None:
    """Any mix of lines (events as written, other values and forms, mutated bytes, repeated shapes and
    ids): the same events in the same order, or the same error on the same line after the same events,
    as every line read the careful way."""
    repeat = data.draw(st.lists(st.sampled_from(lines), max_size=6))  # known shapes, running ids
    path = tmp_path_factory.mktemp("w") / "w.jsonl"
    path.write_bytes(b"\n".join(lines + repeat) + (b"\n" if last_newline else b""))
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _stream_as_read(path, False, monkeypatch) == _stream_as_read(path, True, monkeypatch)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(rb"(0|[1-9][0-9]{0,15})(\.[0-9]{1,17})?", fullmatch=True))
def test_the_fast_paths_times_are_orjsons(digits: bytes) -> None:
    """float() of the time's digits is the double orjson reads (or float() of the int it reads)."""
    import orjson

    parsed = orjson.loads(digits)
    assert repr(float(digits)) == repr(float(parsed))


def test_no_line_the_fast_path_takes_is_over_its_bound() -> None:
    """Every part of a fast line is bounded; the longest such line is under _FAST_LINE_BYTES, so a
    line limit above it needs no check for those lines."""
    from tui.services.scenario_files import _FAST_LINE, _FAST_LINE_BYTES

    devices = '{"' + "g" * 1020 + '":1}'  # 1024 bytes between the braces
    longest = (
        '{"op": "start", "id": "' + "a" * 256 + '", "vcpus": ' + "9" * 19 + ', "memory": "' + "m" * 64
        + '", "devices": ' + devices + ', "t": ' + "9" * 16 + "." + "9" * 17 + "}\n"
    ).encode()  # fmt: skip
    ((start_id, shape, _, time, other),) = _FAST_LINE.findall(longest)
    assert start_id  # taken by the fast alternative
    assert shape
    assert time
    assert not other
    assert len(longest) < _FAST_LINE_BYTES
    for longer in (longest.replace(b'"a', b'"aa', 1), longest.replace(b'{"g', b'{"gg', 1)):
        ((start_id, _, _, _, other),) = _FAST_LINE.findall(longer)
        assert not start_id  # one more byte in a bounded part: the careful path
        assert other
