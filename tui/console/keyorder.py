"""Keys handled in the order they were typed, however fast they arrive.

Textual routes each key to the widget focused *when the app reads it* and lets that widget handle it
later, in its own queue. A burst from a paste or a fast typist is read all at once, so keys after
one that opens a dialog, moves focus or submits a field were already routed to the old target:
`/` + enter + enter submitted the prompt twice (a crash), a reason typed right after `n` ran keys on
the pane behind the dialog, and a Tab arriving with text did not move to the next field.

The rule here: a burst behaves as the same keys typed slowly. Two parts make it so:

- Keys that open a screen or move focus are priority bindings (tui/console/keymap.py), so they act while
  the app reads them, before the next key is routed.
- A screen that owns its keys (`OrderedKeys`: every dialog; a pane while one of its text fields has
  focus) takes every key the app reads into its own queue (`VmdeckApp.on_event` asks `owns_keys`)
  and handles them one by one with `dispatch`: a printable character goes into the focused field at
  once, any other key runs the binding Textual would run (`Screen.active_bindings`: focused widget
  first, priority bindings first, `check_action` respected). Because each key is finished before the
  next starts, a focus move or a dismissal always applies to the keys after it.

A dialog (`Dialog`) is dismissed once; keys it received after closing go back to the app, in order,
as new keys for whatever is on top then.
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual import events
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

ResultT = TypeVar("ResultT")


def copy_key(event: events.Key) -> events.Key:
    """A fresh key event (an event object is delivered once)."""
    return events.Key(event.key, event.character)


async def dispatch(screen: Screen[Any], event: events.Key) -> bool:
    """Handle one key on `screen` now: into the focused field, or the binding Textual would run."""
    focused = screen.focused
    if isinstance(focused, Input) and event.is_printable and event.character is not None:
        _insert(focused, event.character)
        return True
    active = screen.active_bindings.get(event.key)
    if active is None or not active.enabled:
        return False
    return await screen.app.run_action(active.binding.action, active.node)


def paste(screen: Screen[Any], text: str) -> None:
    """A bracketed paste: its first line into the focused field (what Textual's Input does)."""
    focused = screen.focused
    if isinstance(focused, Input) and text:
        _insert(focused, text.splitlines()[0] if text.splitlines() else "")


def _insert(field: Input, text: str) -> None:
    if field.disabled or not text:
        return
    selection = field.selection
    if selection.is_empty:
        field.insert_text_at_cursor(text)
    else:
        field.replace(text, *selection)


class OrderedKeys:
    """Mixin for a Screen that handles the keys it owns in its own queue, in order (see module doc)."""

    def owns_keys(self) -> bool:
        """Whether keys read now belong in this screen's queue (a dialog: always)."""
        return True

    def accept(self, event: events.Key | events.Paste) -> None:
        """Called by the app for a key it read while this screen owns keys: queue it here."""
        screen: Screen[Any] = self  # type: ignore[assignment]
        fresh: events.Key | events.Paste = (
            copy_key(event) if isinstance(event, events.Key) else events.Paste(event.text)
        )
        fresh._set_forwarded()  # so that, bubbling up, the app does not route it a second time
        self._ordered().add(fresh)
        screen.post_message(fresh)

    def _ordered(self) -> set[events.Event]:
        queued: set[events.Event] | None = getattr(self, "_ordered_events", None)
        if queued is None:
            queued = set()
            self._ordered_events = queued
        return queued

    def pending(self) -> bool:
        """Keys accepted and not handled yet (later keys must queue behind them)."""
        return bool(self._ordered())

    async def on_key(self, event: events.Key) -> None:
        queued = self._ordered()
        if event not in queued:
            return  # a key bubbling up from a child: Textual's own handling
        queued.discard(event)
        event.stop()
        event.prevent_default()
        screen: Screen[Any] = self  # type: ignore[assignment]
        if screen.app._exit or not screen.is_attached:
            return  # the console is quitting (or the screen is gone): a key left over is dropped
        if not screen.is_active:
            # An earlier key of the burst opened a screen over this one (or closed this dialog):
            # the key belongs to what is on top now, as if it had been typed after it appeared.
            screen.app.post_message(copy_key(event))
            return
        await self.ordered_key(event)

    def on_paste(self, event: events.Paste) -> None:
        queued = self._ordered()
        if event not in queued:
            return
        queued.discard(event)
        event.stop()
        paste(self, event.text)  # type: ignore[arg-type]

    async def ordered_key(self, event: events.Key) -> None:
        await dispatch(self, event)  # type: ignore[arg-type]


class Dialog(OrderedKeys, ModalScreen[ResultT]):
    """A modal screen that owns every key while it is open, and is dismissed once."""

    closed = False

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        if self.closed or not self.is_active:
            done: AwaitComplete = AwaitComplete.nothing()  # type: ignore[no-untyped-call]
            return done  # a second enter in the same burst: already closed
        self.closed = True
        return super().dismiss(result)
