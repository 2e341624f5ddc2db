"""Workloads for what-if replays: start/stop events, a synthetic generator and trace conversion.

The generator draws Poisson arrivals (exponential gaps at `rate` per time unit), exponential
lifetimes, a shape from a weighted mix and, with probability `gpu_share`, a GPU request; a seed makes
it reproducible. The offered load (mean VMs running) is rate × mean lifetime.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.limits import MAX_COUNT, MAX_GENERATED_VMS
from tui.core.scheduling.request import Request
from tui.core.units import parse_size

GIB = 1024**3


@dataclass(frozen=True)
class StartEvent:
    id: str
    request: Request
    time: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": "start", "id": self.id, **self.request.to_json()}
        if self.time is not None:
            out["t"] = self.time
        return out


@dataclass(frozen=True)
class StopEvent:
    id: str
    time: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": "stop", "id": self.id}
        if self.time is not None:
            out["t"] = self.time
        return out


Event = StartEvent | StopEvent


@dataclass(frozen=True)
class Shape:
    vcpus: int
    memory: int
    weight: float = 1.0


DEFAULT_SHAPES: tuple[Shape, ...] = (
    Shape(1, 2 * GIB, 0.30),
    Shape(2, 4 * GIB, 0.30),
    Shape(4, 8 * GIB, 0.25),
    Shape(8, 16 * GIB, 0.15),
)


@dataclass(frozen=True)
class WorkloadSpec:
    starts: int = 1000
    rate: float = 1.0  # arrivals per time unit
    mean_lifetime: float = 100.0  # time units
    shapes: tuple[Shape, ...] = DEFAULT_SHAPES
    gpu_share: float = 0.0  # probability that a VM also asks for GPUs
    gpu_type: str = "nvidia-gpu"
    gpus: int = 1
    seed: int = 0
    id_prefix: str = "vm-"

    def __post_init__(self) -> None:
        if self.starts < 0:
            raise ValueError("the number of VMs cannot be negative")
        if self.starts > MAX_GENERATED_VMS:
            raise ValueError(
                f"at most {MAX_GENERATED_VMS:,} VMs can be generated (asked for {self.starts:,}); "
                "each takes about 1 KiB of memory"
            )
        if self.rate <= 0 or self.mean_lifetime <= 0:
            raise ValueError("rate and mean lifetime must be > 0")
        if (
            not self.shapes
            or any(s.weight < 0 for s in self.shapes)
            or sum(s.weight for s in self.shapes) <= 0
        ):
            raise ValueError("the shape mix needs at least one shape with a positive weight")
        if not (math.isfinite(self.rate) and math.isfinite(self.mean_lifetime)):
            raise ValueError("rate and mean lifetime must be finite numbers")
        if not 0.0 <= self.gpu_share <= 1.0:
            raise ValueError("gpu share must be between 0 and 1")
        if not 1 <= self.gpus <= MAX_COUNT:
            raise ValueError(f"GPUs per GPU VM must be between 1 and {MAX_COUNT}")

    @property
    def offered_load(self) -> float:
        return self.rate * self.mean_lifetime


@dataclass(frozen=True)
class Interval:
    """One VM of a trace: when it started and stopped (None: still running at the end)."""

    id: str
    start: float
    end: float | None
    request: Request = field(default_factory=lambda: Request(1, GIB))


def generate(spec: WorkloadSpec) -> list[Event]:
    rng = np.random.default_rng(spec.seed)
    n = spec.starts
    arrivals = np.cumsum(rng.exponential(1.0 / spec.rate, n))
    lifetimes = rng.exponential(spec.mean_lifetime, n)
    weights = np.array([s.weight for s in spec.shapes], dtype=np.float64)
    picks = rng.choice(len(spec.shapes), size=n, p=weights / weights.sum())
    gpu = rng.random(n) < spec.gpu_share
    width = max(6, len(str(n)))
    intervals = []
    # One request per shape and GPU choice, shared by its VMs (requests are immutable): equal
    # requests that are the same object compare by identity in the engine's lookups.
    requests: dict[tuple[int, bool], Request] = {}
    for k in range(n):
        pick, with_gpu = int(picks[k]), bool(gpu[k])
        request = requests.get((pick, with_gpu))
        if request is None:
            shape = spec.shapes[pick]
            devices = ((spec.gpu_type, spec.gpus),) if with_gpu else ()
            request = requests[(pick, with_gpu)] = Request(shape.vcpus, shape.memory, devices)
        start = round(float(arrivals[k]), 6)
        end = round(float(arrivals[k] + lifetimes[k]), 6)
        intervals.append(Interval(f"{spec.id_prefix}{k + 1:0{width}d}", start, end, request))
    return events_from_intervals(intervals)


def events_from_intervals(intervals: Iterable[Interval]) -> list[Event]:
    """Start/stop events in time order; at equal times stops come first (they free room), then
    the trace's own order decides."""
    keyed: list[tuple[float, int, int, Event]] = []
    for seq, item in enumerate(intervals):
        if item.end is not None and item.end < item.start:
            raise ValueError(f"{item.id}: ends ({item.end}) before it starts ({item.start})")
        keyed.append((item.start, 1, seq, StartEvent(item.id, item.request, item.start)))
        if item.end is not None:
            keyed.append((item.end, 0, seq, StopEvent(item.id, item.end)))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def parse_shapes(text: str) -> tuple[Shape, ...]:
    """'2:4GiB:0.5,4:8GiB:0.3' -> shapes (vcpus:memory[:weight]); memory takes size units."""
    shapes: list[Shape] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        fields = part.split(":")
        if len(fields) not in (2, 3):
            raise ValueError(f"shape {part!r}: expected VCPUS:MEMORY[:WEIGHT], e.g. 2:4GiB:0.5")
        try:
            vcpus = int(fields[0])
            weight = float(fields[2]) if len(fields) == 3 else 1.0
        except ValueError:
            raise ValueError(f"shape {part!r}: vCPUs must be a whole number and weight a number") from None
        if not 0 <= vcpus <= MAX_COUNT or not math.isfinite(weight):
            raise ValueError(f"shape {part!r}: vCPUs must be 0 to {MAX_COUNT} and weight a finite number")
        shapes.append(Shape(vcpus, parse_size(fields[1]), weight))
    if not shapes:
        raise ValueError("no shapes given")
    return tuple(shapes)


def summarise(events: Sequence[Event]) -> dict[str, Any]:
    starts = [e for e in events if isinstance(e, StartEvent)]
    return {
        "events": len(events),
        "starts": len(starts),
        "stops": len(events) - len(starts),
        "shapes": len({e.request for e in starts}),
        "gpu_starts": sum(1 for e in starts if e.request.devices),
    }
