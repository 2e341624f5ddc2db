"""Sizes and durations as HOCON (Lightbend config) spells them.

A bare number is bytes for sizes and milliseconds for durations (the HOCON spec). Unknown units get a
"did you mean" hint, because the seed documents themselves contain a typo (`32 Gib`).

Every value from outside passes through here, so the parsers also refuse what would break arithmetic
later: sizes over MAX_SIZE_BYTES (the service's 64-bit limit; `1e400 GiB` is an exact integer that no
float can hold), and infinite or NaN numbers (`1e400` is infinity as a float). All refusals are
UnitError, a ValueError, which the command line reports as a one-line error.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection
from fractions import Fraction

from tui.core.limits import MAX_SIZE_BYTES

_DECIMAL_PREFIXES = ["k", "M", "G", "T", "P", "E", "Z", "Y"]
_BINARY_PREFIXES = ["K", "M", "G", "T", "P", "E", "Z", "Y"]
_DECIMAL_WORDS = ["kilo", "mega", "giga", "tera", "peta", "exa", "zetta", "yotta"]
_BINARY_WORDS = ["kibi", "mebi", "gibi", "tebi", "pebi", "exbi", "zebi", "yobi"]


def _size_units() -> dict[str, int]:
    units: dict[str, int] = {"B": 1, "b": 1, "byte": 1, "bytes": 1}
    for power, (dec, word) in enumerate(zip(_DECIMAL_PREFIXES, _DECIMAL_WORDS, strict=True), start=1):
        factor = 1000**power
        units[f"{dec}B"] = factor
        units[f"{word}byte"] = factor
        units[f"{word}bytes"] = factor
    for power, (letter, word) in enumerate(zip(_BINARY_PREFIXES, _BINARY_WORDS, strict=True), start=1):
        factor = 1024**power
        for spelling in (letter, letter.lower(), f"{letter}i", f"{letter}iB", f"{word}byte", f"{word}bytes"):
            units[spelling] = factor
    return units


SIZE_UNITS: dict[str, int] = _size_units()

_NS = 1e-9
DURATION_UNITS: dict[str, float] = {}
for _names, _seconds in (
    (("ns", "nano", "nanos", "nanosecond", "nanoseconds"), _NS),
    (("us", "micro", "micros", "microsecond", "microseconds"), 1e-6),
    (("ms", "milli", "millis", "millisecond", "milliseconds"), 1e-3),
    (("s", "second", "seconds"), 1.0),
    (("m", "minute", "minutes"), 60.0),
    (("h", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
):
    for _name in _names:
        DURATION_UNITS[_name] = _seconds

_NUMBER_UNIT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")


class UnitError(ValueError):
    """A value that is not a valid size or duration; the message is written for the admin."""


_MAX_TEXT = 200  # characters: longer "numbers" are refused before any arithmetic
_MAX_EXPONENT = 400  # |exponent| beyond this is refused before Fraction builds a huge integer


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fraction(number: str, value: object) -> Fraction:
    """Exact value of a decimal; exponents far beyond any size are refused before they cost memory."""
    mantissa, _, exponent = number.lower().partition("e")
    if exponent and abs(int(exponent)) > _MAX_EXPONENT:
        raise UnitError(f"number {_shown(value)} is out of range")
    return Fraction(number)


def _finite(number: float, value: object, what: str) -> float:
    if not math.isfinite(number):
        raise UnitError(f"expected {what}, got {_shown(value)} (too large or not a number)")
    return number


def _suggest(unit: str, known: Collection[str]) -> str:
    # A wrong case is the usual slip (`Gib`, `mib`); suggest the canonical spelling, e.g. GiB.
    same_letters = sorted(
        (k for k in known if k.lower() == unit.lower()), key=lambda k: (not k.endswith("B"), k)
    )
    if same_letters:
        return f" (did you mean {same_letters[0]}?)"
    close = difflib.get_close_matches(unit, list(known), n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower(): name for name in known}
        hit = difflib.get_close_matches(unit.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[hit[0]]] if hit else []
    return f" (did you mean {close[0]}?)" if close else ""


def parse_size(value: object) -> int:
    """Bytes from an int/float or a string such as '32 GiB', '64MB', '1.5 KiB', '4096'."""
    if type(value) is int and 0 <= value <= MAX_SIZE_BYTES:
        return value  # the common case (every host of a FLEET.json): no Fraction arithmetic
    if isinstance(value, bool):
        raise UnitError(f"expected a size such as 32 GiB, got boolean {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UnitError(f"expected a size such as 32 GiB, got {value!r} (too large or not a number)")
    if isinstance(value, int | float):
        number, unit = Fraction(value), ""
    elif isinstance(value, str):
        match = _NUMBER_UNIT.match(value) if len(value) <= _MAX_TEXT else None
        if not match:
            raise UnitError(f"expected a size such as 32 GiB, got {_shown(value)}")
        # Exact arithmetic: 1 yottabyte is 10**24 bytes, not the nearest float.
        number, unit = _fraction(match.group(1), value), match.group(2)
    else:
        raise UnitError(f"expected a size such as 32 GiB, got {type(value).__name__} {value!r}")
    if unit and unit not in SIZE_UNITS:
        raise UnitError(f"unknown size unit {unit!r} in {value!r}{_suggest(unit, SIZE_UNITS)}")
    if number < 0:
        raise UnitError(f"a size cannot be negative: {value!r}")
    # Fractions of a byte are truncated, as Lightbend config (the service's parser) does.
    size = int(number * SIZE_UNITS.get(unit, 1))
    if size > MAX_SIZE_BYTES:
        raise UnitError(f"size {_shown(value)} is too large: the maximum is {MAX_SIZE_BYTES} bytes (8 EiB)")
    return size


def parse_real_or_size(value: object) -> float:
    """A RealOrBytes: a plain number stays as it is (may be negative), a number with a unit is bytes."""
    if isinstance(value, bool):
        raise UnitError(f"expected a number or a size, got boolean {value!r}")
    if isinstance(value, int | float):
        try:
            return _finite(float(value), value, "a number or a size")
        except OverflowError:  # an int beyond any float
            raise UnitError(f"number {_shown(value)} is out of range") from None
    if isinstance(value, str):
        match = _NUMBER_UNIT.match(value) if len(value) <= _MAX_TEXT else None
        if match and not match.group(2):
            return _finite(float(match.group(1)), value, "a number or a size")
        if match and match.group(2) in SIZE_UNITS:
            sign = -1.0 if match.group(1).startswith("-") else 1.0
            return sign * float(parse_size(match.group(1).lstrip("+-") + match.group(2)))
        if match:
            unit = match.group(2)
            raise UnitError(f"unknown size unit {unit!r} in {value!r}{_suggest(unit, SIZE_UNITS)}")
    raise UnitError(f"expected a number or a size such as 16 GiB, got {_shown(value)}")


def parse_duration(value: object) -> float:
    """Seconds from a number (milliseconds, per HOCON) or a string such as '5 minutes', '10s'."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration such as 30 seconds, got boolean {value!r}")
    if isinstance(value, int | float):
        try:
            number, unit = float(value), "ms"
        except OverflowError:
            raise UnitError(f"duration {_shown(value)} is out of range") from None
    elif isinstance(value, str):
        match = _NUMBER_UNIT.match(value) if len(value) <= _MAX_TEXT else None
        if not match:
            raise UnitError(f"expected a duration such as 30 seconds, got {_shown(value)}")
        number, unit = float(match.group(1)), match.group(2) or "ms"
    else:
        raise UnitError(f"expected a duration such as 30 seconds, got {type(value).__name__} {value!r}")
    if unit not in DURATION_UNITS:
        raise UnitError(f"unknown duration unit {unit!r} in {value!r}{_suggest(unit, DURATION_UNITS)}")
    if number < 0:
        raise UnitError(f"a duration cannot be negative: {value!r}")
    return _finite(number * DURATION_UNITS[unit], value, "a duration such as 30 seconds")


def format_size(num_bytes: float) -> str:
    """Short human form with binary units: 34359738368 -> '32 GiB'."""
    if num_bytes != num_bytes or num_bytes in (float("inf"), float("-inf")):
        return str(num_bytes)
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
