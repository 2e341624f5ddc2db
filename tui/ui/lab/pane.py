"""The pane the what-if lab lives on, as the lab sees it.

The pane holds the lab's shared state (`LabState`: edits, opened scenario and its fleet).
`LabController` needs a few things of the Simulation pane beyond any `Pane` (the typed request, the
host selected in the placement table). Declaring them here, below both,
lets the controller type its pane without importing `tui.ui.panes.sim`, which imports the controller:
no import loop.
"""

from __future__ import annotations

from tui.core.scheduling.request import Request
from tui.ui.lab.state import LabState
from tui.ui.panes.base import Pane


class LabPane(Pane):
    """A pane that hosts the lab (SimPane is the one)."""

    request: Request | None = None  # the request typed on the pane (None: the lab's default)
    lab_state: LabState = LabState()  # what the admin set up in the lab (replaced, never changed)

    def selected_host(self) -> str | None:
        """The host selected on the pane, if any (what a drain preview drains by default)."""
        raise NotImplementedError
