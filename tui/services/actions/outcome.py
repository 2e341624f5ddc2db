"""What an action reports: a result the UI and the CLI render, and the two ways an action says no.

`Refused` means vmdeck declined before changing anything (read-only mode, a Disabled host, an
infeasible cost); `Failed` means something was attempted and did not work (libvirt said no, a VM did
not reach running in time). Both carry a message written for the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Result(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    TIMED_OUT = "timed-out"  # e.g. the guest ignored a graceful shutdown: the admin may force it


class Refused(Exception):
    """vmdeck declined the action before changing anything; str(exc) says why."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class Failed(Exception):
    """The action was attempted and did not succeed; str(exc) says what happened."""

    def __init__(self, message: str, result: Result = Result.FAILED, **details: Any) -> None:
        super().__init__(message)
        self.result = result
        self.details = details


@dataclass(frozen=True)
class Outcome:
    action: str  # the audit name, e.g. "vm.start"
    target: str  # the VM, host or pool acted on
    host: str | None
    result: Result
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    # The id of the audit intent written for it (None: the action wrote none, e.g. it was refused
    # first or its only effect was a store change audited by the store). Not part of `to_json`: the
    # console joins its own action and that audit entry into one Activity row by it.
    intent: str | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.result is Result.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "action": self.action,
            "target": self.target,
            "host": self.host,
            "result": self.result.value,
            "message": self.message,
            **{k: v for k, v in self.details.items() if k not in ("ok", "action", "target", "host")},
        }
