"""The Textual console: panes (hosts, profiles, curves, VMs, simulation), widgets, messages, keymap.

`make_app(...)` builds the app from already loaded objects; the CLI and the tests both use it.
"""

from __future__ import annotations

from tui.console.app import VmdeckApp, make_app

__all__ = ["VmdeckApp", "make_app"]
