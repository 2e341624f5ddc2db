"""The footer as one line of text: the screen's active bindings, each as key and description.

Textual's Footer rebuilds a widget per key whenever a screen is shown or focus moves; on a pane
switch in front of a 10,000-row table that recomposition was most of the delay before the pane was
complete. The console is driven from the keyboard (no clickable keys needed), so one Static updated
from the screen's `bindings_updated_signal` shows the same information for the cost of one line.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 100%;
        background: $footer-background;
        color: $footer-foreground;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self._text: str | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Signalled on every screen resume and focus move; update() re-lays-out the screen, so only
        # when the keys actually changed.
        text = self.keys_text()
        if screen is self.screen and text != self._text:
            self._text = text
            self.update(text)

    def keys_text(self) -> str:
        """Shown bindings in the screen's order; a key disabled right now is shown in parentheses."""
        parts: list[str] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            text = f"{self.app.get_key_display(binding)} {binding.description}"
            parts.append(text if enabled else f"({text})")
        return "  ".join(parts)
