"""Load `ticrypt-vm.conf`: parse with pyhocon, then validate into core objects with located diagnostics.

Order of work: scan the raw text (positions, includes, merged list objects), parse every included
file on its own first (so a syntax error names the file it is in, which pyhocon's messages do not),
parse the whole config, build the core objects, then lint them. pyhocon mutates pyparsing's global
state while parsing, so parses are serialised by a lock; callers in the UI run this off the UI loop.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.curves import Curve
from tui.core.diagnostics import Diagnostic, Severity
from tui.core.lint import lint_config, lint_curve
from tui.core.model import VmConfig
from tui.services.config.build import build_config, build_curve
from tui.services.config.locator import SourceIndex, format_path, index_source
from tui.services.config.reader import Reader

# pyhocon logs a missing include as a warning; that would print over the console. We report it ourselves.
logging.getLogger("pyhocon").addHandler(logging.NullHandler())
logging.getLogger("pyhocon").propagate = False

_PARSE_LOCK = threading.Lock()
_LINE_COL = re.compile(r"\(line:\s*(\d+),\s*col:\s*(\d+)\)")


class ConfigFileError(OSError):
    """The config file itself cannot be read (missing, unreadable, not UTF-8)."""


@dataclass
class LoadResult:
    config: VmConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [d.to_json() for d in self.errors],
            "warnings": [d.to_json() for d in self.warnings],
            "summary": {
                "cost_functions": self.counts.get("cost_functions", 0),
                "hardware_profiles": self.counts.get("hardware_profiles", 0),
                "realms": self.counts.get("realms", 0),
            },
        }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a UTF-8 BOM would otherwise fail to parse
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigFileError(f"{path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: {exc.strerror or exc}") from None


def _syntax_diagnostic(exc: Exception, file: str) -> Diagnostic:
    line = getattr(exc, "lineno", None)
    message = getattr(exc, "msg", None) or str(exc)
    if line is None:
        match = _LINE_COL.search(str(exc))
        line = int(match.group(1)) if match else None
    message = _LINE_COL.sub("", str(message)).strip().rstrip(",:")
    if "Expected" in message or "Expected" in str(exc):
        col = getattr(exc, "col", None)
        message = f"HOCON syntax error{f' at column {col}' if col else ''}: {message}"
    return Diagnostic(Severity.ERROR, "", message, file, line)


def _parse(text: str, basedir: Path, resolve: bool) -> Any:
    from pyhocon import ConfigFactory  # imported here: ~0.2 s, not needed by every command

    with _PARSE_LOCK:
        return _plain(ConfigFactory.parse_string(text, basedir=str(basedir), resolve=resolve))


def _plain(value: Any) -> Any:
    """ConfigTree -> dict: ConfigTree.get() splits keys on dots and raises on missing keys."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in dict.items(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "NoneValue":
        return None
    return value


def _include_diagnostics(index: SourceIndex) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for inc in index.includes:
        if not inc.exists:
            message = f"include file {inc.target!r} not found (looked for {inc.resolved})"
        elif inc.empty:
            message = f"included file {inc.target!r} is empty ({inc.resolved})"
        else:
            continue
        out.append(Diagnostic(Severity.ERROR, format_path(inc.path), message, inc.at.file, inc.at.line))
    for merged in index.merged:
        out.append(
            Diagnostic(
                Severity.WARNING,
                format_path(merged.path),
                "two objects on one line inside a list are MERGED into one element (HOCON object "
                "concatenation): put each object on its own line or separate them with a comma",
                merged.at.file,
                merged.at.line,
            )
        )
    return out


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: (d.file or "", d.line or 0, d.path))


def load_config(path: str | Path) -> LoadResult:
    """Parse, validate and lint a ticrypt-vm.conf; raises ConfigFileError only if it cannot be read."""
    file = Path(path).resolve()
    text = _read(file)
    index = index_source(text, file)
    diagnostics = _include_diagnostics(index)

    for included in index.files[1:]:
        try:
            _parse(_read(included), included.parent, resolve=False)
        except ConfigFileError as exc:
            diagnostics.append(Diagnostic(Severity.ERROR, "", str(exc), str(included), None))
        except Exception as exc:  # pyparsing and pyhocon raise many types; all are syntax errors here
            diagnostics.append(_syntax_diagnostic(exc, str(included)))
    if any(d.severity is Severity.ERROR and not d.path for d in diagnostics):
        return LoadResult(None, _sorted(diagnostics), str(file))

    try:
        tree = _parse(text, file.parent, resolve=True)
    except Exception as exc:
        diagnostics.append(_syntax_diagnostic(exc, str(file)))
        return LoadResult(None, _sorted(diagnostics), str(file))

    reader = Reader(index)
    config = build_config(reader, tree, str(file))
    diagnostics += reader.diagnostics
    counts: dict[str, int] = {}
    if config is not None:
        for finding in lint_config(config):
            reader.diagnostics = []
            reader.report(finding.severity, finding.path, finding.message)
            diagnostics += reader.diagnostics
        counts = {
            "cost_functions": len(config.cost_functions),
            "hardware_profiles": len(config.hardware_profiles),
            "realms": len(config.realms),
        }
    result = LoadResult(config, _sorted(diagnostics), str(file), counts)
    if result.errors:
        result.config = None  # never hand a config with errors to the scheduler
    return result


@dataclass
class CurveResult:
    curve: Curve | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.curve is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)


def parse_curve_spec(spec: str, name: str = "<curve>") -> CurveResult:
    """One HOCON curve object given as text (the `vmdeck curve` argument, the curve lab's editor)."""
    file = Path(name)
    index = index_source(spec, file)
    try:
        tree = _parse(spec, Path.cwd(), resolve=True)
    except Exception as exc:
        return CurveResult(None, [_syntax_diagnostic(exc, name)])
    reader = Reader(index)
    if not isinstance(tree, Mapping) or not tree:
        reader.error((), "expected one curve object such as { curve: linear, slope: 1, base: 0 }")
        return CurveResult(None, reader.diagnostics)
    curve = build_curve(reader, tree, ())
    if curve is not None:
        for finding in lint_curve(curve, ()):
            reader.report(finding.severity, finding.path, finding.message)
    return CurveResult(curve, _sorted(reader.diagnostics))
