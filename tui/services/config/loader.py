"""Load `ticrypt-vm.conf`: parse with pyhocon, then validate into core objects with located diagnostics.

Order of work: read the file and scan the raw text (positions, includes read with limits, merged list
objects, depths: `locator`), refuse the config if the scan found a problem, take pyhocon's tree from
the parse cache (keyed by every file's content: `cache`) or parse the whole config (`hocon`; if that
fails, each included file is parsed alone so the syntax error names the file it is in, which
pyhocon's messages do not), build the core objects, then lint them. Callers in the UI run this off
the UI loop. Limits are in tui/core/limits.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import limits
from tui.core.curves import Curve
from tui.core.diagnostics import Diagnostic, Severity
from tui.core.lint import lint_config, lint_curve
from tui.core.model import VmConfig
from tui.services.bounded_files import InputFileError, read_text, resolve
from tui.services.config import cache
from tui.services.config.build import build_config, build_curve
from tui.services.config.hocon import HoconError, parse
from tui.services.config.locator import index_source
from tui.services.config.reader import Reader
from tui.services.config.sourceindex import SourceIndex, format_path


class ConfigFileError(OSError):
    """The config file itself cannot be read (missing, not a regular file, too large, not UTF-8 text)."""


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
        return read_text(path, limits.MAX_CONFIG_FILE_BYTES)
    except InputFileError as exc:
        raise ConfigFileError(str(exc)) from None


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
    for problem in index.problems:
        out.append(
            Diagnostic(
                Severity.ERROR, format_path(problem.path), problem.message, problem.at.file, problem.at.line
            )
        )
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


def _parse_all(text: str, file: Path, index: SourceIndex, diagnostics: list[Diagnostic]) -> Any | None:
    """pyhocon's tree of the whole config, or None with the syntax errors added to `diagnostics`."""
    try:
        return parse(text, str(file), str(file.parent), index.texts)
    except HoconError as exc:
        main_error = exc.diagnostic
    # pyhocon parses every include on its own inside the main parse, so an included file can only
    # be at fault when the main parse failed. Its messages do not name that file: find it by
    # parsing each included file alone, and report those errors instead.
    found = False
    for included in index.files[1:]:
        try:
            parse(index.texts[str(included)], str(included), str(included.parent), index.texts, resolve=False)
        except HoconError as exc:
            diagnostics.append(exc.diagnostic)
            found = True
    if not found:
        diagnostics.append(main_error)
    return None


def load_config(path: str | Path) -> LoadResult:
    """Parse, validate and lint a ticrypt-vm.conf; raises ConfigFileError only if it cannot be read."""
    try:
        file = resolve(Path(path))
    except InputFileError as exc:
        raise ConfigFileError(str(exc)) from None
    text = _read(file)
    index = index_source(text, file)
    diagnostics = _include_diagnostics(index)
    if index.problems:  # unsafe or unbalanced input never reaches pyhocon
        return LoadResult(None, _sorted(diagnostics), str(file))

    key = cache.cache_key(index.texts) if cache.cacheable(index.texts) else None
    tree = cache.load(key) if key else None
    if tree is None:
        tree = _parse_all(text, file, index, diagnostics)
        if tree is None:
            return LoadResult(None, _sorted(diagnostics), str(file))
        if key:
            cache.store(key, tree)

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
    if index.problems:
        return CurveResult(None, _sorted(_include_diagnostics(index)))
    # An include in a curve has no file to be relative to: it is not served (pyhocon sees no file).
    try:
        tree = parse(spec, name, str(Path.cwd()), {})
    except HoconError as exc:
        return CurveResult(None, [exc.diagnostic])
    reader = Reader(index)
    if not isinstance(tree, Mapping) or not tree:
        reader.error((), "expected one curve object such as { curve: linear, slope: 1, base: 0 }")
        return CurveResult(None, reader.diagnostics)
    curve = build_curve(reader, tree, ())
    if curve is not None:
        for finding in lint_curve(curve, ()):
            reader.report(finding.severity, finding.path, finding.message)
    return CurveResult(curve, _sorted(reader.diagnostics))
