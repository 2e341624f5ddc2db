"""The footer as one line of text: the screen's active bindings, each as key and description.

Textual's Footer rebuilds a widget per key whenever a screen is shown or focus moves; on a pane
switch in front of a 10,000-row table that recomposition was most of the delay before the pane was
complete. The console is driven from the keyboard (no clickable keys needed), so one Static updated
from the screen's `bindings_updated_signal` shows the same information for the cost of one line.

The line fits the bar's width (80 columns is a first-class size): `? Help` and `q Quit` always stay;
the other keys are dropped least important first (`esc` and `:`, then the pane's keys from the last
of its list, then `/`), and `…` says some were left off (`?` lists them all). In read-only mode keys that change the fleet are
not offered (tui/console/keymap.py MUTATING_IDS).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.screen import Screen
from textual.widgets import Static

from tui.console.keymap import ESSENTIAL_IDS, MUTATING_IDS

# Which keys stay longest when the bar is narrow (higher: kept longer; help and quit: always).
ALWAYS = 3
FILTER = 2  # the `/` filter: how to find anything in a large table
PANE = 1  # the pane's own keys, in the order of its list
OTHER = 0  # esc, `:`: listed in help

GAP = "  "
MORE = "…"


@dataclass(frozen=True)
class Entry:
    text: str
    rank: int


def fit(entries: list[Entry], width: int) -> str:
    """The entries joined, dropping non-essential ones from the end until the line fits `width`."""
    kept = list(entries)

    def line(items: list[Entry], more: bool) -> str:
        return GAP.join([e.text for e in items] + ([MORE] if more else []))

    dropped = False
    while len(line(kept, dropped)) > width:
        droppable = [i for i, e in enumerate(kept) if e.rank < ALWAYS]
        if not droppable:
            break  # only help and quit left: shown even if the terminal is narrower still
        # The lowest rank goes first; among equals the last (a pane lists its keys by importance).
        del kept[min(droppable, key=lambda i: (kept[i].rank, -i))]
        dropped = True
    return line(kept, dropped)


def rank(binding_id: str | None, app_key: bool) -> int:
    if binding_id in ESSENTIAL_IDS:
        return ALWAYS
    if binding_id == "app.filter":
        return FILTER
    return OTHER if app_key else PANE


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

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__("", markup=False)
        self.read_only = read_only
        self._text: str | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self, _event: events.Resize) -> None:
        self.bindings_changed(self.screen)

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Signalled on every screen resume and focus move: only when the keys actually changed.
        # The bar is one line of the screen's width whatever its text (DEFAULT_CSS), so no layout:
        # one of the screen was a second full frame ~30 ms after a pane switch, a help or a close.
        text = self.keys_text()
        if screen is self.screen and text != self._text:
            self._text = text
            self.update(text, layout=False)

    def entries(self) -> list[Entry]:
        """Shown bindings in the screen's order; a key disabled right now is shown in parentheses."""
        parts: list[Entry] = []
        seen: set[str] = set()
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            if self.read_only and binding.id in MUTATING_IDS:
                continue
            seen.add(binding.action)
            text = f"{self.app.get_key_display(binding)} {binding.description}"
            parts.append(Entry(text if enabled else f"({text})", rank(binding.id, node is self.app)))
        return parts

    def keys_text(self) -> str:
        width = self.content_region.width if self.is_mounted else 0
        entries = self.entries()
        if width <= 0:
            return GAP.join(e.text for e in entries)  # not laid out yet: sized on the first resize
        return fit(entries, width)
