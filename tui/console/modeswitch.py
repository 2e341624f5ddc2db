"""Switching panes without Textual's fixed 50 ms hold of the first frame, when nothing needs hiding.

`App.switch_mode` calls `delay_update()`: no frame for 50 ms, to hide a screen still being built.
It held every pane switch (a key answered 50 ms late, whatever the pane cost). A screen that is
already mounted (shown before, or mounted in the background: tui/console/modewarm.py) has nothing to
build: it is complete once it has handled its ScreenResume (a pane brings its rows and lines up
to date there), so the hold ends right then instead, by a callback queued behind that ScreenResume
on the screen. No frame is drawn in between: `switch_mode` lays out a screen shown before at once
(`_screen_resized`), and that frame is held like any other. Textual's 50 ms timer stays as the
backstop. A screen not mounted yet is switched to exactly as Textual does. Textual 8 private names
(pinned < 9): `_screen_stacks`, `_begin_batch`, `_end_batch`, `_batch_count`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen


class QuickSwitch(App[None]):
    """An app whose switches to a mounted mode's screen hold the first frame only until it resumed."""

    _hold_end: Callable[[], None] | None = None  # set by delay_update during such a switch
    _holding = False  # inside switch_mode to a mounted screen

    def mode_screen(self, mode: str) -> Screen[Any] | None:
        """The screen `mode` shows when switched to, if it exists already (else None)."""
        stack = self._screen_stacks.get(mode)
        return stack[-1] if stack else None

    def switch_mode(self, mode: str) -> Any:  # AwaitMount, as App.switch_mode returns
        screen = self.mode_screen(mode) if mode != self.current_mode else None
        if screen is None or not screen.is_mounted:
            return super().switch_mode(mode)
        self._holding, self._hold_end = True, None
        try:
            result = super().switch_mode(mode)
        finally:
            self._holding = False
        end, self._hold_end = self._hold_end, None
        # Queued behind the ScreenResume switch_mode posted: runs once the pane has handled it.
        if end is not None and not screen.call_later(end):
            end()  # the screen takes no more messages (closing): no hold
        return result

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._holding:
            super().delay_update(delay)
            return
        self._begin_batch()
        ended = False

        def end() -> None:
            nonlocal ended
            if ended:
                return
            ended = True
            self._end_batch()
            if not self._batch_count:
                self.screen.refresh()

        self._hold_end = end
        self.set_timer(delay, end, name="delay_update")  # the backstop: Textual's own hold
