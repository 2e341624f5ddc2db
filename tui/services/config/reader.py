"""Typed reads from a parsed HOCON tree that never raise: a bad value becomes a located diagnostic.

Each read names the key path, so the diagnostic points at the file and line where the admin wrote it
(via the SourceIndex) and says what was expected, with a "did you mean" where one is likely.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tui.core.diagnostics import Diagnostic, Severity
from tui.core.units import UnitError, parse_duration, parse_real_or_size, parse_size
from tui.services.config.sourceindex import KeyPath, Location, SourceIndex, format_path

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _duration_seconds(value: Any) -> float | None:
    """pyhocon turns unquoted durations into timedelta (or dateutil's relativedelta): normalise both."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if type(value).__name__ == "relativedelta":
        if getattr(value, "years", 0) or getattr(value, "months", 0):
            return None  # months and years have no fixed length
        return (
            getattr(value, "days", 0) * 86400
            + getattr(value, "hours", 0) * 3600
            + getattr(value, "minutes", 0) * 60
            + getattr(value, "seconds", 0)
            + getattr(value, "microseconds", 0) / 1e6
        )
    return None


def is_duration_object(value: Any) -> bool:
    return isinstance(value, dt.timedelta) or type(value).__name__ == "relativedelta"


class Reader:
    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.diagnostics: list[Diagnostic] = []

    # -- reporting ----------------------------------------------------------------------------------
    def report(self, severity: Severity, path: KeyPath, message: str) -> None:
        # Every diagnostic needs a file and line; a key written nowhere (e.g. a missing section) is
        # reported at the top of the main file.
        loc = self.index.locate(path) or Location(str(self.index.files[0]), 1) if self.index.files else None
        self.diagnostics.append(
            Diagnostic(
                severity, format_path(path), message, loc.file if loc else None, loc.line if loc else None
            )
        )

    def error(self, path: KeyPath, message: str) -> None:
        self.report(Severity.ERROR, path, message)

    def warn(self, path: KeyPath, message: str) -> None:
        self.report(Severity.WARNING, path, message)

    def raw(self, path: KeyPath) -> str | None:
        return self.index.raw.get(path)

    # -- structure ----------------------------------------------------------------------------------
    def check_keys(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        known: Iterable[str],
        what: str,
        severity: Severity = Severity.ERROR,
    ) -> list[str]:
        """Report keys that `what` does not have; returns them so callers can explain further."""
        known = list(known)
        unknown = [k for k in obj if k not in known]
        for key in unknown:
            self.report(
                severity,
                path + (key,),
                f"unknown key {key!r} in {what}{did_you_mean(key, known)}; expected one of: {', '.join(known)}",
            )
        return unknown

    def section(
        self, obj: Mapping[str, Any], path: KeyPath, key: str, required: bool
    ) -> Mapping[str, Any] | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(path + (key,), f"missing required section {key!r}")
            return None
        if not isinstance(value, Mapping):
            self.error(path + (key,), f"{key!r} must be a section {{ ... }}, got {_describe(value)}")
            return None
        return value

    # -- scalars ------------------------------------------------------------------------------------
    def _present(
        self, obj: Mapping[str, Any], path: KeyPath, key: str, required: bool, expected: str
    ) -> bool:
        """Whether obj has a value for key; reports a missing required one (saying what it expects)."""
        if key in obj and obj[key] is not None:
            return True
        if required:
            self.error(path + (key,), f"missing required {key!r} ({expected})")
        return False

    def string(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        default: str | None = None,
        required: bool = False,
    ) -> str | None:
        if not self._present(obj, path, key, required, "a string"):
            return default
        value = obj[key]
        if isinstance(value, Mapping | list):
            self.error(path + (key,), f"{key!r} must be a string, got {_describe(value)}")
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if is_duration_object(value):
            return self.raw(path + (key,)) or str(value)
        return str(value)

    def choice(
        self, obj: Mapping[str, Any], path: KeyPath, key: str, choices: Iterable[str], default: str
    ) -> str:
        value = self.string(obj, path, key, default)
        options = list(choices)
        if value is None or value in options:
            return value or default
        self.error(
            path + (key,),
            f"{value!r} is not a valid {key}{did_you_mean(value, options)}; expected one of: {', '.join(options)}",
        )
        return default

    def boolean(self, obj: Mapping[str, Any], path: KeyPath, key: str, default: bool) -> bool:
        if key not in obj or obj[key] is None:
            return default
        value = obj[key]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.error(path + (key,), f"{key!r} must be on/off (or true/false, yes/no), got {_describe(value)}")
        return default

    def integer(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if not self._present(obj, path, key, required, "a whole number"):
            return None
        value = obj[key]
        if isinstance(value, str) and len(value) <= 40:
            with contextlib.suppress(ValueError):
                value = int(value.strip())
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)  # `cores: 1e2` is 100; `cores: 1e29` is caught by the maximum below
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path + (key,), f"{key!r} must be a whole number, got {_describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.error(path + (key,), f"{key!r} must be at least {minimum}, got {_describe(value)}")
            return None
        if maximum is not None and value > maximum:
            self.error(path + (key,), f"{key!r} must be at most {maximum}, got {_describe(value)}")
            return None
        return value

    def real(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        default: float | None = None,
        required: bool = False,
        minimum: float | None = None,
    ) -> float | None:
        if not self._present(obj, path, key, required, "a number"):
            return default
        value = obj[key]
        if isinstance(value, str) and _NUMBER.match(value):
            value = float(value.strip())  # only decimal numbers: float() would also take "nan", "inf"
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = " (only plain numbers here, no units)" if isinstance(value, str) else ""
            self.error(path + (key,), f"{key!r} must be a number, got {_describe(value)}{hint}")
            return default
        number = float(value) if isinstance(value, float) or abs(value) < 2**1000 else math.inf
        if not math.isfinite(number):
            # pyhocon reads 1e400 as infinity; infinity or NaN in a cost breaks every comparison.
            raw = self.raw(path + (key,)) or str(value)
            self.error(path + (key,), f"{key!r}: {_shown(raw)} is too large to be a number (or not a number)")
            return default
        if minimum is not None and number < minimum:
            self.error(path + (key,), f"{key!r} must be at least {minimum:g}, got {number:g}")
            return default
        return number

    def real_or_size(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        default: float | None = None,
        required: bool = False,
    ) -> float | None:
        if not self._present(obj, path, key, required, "a number or a size such as 16 GiB"):
            return default
        value = obj[key]
        if is_duration_object(value):
            value = self._duration_as_size(path + (key,), key)
            if value is None:
                return default
        try:
            return parse_real_or_size(value)
        except UnitError as exc:
            self.error(path + (key,), f"{key!r}: {exc}")
            return default

    def size(self, obj: Mapping[str, Any], path: KeyPath, key: str, required: bool = False) -> int | None:
        if not self._present(obj, path, key, required, "a size such as 32 GiB"):
            return None
        value = obj[key]
        if is_duration_object(value):
            value = self._duration_as_size(path + (key,), key)
            if value is None:
                return None
        try:
            return parse_size(value)
        except UnitError as exc:
            self.error(path + (key,), f"{key!r}: {exc}")
            return None

    def duration(
        self,
        obj: Mapping[str, Any],
        path: KeyPath,
        key: str,
        default: float | None = None,
        positive: bool = False,
    ) -> float | None:
        """Seconds; with `positive`, 0 is refused (a period of 0 would poll or reload in a busy loop)."""
        if key not in obj or obj[key] is None:
            return default
        seconds = self._duration(obj, path, key)
        if seconds is None:
            return default
        if positive and seconds <= 0:
            self.error(
                path + (key,), f"{key!r} must be more than 0, got {self.raw(path + (key,)) or seconds!r}"
            )
            return default
        return seconds

    def _duration(self, obj: Mapping[str, Any], path: KeyPath, key: str) -> float | None:
        value = obj[key]
        seconds = _duration_seconds(value)
        if seconds is not None:
            return seconds
        if is_duration_object(value):
            self.error(path + (key,), f"{key!r}: months and years are not fixed durations; use days")
            return None
        try:
            return parse_duration(value)
        except UnitError as exc:
            self.error(path + (key,), f"{key!r}: {exc}")
            return None

    def _duration_as_size(self, path: KeyPath, key: str) -> str | None:
        """The raw text of a size that pyhocon read as a duration, or None (reported) if it is not a size.

        pyhocon turns `512 m` into 512 minutes at parse time; in HOCON sizes (and in Lightbend config's
        getBytes, which the service uses) `m` is mebibytes, so the raw text is parsed as a size again.
        """
        raw = self.raw(path)
        if raw is not None:
            with contextlib.suppress(UnitError):
                parse_size(raw)
                return raw
        self.error(
            path,
            f"{key!r}: {raw or 'the value'!r} reads as a duration (s = seconds, h = hours...), not a size; "
            "write a byte unit such as MiB or GiB",
        )
        return None


_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6})?\s*$")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a section { ... }"
    if isinstance(value, list):
        return "a list [ ... ]"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if is_duration_object(value):
        return f"a duration ({value})"
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"a number of {len(str(abs(value)))} digits"
    return _shown(value) if isinstance(value, str) else repr(value)
