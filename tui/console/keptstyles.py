"""A screen shown again keeps its widgets' styles instead of having Textual restyle every one.

Textual posts ScreenResume with `refresh_styles` when `App.switch_mode` shows a pane and when
`push_screen` pushes a screen: it then matches every node of the screen against the whole
stylesheet again, under the key (35 ms for the Sim pane's 147 nodes, 6-8 ms for a table pane, the
bigger part of the VM detail's resume). A screen kept mounted while hidden (every pane, the VM
detail, each pane's help: tui/console/modewarm.py) needs none of it: a class or state set on one of
its widgets while it is hidden is restyled when set (App.update_styles, on idle, on any screen), a
new stylesheet or theme moves the app's CSS count and Textual then refreshes the CSS as before, and
no hidden screen is focused or hovered. A screen popped off another is resumed without the restyle
by Textual itself. Textual 8 (pinned < 9): `ScreenResume.refresh_styles`.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import Screen


class StylesKept(Screen[Any]):
    """Resumed without the restyle. Runs after the subclasses' own resume handlers (Textual calls
    each class's, the most derived first) and before Screen's, which reads the flag."""

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        event.refresh_styles = False
