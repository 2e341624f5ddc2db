"""Mount the panes not yet shown in the background, one per step, after the console's first paint.

Every pane is an app mode (tui/console/app.py). Textual builds a mode's screen the first time it is
switched to: compose, mount, the pane's first draw, and then `App.refresh_css` twice (once in
`_init_mode`, once in `switch_mode`), which parses the whole stylesheet again. That made the first
switch to a pane cost three to four times a later one (Activity: 160 ms against 45 ms,
bench/bench_activity.py). Here each pane not yet shown is registered (mounted as Textual's
`_get_screen` does) in its own timer step, spaced apart so that keys pressed meanwhile are handled
between steps; the first switch then finds the screen running.

The VMs pane (`KEEP_UNSHOWN`: its model of 100,000 rows kept batch by batch while not shown) is
mounted the same way: its first draw loads the kept rows into its table here, in the background,
and a first poll that arrives later is loaded into its table in that batch (TablePane._keep), so
the first switch to it is a switch to a running screen, not a load of 100,000 rows under the key.

The stylesheet parse is skipped, not moved: a screen's `_css_update_count` starts at -1, which makes
Textual reparse for a screen that has never seen a CSS refresh. The widgets of a screen that has just
been registered already have their styles (`App._register` applies the stylesheet to each), and the
stylesheet and its variables are those of the app's last refresh (the count is the app's; a theme
change moves it on and Textual refreshes as usual). Textual 8 private names (pinned < 9).

A pane shown by Textual itself (the first one, hosts) misses the same count: `_init_mode` and
`switch_mode` refresh the CSS while its screen is not mounted yet, so it stays at -1 and the first
switch back to it parsed the whole stylesheet again under the key (19 ms at 10,000 hosts, `pane 1`).
`css_is_current` marks it current once mounted, on the same grounds.

`warm_screen` does the same for a screen pushed over a pane again and again (the VM detail, each
pane's help): it is installed and mounted in the background, so no push of it composes a widget.
Panes and screens share one queue per app (`_Steps`), one mount a step: mounted in one go, the
help screens and the VM detail were seven mounts queued before any key pressed meanwhile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from textual.app import App
from textual.screen import Screen

# Before the first step (after the first refresh) and between steps: keys and the first poll go first.
FIRST_STEP_S = 0.2
STEP_S = 0.05


class _Steps:
    """One app's background mounts, one per timer step. A job returns True when it mounted
    something (the step is over) and False when there was nothing left to do (the next job runs)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.pending: deque[Callable[[], bool]] = deque()
        self.stepping = False

    def add(self, job: Callable[[], bool]) -> None:
        self.pending.append(job)
        if not self.stepping:
            self.stepping = True
            start: Callable[[], object] = lambda: self.app.set_timer(FIRST_STEP_S, self._step)  # noqa: E731
            self.app.call_after_refresh(start)

    def _step(self) -> None:
        while self.pending:
            if self.pending.popleft()():
                break
        if self.pending:
            self.app.set_timer(STEP_S, self._step)
        else:
            self.stepping = False


_steps: WeakKeyDictionary[App[Any], _Steps] = WeakKeyDictionary()


def _queue(app: App[Any]) -> _Steps:
    steps = _steps.get(app)
    if steps is None:
        steps = _steps[app] = _Steps(app)
    return steps


def warm_modes(app: App[Any], screens: Iterable[tuple[str, Screen[Any]]]) -> None:
    """After the app's next refresh, mount each (mode, screen) whose mode was never shown, one a step."""
    if not (hasattr(app, "_register") and hasattr(app, "_css_update_count")):
        return  # a Textual without these private names: every first switch simply costs what it did
    for mode, screen in screens:
        _queue(app).add(partial(_mount_mode, app, mode, screen))


def _mount_mode(app: App[Any], mode: str, screen: Screen[Any]) -> bool:
    if mode in app._screen_stacks or screen.is_running or not app.is_running:
        return False  # shown meanwhile (or the app is closing): nothing to prepare
    screen._css_update_count = app._css_update_count
    app._register(app, screen)
    return True


def css_is_current(app: App[Any], screen: Screen[Any]) -> None:
    """A screen just mounted has the styles of the app's last CSS refresh (`_register` applied them
    to each widget): note it, so that showing it again does not parse the stylesheet once more."""
    if getattr(screen, "_css_update_count", None) == -1 and hasattr(app, "_css_update_count"):
        screen._css_update_count = app._css_update_count


def closing(app: App[Any]) -> bool:
    """True when a screen mounted in the background gets its mount event as the console closes: its
    widgets are gone by then, so its on_mount must not query them (seen as NoMatches on a busy CI)."""
    return not app.is_running


def warm_screen(app: App[Any], screen: Screen[Any], name: str) -> None:
    """Install `screen` (kept mounted when popped, to be pushed again) and mount it in the
    background, in its turn after the panes, so that even its first push builds nothing. Without
    Textual's private `_register` it is mounted by its first push, as any screen."""
    app.install_screen(screen, name)
    if not hasattr(app, "_register"):
        return

    def mount() -> bool:
        if not (app.is_running and not screen.is_running and app.get_screen(name) is screen):
            return False  # pushed meanwhile, replaced, or the app is closing
        app._register(app, screen)
        return True

    _queue(app).add(mount)
