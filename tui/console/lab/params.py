"""The lab's one-line parameters (`vms=1000 rate=2 add=pool1:2`, `steps=16 next=10`, a host name).

Each view keeps its own line; it is parsed on the UI loop (cheap, no I/O) into frozen values that a
thread job can use. Every error says which word was wrong and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.core.scheduling.workload import Event, WorkloadSpec, generate
from tui.services.scenario_files import load_workload


class ParamError(ValueError):
    """A parameter line that cannot be read; the message names the word."""


def words(text: str, allowed: dict[str, type]) -> dict[str, Any]:
    """`key=value` words, each converted to its type; unknown keys are refused with the known ones."""
    out: dict[str, Any] = {}
    for word in text.replace(",", " ").split():
        key, sep, raw = word.partition("=")
        if not sep or key not in allowed:
            known = " ".join(f"{k}=" for k in allowed)
            raise ParamError(f"{word!r}: expected one of {known}")
        kind = allowed[key]
        try:
            value: Any = kind(raw)
        except ValueError:
            raise ParamError(f"{key}: expected a {kind.__name__}, got {raw!r}") from None
        if kind is str:
            out.setdefault(key, []).append(value)  # add=/remove= may repeat
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class ResponseParams:
    steps: int = 16
    next: int = 10

    @classmethod
    def parse(cls, text: str) -> ResponseParams:
        got = words(text, {"steps": int, "next": int})
        params = cls(got.get("steps", 16), got.get("next", 10))
        if not 1 <= params.steps <= 200 or not 0 <= params.next <= 1000:
            raise ParamError("steps must be 1..200 and next 0..1000")
        return params


@dataclass(frozen=True)
class WorkloadParams:
    """A generated workload (the generator's parameters) or a JSONL file, and hosts added/removed."""

    vms: int = 1000
    rate: float = 1.0
    lifetime: float = 20.0
    gpu: float = 0.0
    seed: int = 0
    file: str | None = None
    add: tuple[tuple[str, int], ...] = ()
    remove: tuple[tuple[str, int], ...] = ()

    @classmethod
    def parse(cls, text: str) -> WorkloadParams:
        got = words(
            text,
            {
                "vms": int,
                "rate": float,
                "lifetime": float,
                "gpu": float,
                "seed": int,
                "file": str,
                "add": str,
                "remove": str,
            },
        )
        files = got.get("file", [])
        params = cls(
            got.get("vms", 1000),
            got.get("rate", 1.0),
            got.get("lifetime", 20.0),
            got.get("gpu", 0.0),
            got.get("seed", 0),
            files[-1] if files else None,
            tuple(_count(w, "add") for w in got.get("add", [])),
            tuple(_count(w, "remove") for w in got.get("remove", [])),
        )
        params.spec()  # the generator's own checks, now rather than in the worker
        return params

    def spec(self) -> WorkloadSpec:
        try:
            return WorkloadSpec(
                starts=self.vms,
                rate=self.rate,
                mean_lifetime=self.lifetime,
                gpu_share=self.gpu,
                seed=self.seed,
            )
        except ValueError as exc:
            raise ParamError(str(exc)) from None

    def events(self) -> list[Event]:
        """Thread side: reads the JSONL file when there is one."""
        if self.file:
            return load_workload(self.file)
        return generate(self.spec())

    def to_json(self) -> dict[str, Any]:
        """As a scenario stores it (the CLI's spelling: {"spec": ...} or {"source": file})."""
        fleet = {"add": [list(a) for a in self.add], "remove": [list(r) for r in self.remove]}
        if self.file:
            return {"source": self.file, "fleet_changes": fleet}
        spec = {
            "vms": self.vms,
            "rate": self.rate,
            "lifetime": self.lifetime,
            "gpu_share": self.gpu,
            "seed": self.seed,
        }
        return {"spec": spec, "fleet_changes": fleet}

    def to_text(self) -> str:
        if self.file:
            parts = [f"file={self.file}"]
        else:
            parts = [
                f"vms={self.vms} rate={self.rate:g} lifetime={self.lifetime:g} gpu={self.gpu:g} seed={self.seed}"
            ]
        parts += [f"add={p}:{n}" for p, n in self.add] + [f"remove={p}:{n}" for p, n in self.remove]
        return " ".join(parts)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> WorkloadParams:
        if not data:
            return cls()
        changes = data.get("fleet_changes") or {}
        add = tuple((str(p), int(n)) for p, n in changes.get("add", []))
        remove = tuple((str(p), int(n)) for p, n in changes.get("remove", []))
        if data.get("source"):
            return cls(file=str(data["source"]), add=add, remove=remove)
        spec = data.get("spec") or {}
        return cls(
            int(spec.get("vms", 1000)),
            float(spec.get("rate", 1.0)),
            float(spec.get("lifetime", 20.0)),
            float(spec.get("gpu_share", 0.0)),
            int(spec.get("seed", 0)),
            None,
            add,
            remove,
        )


def _count(word: str, key: str) -> tuple[str, int]:
    profile, sep, count = word.partition(":")
    if not sep or not count.isdigit() or not profile:
        raise ParamError(f"{key}={word}: expected {key}=PROFILE:N, e.g. {key}=pool1:2")
    return profile, int(count)


@dataclass(frozen=True)
class PlanParams:
    max_moves: int = 20
    max_hosts: int | None = None

    @classmethod
    def parse(cls, text: str, default_moves: int) -> PlanParams:
        got = words(text, {"moves": int, "hosts": int})
        params = cls(got.get("moves", default_moves), got.get("hosts"))
        if params.max_moves < 0 or (params.max_hosts is not None and params.max_hosts < 0):
            raise ParamError("moves and hosts cannot be negative")
        return params
