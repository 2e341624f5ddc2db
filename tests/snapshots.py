"""A frozen console for SVG snapshot tests: the demo fleet polled once, then never again.

`frozen_demo(directory)` prepares the demo (real libvirt test:/// hosts, a real store), polls every
host once, and builds the console without a poller, so nothing changes while a snapshot is taken.
What differs between runs is fixed first: the test driver reports the wall clock as each domain's CPU
time, poll times are the clock, and the node files live in a temporary directory (URIs are shown
on the host detail and the VMs pane), so those are replaced by constants.

`SHOTS` is the list of snapshots: a name and what to do before the screenshot (keys, or a callable
driving the Pilot). Adding a pane is one line: `Shot("activity", ("6",))`.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.segment import Segment, Segments
from textual.app import App
from textual.filter import Monochrome
from textual.pilot import Pilot

from tui.console.app import VmdeckApp, make_app
from tui.console.session import Session
from tui.core.live import HostSnapshot
from tui.services.config import load_config
from tui.services.demo import prepare_demo
from tui.services.poller import Poller, PollerSettings
from tui.services.store import Store

FIXED_TIME = 1_790_000_000.0  # 2026-09-21: every snapshot's poll time
SIZES = ((80, 24), (120, 40))


def _frozen(snap: HostSnapshot, uri: str, directory: Path) -> HostSnapshot:
    domains = tuple(dataclasses.replace(d, cpu_time_ns=0, cpu_rate=None) for d in snap.domains)
    # An unreachable host's error names its node file under the temporary directory, whose length
    # varies from run to run (and with it the width of every column showing the error).
    error = snap.error.replace(str(directory), "/demo") if snap.error else snap.error
    return dataclasses.replace(
        snap,
        uri=uri,
        domains=domains,
        error=error,
        polled_at=FIXED_TIME if snap.polled_at else None,
        poll_seconds=0.01,
    )


def fixed_uri(uri: str, name: str) -> str:
    return f"test:///demo/{name}.xml" if uri.startswith("test:///") else uri


def frozen_demo(directory: Path) -> VmdeckApp:
    paths = prepare_demo(directory, reset=True)
    _fix_audit_times(Path(paths.db) / "audit.jsonl")
    result = load_config(paths.config)
    assert result.config is not None, result.errors
    store = Store(paths.db)
    records = store.hosts()
    poller = Poller(records, result.config, PollerSettings(read_only=True, open_timeout=5, call_timeout=5))
    try:
        snaps = poller.poll_once()
    finally:
        poller.close()
    shown = [r.with_changes(uri=fixed_uri(r.uri, r.name)) for r in records]
    app = make_app(result.config, shown, session=Session("demo fleet"), store=store)
    app.view.apply([_frozen(s, fixed_uri(s.uri, s.host), directory) for s in snaps.values()])
    return app


def _fix_audit_times(audit: Path) -> None:
    """The demo store's audit entries at one fixed time: the Activity pane shows each entry's time."""
    lines = [json.loads(line) for line in audit.read_text().splitlines() if line]
    for entry in lines:
        entry["when"] = FIXED_WHEN
    audit.write_text("".join(json.dumps(entry, sort_keys=True) + "\n" for entry in lines))


FIXED_WHEN = "2026-01-01T12:00:00.000000+00:00"
Drive = Callable[[Pilot[None]], Awaitable[None]]


@dataclass(frozen=True)
class Shot:
    """One snapshot: `name` (the golden file's name), keys pressed first, then `drive` if any."""

    name: str
    press: Sequence[str] = ()
    drive: Drive | None = None


async def _type_request(pilot: Pilot[None]) -> None:
    await pilot.press("5", "r", *"2 8GiB", "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


async def _lab(pilot: Pilot[None], key: str) -> None:
    await _type_request(pilot)
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)


async def _settled(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


def _then(*keys: str) -> Drive:
    async def drive(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)
        await _settled(pilot)

    return drive


# Every pane and screen; the engineers adding panes add their line here.
SHOTS: tuple[Shot, ...] = (
    Shot("hosts"),
    Shot("profiles", ("2",)),
    Shot("curves", ("3",)),
    Shot("vms", ("4",)),
    Shot("sim", drive=_type_request),
    Shot("lab-curve", drive=lambda p: _lab(p, "e")),
    Shot("lab-response", drive=lambda p: _lab(p, "l")),
    # Not the replay view (w): its Seconds column is each policy's wall time, different every run.
    Shot("lab-ab", drive=lambda p: _lab(p, "a")),
    Shot("lab-rebalance", drive=lambda p: _lab(p, "b")),
    Shot("host-detail", ("down", "down", "enter")),
    Shot("profile-detail", ("2", "enter")),
    Shot("help", ("question_mark",)),
    Shot("filter-prompt", ("slash", *"pool2")),
    Shot("host-state-change", ("d", *"firmware")),
    Shot("command-line", ("colon",)),
    # Host administration (tui/console/hostadmin/)
    Shot("host-add", ("a", *"web-07")),
    Shot("host-edit", ("E",)),
    Shot("host-remove", drive=_then("down", "down", "delete")),
    Shot("host-reconcile", drive=_then("R")),
    Shot("host-pools-create", ("P",)),
    # The Activity pane (no store here: the pane as a console without one shows it), marks and a
    # bulk action's confirmation with its blast radius (tui/console/bulk/)
    Shot("activity", ("6",)),
    Shot("hosts-marked", ("space", "space")),
    Shot("bulk-disable", ("space", "space", "d", *"rack")),
    Shot("vms-marked", ("4", "asterisk")),
)


def monochrome_svg(app: App[object]) -> str:
    """The screen as `NO_COLOR` shows it (Textual's Monochrome filter on every line), as SVG.

    `App.export_screenshot` renders without the app's filters, so a colourless terminal's view is
    made here: the compositor's lines through the same filter Textual applies for NO_COLOR."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    background = app.screen.styles.background
    mono = Monochrome()
    lines = getattr(update, "strips", [])
    segments: list[Segment] = []
    for y, line in enumerate(lines):
        segments += mono.apply([segment for strip in line for segment in strip], background)
        if y < len(lines) - 1:
            segments.append(Segment.line())
    console.print(Segments(segments), end="")
    return console.export_svg(title=f"{app.title} (no colour)")
