"""A host check's result as data: `Verdict`, one `CheckItem` per rule, the `HostCheckReport` of a host.

The same report feeds the CLI (text and JSON), the console's host detail and hosts table, the
check cache (from_json reads a cached file back, so it trusts nothing) and placement explanations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_DETAIL = 400  # characters of outside text (libvirt messages) kept per item


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return {"pass": 0, "warn": 1, "fail": 2}[self.value]


@dataclass(frozen=True)
class CheckItem:
    """One finding: which check, about what, the verdict, what was seen, and how to fix it."""

    check: str  # kvm, iommu, cores, memory, device, pool, versions, shared-storage, migration, host
    subject: str  # what it is about: "0000:01:02.0", "ticrypt-vm-drives", "b", ...
    verdict: Verdict
    detail: str
    fix: str | None = None
    device_type: str | None = None  # for device items: the profile's device type

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "fix": self.fix,
            "device_type": self.device_type,
        }

    @classmethod
    def from_json(cls, raw: Any) -> CheckItem:
        if not isinstance(raw, Mapping):
            raise ValueError("a check item must be an object")
        fix, dtype = raw.get("fix"), raw.get("device_type")
        return cls(
            check=_text(raw.get("check"), "check"),
            subject=_text(raw.get("subject"), "subject"),
            verdict=Verdict(_text(raw.get("verdict"), "verdict")),
            detail=_text(raw.get("detail"), "detail"),
            fix=None if fix is None else _text(fix, "fix"),
            device_type=None if dtype is None else _text(dtype, "device_type"),
        )


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


@dataclass(frozen=True)
class HostCheckReport:
    """Every item of one host's check, or why the host was not checked at all (`refused`)."""

    host: str
    checked_at: str  # ISO 8601, UTC
    items: tuple[CheckItem, ...] = ()
    refused: str | None = None
    seconds: float | None = None

    @property
    def verdict(self) -> Verdict:
        if self.refused is not None:
            return Verdict.FAIL
        return max((i.verdict for i in self.items), key=lambda v: v.rank, default=Verdict.PASS)

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for item in self.items:
            out[item.verdict.value] += 1
        return out

    def summary(self) -> str:
        if self.refused is not None:
            return f"not checked: {self.refused}"
        c = self.counts()
        return f"{c['fail']} fail, {c['warn']} warn, {c['pass']} pass"

    def failed_devices(self) -> dict[str, CheckItem]:
        """PCI address -> the FAIL item of that device (placement explanations cite these)."""
        return {i.subject: i for i in self.items if i.check == "device" and i.verdict is Verdict.FAIL}

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "checked_at": self.checked_at,
            "verdict": self.verdict.value,
            "summary": self.summary(),
            "refused": self.refused,
            "seconds": self.seconds,
            "items": [i.to_json() for i in self.items],
        }

    @classmethod
    def from_json(cls, raw: Any) -> HostCheckReport:
        """Parse a cached report; raises ValueError naming what is wrong."""
        if not isinstance(raw, Mapping):
            raise ValueError("a host check must be an object")
        items = raw.get("items", [])
        if not isinstance(items, list):
            raise ValueError("'items' must be a list")
        refused, seconds = raw.get("refused"), raw.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            raise ValueError("'seconds' must be a number")
        return cls(
            host=_text(raw.get("host"), "host"),
            checked_at=_text(raw.get("checked_at"), "checked_at"),
            items=tuple(CheckItem.from_json(i) for i in items),
            refused=None if refused is None else _text(refused, "refused"),
            seconds=None if seconds is None else float(seconds),
        )


def exit_code(reports: Iterable[HostCheckReport]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any host has a FAIL or was not checked."""
    return 1 if any(r.failed for r in reports) else 0


def clip(text: str) -> str:
    """Outside text (a libvirt message) bounded for a report line."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
