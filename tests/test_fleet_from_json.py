"""FLEET.json hosts: the reader's fast path for a plain host gives exactly the host the full checks give.

`Fleet.from_json` takes a host whose fields are all of a plain type and in range through a few type
tests (`_plain_host`) and everything else through `_host_from_json`, which says what is wrong. These
tests hold the fast path to the full checks, field by field and on mutated hosts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.fleet import Fleet, FleetError, FleetHost, HostState, _host_from_json, _plain_host

from .livefixtures import make_config

MISSING = object()
VALUES: dict[str, list[Any]] = {
    "name": ["h1", "", 1, None, True, ["h1"]],
    "profile": ["pool1", "", 2, None],
    "state": [
        "enabled",
        "disabled",
        "no-scheduling",
        "Enabled",
        "no_scheduling",
        " disabled",
        "bogus",
        1,
        None,
        [],
    ],
    "vms": [0, 5, -1, 2**31 - 1, 2**31, True, 1.0, "3", None],
    "vcpus": [0, 7, -1, 2**31 - 1, 2**31, False, 2.0, None],
    "memory": [0, 4096, -1, 2**63 - 1, 2**63, True, 1.5, "4 GiB", None, float("inf")],
    "devices_in_use": [[], (), ["0000:01:00.0"], ["0000:1:0.0", "0000:01:00.0"], "0000:01:00.0", None, [1]],
    "unavailable": [None, "connection refused", 1, ""],
}


BASE = {
    "name": "h1",
    "profile": "pool1",
    "state": "enabled",
    "vms": 1,
    "vcpus": 2,
    "memory": 4096,
    "devices_in_use": [],
    "unavailable": None,
}


def mutated(changes: dict[str, Any]) -> dict[str, Any]:
    raw = {**BASE, **changes}
    return {k: v for k, v in raw.items() if v is not MISSING}


def full_checks(raw: dict[str, Any]) -> object:
    try:
        return _host_from_json(raw, "hosts[0]")
    except FleetError as exc:
        return str(exc)


def same_as_the_full_checks(raw: dict[str, Any]) -> None:
    fast = _plain_host(raw)
    if fast is not None:  # when it declines, from_json asks the full checks themselves
        assert full_checks(raw) == fast, raw


@pytest.mark.parametrize(
    ("key", "value"), [(k, v) for k, values in VALUES.items() for v in [MISSING, *values]]
)
def test_one_field_changed_reads_as_the_full_checks_read_it(key: str, value: object) -> None:
    same_as_the_full_checks(mutated({key: value}))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(VALUES)), st.none(), min_size=2, max_size=4), st.data())
def test_several_fields_changed_read_as_the_full_checks_read_them(
    keys: dict[str, None], data: st.DataObject
) -> None:
    changes = {k: data.draw(st.sampled_from([MISSING, *VALUES[k]])) for k in keys}
    same_as_the_full_checks(mutated(changes))


def test_the_fast_path_takes_the_common_hosts() -> None:
    # Otherwise the property above would hold of a fast path that never answers.
    assert _plain_host({"name": "a", "profile": "p"}) == FleetHost("a", "p")
    host = {"name": "b", "profile": "p", "state": "no-scheduling", "vms": 2, "vcpus": 4, "memory": 8}
    assert _plain_host({**host, "devices_in_use": [], "unavailable": "down"}) == FleetHost(
        "b", "p", HostState.NO_SCHEDULING, 2, 4, 8, (), "down"
    )


def test_the_fast_paths_hosts_are_the_hosts_the_class_makes() -> None:
    """The fast path fills a bare instance's fields instead of calling the frozen dataclass's
    __init__; that is only the same while FleetHost has these fields and nothing run after __init__."""
    names = ["name", "profile", "state", "vms", "vcpus", "memory", "devices_in_use", "unavailable"]
    assert [f.name for f in dataclasses.fields(FleetHost)] == names
    assert not hasattr(FleetHost, "__post_init__")
    raw = {"name": "a", "profile": "p", "state": "disabled", "vms": 1, "vcpus": 2, "memory": 3}
    made = _plain_host(raw)
    built = FleetHost("a", "p", HostState.DISABLED, 1, 2, 3, (), None)
    assert type(made) is FleetHost
    assert vars(made) == vars(built)
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "b"  # type: ignore[misc, union-attr]


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (
            [{"name": "a", "profile": "pool1"}, {"name": "a", "profile": "pool1"}],
            "hosts[1]: duplicate host name 'a'",
        ),
        (
            [{"name": "a", "profile": "pool1"}, {"name": "b", "profile": "nope"}],
            "hosts[1] (b): unknown profile 'nope'",
        ),
        ([{"name": "a", "profile": "pool1"}, ["b"]], "hosts[1]: expected an object"),
        ([{"name": "a", "profile": "pool1", "vms": -1}], "hosts[0] (a): 'vms' must be a whole number"),
        ([{"name": "a", "profile": "pool1", "state": "off"}], "hosts[0] (a): unknown host state 'off'"),
    ],
)
def test_errors_name_the_host_as_before(hosts: list[Any], message: str) -> None:
    with pytest.raises(FleetError) as info:
        Fleet.from_json({"hosts": hosts}, make_config())
    assert str(info.value).startswith(message)
