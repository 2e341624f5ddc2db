"""A placement request: the shape of one VM (vCPUs, memory bytes, device type -> count).

Requests are hashable and normalised (device types sorted, zero counts dropped) because the engine
caches one exact cost vector per distinct shape.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tui.core.limits import MAX_COUNT, MAX_SIZE_BYTES
from tui.core.units import UnitError, format_size, parse_size


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
    if TYPE_CHECKING:
        # An instance attribute set by __post_init__; ClassVar only so that it is not a field.
        _hash: ClassVar[int]

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
        # The hash the dataclass would compute on every call, computed once: a replay looks its
        # request up once per decision, and hashing the three fields anew was a twentieth of it.
        object.__setattr__(self, "_hash", hash((self.vcpus, self.memory, self.devices)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Request], tuple[int, int, tuple[tuple[str, int], ...]]]:
        # Rebuilt through __init__, never with the hash copied: another process hashes strings
        # (device types) with another seed.
        return Request, (self.vcpus, self.memory, self.devices)

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


def request_of(vcpus: int, memory: str | int, devices: Iterable[str] = ()) -> Request:
    """A request from command-line values: memory as bytes or a size such as 4GiB, devices as words."""
    try:
        size = parse_size(memory)
    except UnitError as exc:
        raise RequestError(f"--memory: {exc}") from None
    return Request.of(vcpus, size, parse_device_counts(devices))


REQUEST_EXAMPLE = "2 4GiB   or   vcpus=4 memory=8GiB nvidia-gpu=1"
_VCPU_WORDS = ("vcpus", "vcpu", "cpus", "cpu")
_MEMORY_WORDS = ("memory", "mem", "ram")


def parse_request(text: str, device_types: Collection[str] | None = None) -> Request:
    """A request typed as text: '2 4GiB nvidia-gpu=1' or 'vcpus=2 memory=4GiB gpu:1'.

    The first bare whole number is the vCPUs; a size (or a second number: bytes) is the memory,
    with units as `validate` reads them. Refused
    with a RequestError: no vCPUs or memory, 0 vCPUs or no memory (a VM needs both), a value given
    twice, a device count that is not a whole number, and — with `device_types` — a device type the
    config does not know.
    """
    vcpus: int | None = None
    memory: int | None = None
    devices: dict[str, int] = {}
    # Normalise "key = value" / "key: value" to key=value and "4 GiB" to 4GiB, then split on blanks.
    text = re.sub(r"\s*[=:]\s*", "=", text.strip())
    # A word after a number is its unit (`32 Gib` is then refused as `validate` refuses it), unless it
    # names a device (`4 gpu=1`).
    text = re.sub(r"(\d)\s+([A-Za-z]+)\b(?![-\w.]*=)", r"\1\2", text)
    for token in text.replace(",", " ").split():
        key, sep, value = token.partition("=")
        word = key.lower()
        if sep and not key:
            raise RequestError(f"{token!r}: expected NAME=VALUE, e.g. {REQUEST_EXAMPLE}")
        if (not sep and key.isdigit() and vcpus is None) or word in _VCPU_WORDS:
            number = key if not sep else value
            if vcpus is not None:
                raise RequestError(f"vCPUs given twice ({vcpus} and {number})")
            vcpus = _whole(number, "vcpus")
        elif not sep or word in _MEMORY_WORDS:
            size = _size(value if sep else key)
            if memory is not None:
                raise RequestError(f"memory given twice ({format_size(memory)} and {value if sep else key})")
            memory = size
        else:
            if key in devices:
                raise RequestError(f"device {key!r} given twice")
            devices[key] = _whole(value, key)
    if vcpus is None or memory is None:
        raise RequestError(f"give vCPUs and memory, e.g. {REQUEST_EXAMPLE}")
    if vcpus < 1:
        raise RequestError(f"a VM needs at least 1 vCPU, got {vcpus}")
    if memory <= 0:
        raise RequestError("memory must be positive")
    if device_types is not None:
        unknown = sorted(k for k in devices if k not in device_types)
        if unknown:
            known = ", ".join(sorted(device_types)) or "none"
            raise RequestError(f"unknown device type {unknown[0]!r} (the config's device types: {known})")
    return Request.of(vcpus, memory, devices)


def _whole(value: str, key: str) -> int:
    if not value.isdigit():
        raise RequestError(f"{key}: expected a whole number, got {value!r}")
    return int(value)


def _size(value: str) -> int:
    try:
        return parse_size(value)
    except UnitError as exc:
        raise RequestError(f"memory: {exc}") from None
