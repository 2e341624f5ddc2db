"""The lab's keys and tabs: every key is `lab(NAME)`, so the keys, the help screen and the command
palette (tui/console/palette.py) run the same code (SimPane.action_lab: the pane's ACTIONS, else the view
of that name). Letters the app uses (q, digits, :, /, ?) are avoided. A view's key pressed again
while it is shown puts the cursor in its parameter line."""

from __future__ import annotations

from textual.binding import Binding

from tui.console.keymap import key

LAB_BINDINGS: list[Binding] = [
    key("p", "lab('place')", "Place", id="lab.place", show=False),
    key("l", "lab('response')", "Load resp.", id="lab.response"),
    key("e", "lab('curve')", "Curve lab", id="lab.curve"),
    key("w", "lab('replay')", "Replay", id="lab.replay"),
    key("a", "lab('ab')", "A/B", id="lab.ab"),
    key("d", "lab('drain')", "Drain preview", id="lab.drain", show=False),
    key("b", "lab('rebalance')", "Rebalance plan", id="lab.rebalance", show=False),
    key("c", "lab('consolidate')", "Consolidation plan", id="lab.consolidate", show=False),
    key("z", "lab('undo')", "Drop last curve edit", id="lab.undo", show=False),
    key("t", "lab('hocon')", "Show/hide HOCON", id="lab.hocon", show=False),
    key("h", "lab('save_hocon')", "Save HOCON to a file", id="lab.save_hocon", show=False),
    key("m", "lab('apply')", "Apply the plan (confirm)", id="lab.apply", show=False),
    key("s", "lab('save')", "Save scenario", id="lab.save"),
    key("o", "lab('open')", "Open scenario", id="lab.open", show=False),
    key("x", "lab('export')", "Export JSON/CSV", id="lab.export", show=False),
    key("g", "lab('live')", "Back to the live fleet", id="lab.live", show=False),
]

TABS = [
    ("place", "p place"),
    ("response", "l load"),
    ("curve", "e curve lab"),
    ("replay", "w replay"),
    ("ab", "a A/B"),
    ("drain", "d drain"),
    ("rebalance", "b rebalance"),
    ("consolidate", "c consolidate"),
    ("scenario", "o scenario"),
]


def tab_line(showing: str) -> str:
    """The tab strip, the view on screen in brackets."""
    return " ".join(f"[{label}]" if name == showing else f" {label} " for name, label in TABS)
