"""A one-line prompt docked at the bottom of the screen: the `:` command line and the `/` filter."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label


class PromptScreen(ModalScreen[str | None]):
    """Returns the submitted text, or None on esc. `suggestions` complete with the right arrow."""

    DEFAULT_CSS = """
    PromptScreen {
        align: left bottom;
        background: $background 30%;
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

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

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

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
