"""The architecture's rules that a test can hold, one per layer (conventions.md "Architecture").

- tui.core performs no I/O-library imports and imports no upper layer;
- tui.services never imports the console (tui.console) or the command line (tui.cli);
- tui.console and tui.cli never import each other (both sit on services; neither is the other's base),
  except for the one arrow in ALLOWED: the dispatcher opens the console when no subcommand is named;
- no import loop among the modules of tui.console.

Checked twice: statically, over every import statement of every module (those inside functions and
under `if TYPE_CHECKING:` included, since a hidden import is still a dependency), and dynamically, by
importing every module of a layer in a fresh interpreter and looking at `sys.modules`.

And imports sit at module level, where a reader sees a module's dependencies: in tui.core,
tui.services, tui.console and tui.cli an import inside a function is allowed only where
`DEFERRED_IMPORTS` says why (a measured start-up cost or an import loop), so a new one is deliberate.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = Path(REPO) / "tui"

# layer -> the module prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "tui.core": (
        "textual",
        "libvirt",
        "tinydb",
        "pyhocon",
        "tui.services",
        "tui.console",
        "tui.cli",
    ),
    "tui.services": ("tui.console", "tui.cli"),
    "tui.console": ("tui.cli",),
    "tui.cli": ("tui.console",),
}
# Arrows between layers that FORBIDDEN would refuse, each with why. `vmdeck` with no subcommand opens
# the console, so the dispatcher (tui.cli's __init__) reaches into it — deferred, in that one function
# (DEFERRED_IMPORTS), so no headless command loads Textual.
ALLOWED: dict[tuple[str, str], str] = {
    ("tui.cli", "tui.console.launch"): "the dispatcher opens the console when no subcommand is named",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str) -> Iterator[tuple[str, int]]:
    path = MODULES[name]
    return imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")


def imports_in(source_text: str, name: str, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """Every module the module `name` imports (absolute names), with the line, wherever the statement
    is; `from a import b` yields `a.b` when that is a module of ours, else `a`."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source_text, name)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(node, package):
                yield target, node.lineno


