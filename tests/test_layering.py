"""The architecture's one rule that a test can hold: tui.core performs no I/O-library imports."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_core_imports_no_ui_libvirt_or_store() -> None:
    code = (
        "import sys, pkgutil, importlib, tui.core\n"
        "for m in pkgutil.walk_packages(tui.core.__path__, 'tui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in ('textual', 'libvirt', 'tinydb', 'pyhocon', 'tui.services', 'tui.ui') if n in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert proc.stdout.strip() == "", f"tui.core imported: {proc.stdout.strip()}"
