"""Errors and warnings about a configuration, each pointing at a file, a line and a key path."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    path: str  # dotted key path, e.g. "ticrypt.vm.cost-functions.simple.vcpus.soft"
    message: str
    file: str | None = None
    line: int | None = None

    def located(self, file: str | None, line: int | None) -> Diagnostic:
        return replace(self, file=file, line=line)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["severity"]
        return data

    def __str__(self) -> str:
        where = f"{self.file or '<config>'}:{self.line or '?'}"
        return f"{where}: {self.severity}: {self.path}: {self.message}"


def error(path: str, message: str) -> Diagnostic:
    return Diagnostic(Severity.ERROR, path, message)
