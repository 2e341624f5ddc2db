"""Sizes and durations as HOCON spells them (seed 002 value types; the HOCON spec's unit tables)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.core.limits import MAX_SIZE_BYTES
from tui.core.units import (
    DURATION_UNITS,
    SIZE_UNITS,
    UnitError,
    format_size,
    parse_duration,
    parse_real_or_size,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32", 32),
        (32, 32),
        ("64 MiB", 64 * 2**20),
        ("18 GiB", 18 * 2**30),
        ("18GiB", 18 * 2**30),
        ("1 kB", 1000),
        ("1 K", 1024),
        ("1 k", 1024),
        ("1 Ki", 1024),
        ("2 GB", 2 * 10**9),
        ("2 G", 2 * 2**30),
        ("2 g", 2 * 2**30),
        ("1 TiB", 2**40),
        ("1 TB", 10**12),
        ("1.5 KiB", 1536),
        ("3 bytes", 3),
        ("1 gibibyte", 2**30),
        ("2 megabytes", 2 * 10**6),
        ("1.5 B", 1),  # fractions of a byte truncate, as Lightbend config does
        ("7 EiB", 7 * 2**60),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_sizes(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [("32 Gib", "did you mean GiB?"), ("1 mib", "did you mean MiB?"), ("4 GBs", "did you mean")],
)
def test_unknown_size_units_get_a_hint(text: str, hint: str) -> None:
    with pytest.raises(UnitError, match=hint):
        parse_size(text)


@pytest.mark.parametrize("bad", ["-1 GiB", "abc", True, [1], "1 GiB extra"])
def test_bad_sizes_are_refused(bad: object) -> None:
    with pytest.raises(UnitError):
        parse_size(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (1500, 1.5),  # a bare number is milliseconds (HOCON)
        ("10s", 10.0),
        ("5 minutes", 300.0),
        ("1.5 hours", 5400.0),
        ("2 d", 172800.0),
        ("250 ms", 0.25),
        ("3 us", 3e-6),
        ("7 ns", 7e-9),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_unknown_duration_unit_hint() -> None:
    with pytest.raises(UnitError, match="did you mean"):
        parse_duration("5 minuts")


def test_real_or_size_keeps_plain_numbers_and_negative_bases() -> None:
    assert parse_real_or_size("-8") == -8.0
    assert parse_real_or_size(2.5) == 2.5
    assert parse_real_or_size("16 GiB") == 16 * 2**30


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(SIZE_UNITS)))
def test_every_size_unit_multiplies(number: int, unit: str) -> None:
    expected = number * SIZE_UNITS[unit]
    if expected > MAX_SIZE_BYTES:  # past the service's 64-bit limit: refused, never a huge integer
        with pytest.raises(UnitError, match="too large"):
            parse_size(f"{number} {unit}")
        return
    assert parse_size(f"{number} {unit}") == expected
    assert parse_size(f"{number}{unit}") == expected


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "1e400 GiB",
        "8 EiB",
        "1 yottabyte",
        "1e99999999 B",
        10**400,
        float("inf"),
        float("nan"),
        "x" * 10**5,
    ],
)
def test_sizes_out_of_range_are_unit_errors(value: object) -> None:
    # Before: 1e400 GiB parsed to a 400-digit integer (OverflowError later), 1e400 as a float raised
    # OverflowError from Fraction, and NaN a plain ValueError.
    with pytest.raises(UnitError):
        parse_size(value)


@pytest.mark.parametrize("value", ["1e400", 1e400, float("nan"), 10**400, "1e400 KiB"])
def test_reals_and_durations_out_of_range_are_unit_errors(value: object) -> None:
    with pytest.raises(UnitError):
        parse_real_or_size(value)
    with pytest.raises(UnitError):
        parse_duration(value if not isinstance(value, str) or "KiB" not in value else "1e400 s")


@given(st.integers(min_value=0, max_value=10**5), st.sampled_from(sorted(DURATION_UNITS)))
def test_every_duration_unit_multiplies(number: int, unit: str) -> None:
    assert parse_duration(f"{number} {unit}") == pytest.approx(number * DURATION_UNITS[unit])


@given(st.integers(min_value=0, max_value=2**50))
def test_bare_numbers_are_bytes(number: int) -> None:
    assert parse_size(str(number)) == number
    assert parse_size(number) == number


@given(st.integers(min_value=0, max_value=2**40))
def test_format_size_is_close_to_the_value(number: int) -> None:
    text = format_size(number)
    back = parse_size(text.replace(" ", ""))
    assert abs(back - number) <= max(1, number) * 0.05 + 1
