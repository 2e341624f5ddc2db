"""A placement request: the shape of one VM (vCPUs, memory bytes, device type -> count).

Requests are hashable and normalised (device types sorted, zero counts dropped) because the engine
caches one exact cost vector per distinct shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.limits import MAX_COUNT, MAX_SIZE_BYTES
from tui.core.units import UnitError, parse_size


class RequestError(ValueError):
    """A request that cannot be placed as written (negative size, bad device count)."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


@dataclass(frozen=True)
class Request:
    vcpus: int
    memory: int
    devices: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        # Upper bounds too (tui/core/limits.py): a 400-digit count would overflow every float below.
        if (
            isinstance(self.vcpus, bool)
            or not isinstance(self.vcpus, int)
            or not 0 <= self.vcpus <= MAX_COUNT
        ):
            raise RequestError(
                f"vcpus must be a whole number >= 0 (at most {MAX_COUNT}), got {_shown(self.vcpus)}"
            )
        if (
            isinstance(self.memory, bool)
            or not isinstance(self.memory, int)
            or not 0 <= self.memory <= MAX_SIZE_BYTES
        ):
            raise RequestError(
                f"memory must be a whole number of bytes >= 0 (at most {MAX_SIZE_BYTES}), got {_shown(self.memory)}"
            )
        merged: dict[str, int] = {}
        for kind, count in self.devices:
            if not isinstance(kind, str) or not kind:
                raise RequestError(f"a device type must be a non-empty string, got {kind!r}")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
                raise RequestError(
                    f"device count for {kind!r} must be a whole number >= 0 (at most {MAX_COUNT}), got {_shown(count)}"
                )
            merged[kind] = merged.get(kind, 0) + count
        # Zero counts change no cost term (listed types are evaluated anyway, unlisted ones only when
        # used), so dropping them makes equal shapes share one cache entry.
        object.__setattr__(self, "devices", tuple(sorted((k, n) for k, n in merged.items() if n > 0)))

    @classmethod
    def of(cls, vcpus: int, memory: int, devices: Mapping[str, int] | None = None) -> Request:
        return cls(vcpus, memory, tuple((devices or {}).items()))

    @property
    def device_map(self) -> dict[str, int]:
        return dict(self.devices)

    def to_json(self) -> dict[str, Any]:
        return {"vcpus": self.vcpus, "memory": self.memory, "devices": self.device_map}


def parse_device_counts(items: Iterable[str]) -> dict[str, int]:
    """Command-line device words, `TYPE=COUNT` (a bare TYPE counts one), summed per type."""
    devices: dict[str, int] = {}
    for item in items:
        kind, sep, count = (part.strip() for part in item.partition("="))
        if not kind or (sep and not count.isdigit()):
            raise RequestError(f"--device {item!r}: expected TYPE=COUNT, e.g. nvidia-gpu=1")
        devices[kind] = devices.get(kind, 0) + (int(count) if sep else 1)
    return devices


def parse_request(vcpus: int, memory: str | int, devices: Iterable[str] = ()) -> Request:
    """A request from command-line values: memory as bytes or a size such as 4GiB, devices as words."""
    try:
        size = parse_size(memory)
    except UnitError as exc:
        raise RequestError(f"--memory: {exc}") from None
    return Request.of(vcpus, size, parse_device_counts(devices))
