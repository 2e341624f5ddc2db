"""A one-line prompt docked at the bottom of the screen: the `:` command line, the `/` filter and the
lab's file prompts. It overlays the pane (transparent background): the table stays readable above."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from tui.console.keyorder import Dialog


class PromptScreen(Dialog[str | None]):
    """Returns the submitted text, or None on esc. `suggestions` complete with the right arrow."""

    DEFAULT_CSS = """
    PromptScreen {
        align: left bottom;
        background: transparent;
    }
    PromptScreen > Horizontal {
        height: auto;
        width: 100%;
        background: $panel;
        border-top: solid $primary;
    }
    PromptScreen Label {
        width: auto;
        padding: 1 0 0 1;
    }
    PromptScreen Input {
        width: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        # A priority binding: it wins over the field's own enter and closes the prompt at once.
        Binding("enter", "submit", "Submit", id="prompt.submit", show=False, priority=True),
    ]

    def __init__(self, prompt: str, value: str = "", suggestions: Sequence[str] = (), hint: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.suggestions = list(suggestions)
        self.hint = hint

    def compose(self) -> ComposeResult:
        suggester = SuggestFromList(self.suggestions, case_sensitive=False) if self.suggestions else None
        with Horizontal():
            yield Label(self.prompt)
            yield Input(value=self.value, placeholder=self.hint, suggester=suggester, id="prompt-input")

    def action_submit(self) -> None:
        self.dismiss(self.query_one("#prompt-input", Input).value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