def _targets(node: ast.Import | ast.ImportFrom, package: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    for alias in node.names:
        full = f"{source}.{alias.name}"
        yield full if full in MODULES else source


def function_imports_in(source_text: str, name: str, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """The imports of `name` that stand inside a function (at any depth), as `imports_in` names them."""
    package = name if is_package else name.rpartition(".")[0]
    for func in ast.walk(ast.parse(source_text, name)):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                # A nested function is walked again as its own `func`: count each import once.
                if isinstance(node, ast.Import | ast.ImportFrom) and _innermost(func, node):
                    for target in _targets(node, package):
                        yield target, node.lineno


def _innermost(func: ast.AST, node: ast.AST) -> bool:
    return not any(
        isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and node in ast.walk(inner)
        for inner in ast.walk(func)
        if inner is not func
    )


# Imports left inside a function on purpose: (module, what it imports) -> why. Figures: CPU time of
# the import in a process that already holds what `vmdeck simulate` loads (2026-12-01, this machine).
_EVERY_START = "on every vmdeck start (each command module is imported to register its parser)"
DEFERRED_IMPORTS: dict[tuple[str, str], str] = {
    (
        "tui.cli",
        "tui.console.launch",
    ): "the console (Textual): +303 modules, 226 ms, which no headless command needs",
    ("tui.cli", "tui.services.store"): (
        "+47 modules (tinydb, the audit log), 22 ms of every start; only a read-only refusal needs it"
    ),
    (
        "tui.console.launch",
        "tui.services.demo",
    ): "+14 modules, 19 ms of the console's first paint; the demo only",
    ("tui.console.hostchecks", "tui.services.hostcheck"): (
        "+9 modules, 21 ms of the console's first paint; only a host check (c) needs it"
    ),
    ("tui.services.config.hocon", "pyhocon"): "+38 modules, 33 ms; `vmdeck simulate` reads a cached config",
    ("tui.services.config.cache", "importlib"): (
        "importlib.metadata: +40 modules, 15 ms of every config load; only for a pyhocon installed unusually"
    ),
    (
        "tui.services.store",
        "tui.services.store.postgres",
    ): "psycopg: +133 modules, 89 ms, for PostgreSQL only",
    ("tui.services.actions.start_placement", "tui.services.hostcheck.cache"): (
        "an import loop: tui.services.hostcheck builds on tui.services.actions"
    ),
    ("tui.cli.hostcheck", "tui.services.hostcheck"): f"+12 modules, 12 ms {_EVERY_START}",
    ("tui.cli.vmlife", "tui.services.actions.serialconsole"): f"+3 modules, 2 ms {_EVERY_START}",
    ("tui.cli.vmlife", "tui.services.actions.vminfo"): f"+2 modules, 7 ms {_EVERY_START}",
    ("tui.cli.vmlife", "tui.services.actions.snapshots"): f"+1 module, 4 ms {_EVERY_START}",
}
MODULE_LEVEL_LAYERS = ("tui.core", "tui.services", "tui.console", "tui.cli")


def hidden_imports() -> list[str]:
    """Function-level imports in MODULE_LEVEL_LAYERS that DEFERRED_IMPORTS does not explain."""
    found = [
        f"{MODULES[name].relative_to(REPO)}:{line} imports {target} inside a function"
        for name in MODULES
        if any(_under(name, layer) for layer in MODULE_LEVEL_LAYERS)
        for target, line in function_imports_in(
            MODULES[name].read_text(encoding="utf-8"), name, MODULES[name].name == "__init__.py"
        )
        if (name, target) not in DEFERRED_IMPORTS
    ]
    return list(dict.fromkeys(found))  # `from a import b, c` names its line once


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(layer: str) -> list[str]:
    return [
        f"{MODULES[name].relative_to(REPO)}:{line} imports {target}"
        for name in MODULES
        if _under(name, layer)
        for target, line in imported(name)
        if any(_under(target, bad) for bad in FORBIDDEN[layer]) and (name, target) not in ALLOWED
    ]


def ui_cycles() -> list[list[str]]:
    """Strongly connected groups (more than one module, or one importing itself) among tui.console's
    modules (Tarjan's algorithm)."""
    graph = {
        name: sorted({t for t, _ in imported(name) if _under(t, "tui.console") and t in MODULES})
        for name in MODULES
        if _under(name, "tui.console")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                cycles.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_the_scan_sees_every_kind_of_import() -> None:
    # The scan is only as good as its parsing: an import in a function, under TYPE_CHECKING, relative
    # (from a module and from a package's __init__) and `from package import module` are all seen.
    text = (
        "from typing import TYPE_CHECKING\n"
        "import tui.core.units\n"
        "from . import keymap\n"
        "from .lab import state\n"
        "from ..services import store\n"
        "if TYPE_CHECKING:\n"
        "    from tui.console.app import VmdeckApp\n"
        "def later():\n"
        "    from tui.cli.output import emit\n"
    )
    found = [t for t, _ in imports_in(text, "tui.console.example")]
    assert found == [
        "typing",
        "tui.core.units",
        "tui.console.keymap",
        "tui.console.lab.state",
        "tui.services.store",
        "tui.console.app",
        "tui.cli.output",
    ]
    assert [t for t, _ in imports_in("from . import state\n", "tui.console.lab", is_package=True)] == [
        "tui.console.lab.state"
    ]


def test_the_scan_sees_imports_inside_functions() -> None:
    text = (
        "import json\n"
        "def outer():\n"
        "    import tui.core.units\n"
        "    def inner():\n"
        "        from tui.services import store\n"
        "    return inner\n"
        "class K:\n"
        "    async def method(self):\n"
        "        from . import keymap\n"
    )
    found = [t for t, _ in function_imports_in(text, "tui.console.example")]
    assert sorted(found) == ["tui.console.keymap", "tui.core.units", "tui.services.store"]


def test_imports_inside_functions_are_only_the_explained_ones() -> None:
    assert hidden_imports() == []


def test_every_explained_import_inside_a_function_still_exists() -> None:
    # An entry whose import moved to module level (or went) is removed with it, so the list stays true.
    present = {
        (name, target)
        for name in MODULES
        for target, _ in function_imports_in(
            MODULES[name].read_text(encoding="utf-8"), name, MODULES[name].name == "__init__.py"
        )
    }
    assert sorted(set(DEFERRED_IMPORTS) - present) == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_what_it_must_not(layer: str) -> None:
    assert violations(layer) == []


def test_every_allowed_arrow_still_exists() -> None:
    # An arrow that went is removed from ALLOWED with it, so the exception cannot outlive its reason.
    present = {(name, target) for name in MODULES for target, _ in imported(name)}
    assert sorted(set(ALLOWED) - present) == []


def test_no_import_loop_inside_the_console() -> None:
    assert ui_cycles() == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_importing_a_layer_loads_nothing_it_must_not(layer: str) -> None:
    # Dynamically too: a layer's modules imported in a fresh interpreter pull in nothing forbidden,
    # by any route (a package __init__, a re-export, an import made at import time).
    code = (
        "import sys, pkgutil, importlib\n"
        f"top = importlib.import_module({layer!r})\n"
        f"for m in pkgutil.walk_packages(top.__path__, {layer + '.'!r}):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [n for n in {FORBIDDEN[layer]!r} if n in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert proc.stdout.strip() == "", f"{layer} imported: {proc.stdout.strip()}"
