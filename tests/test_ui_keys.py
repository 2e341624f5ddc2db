"""A real keyboard: bursts, pastes and fast typing against the console (Pilot on the demo fleet).

Pilot's `press` waits for the app to be idle after every key, which no person or paste does. `burst`
hands every key to the driver at once, as a terminal delivers a paste or a fast typist's keys, so
each test here reproduces a case from issue 11 (crashes, keys leaking through dialogs, Tab lost).
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from rich.text import Text
from textual import events
from textual.app import _character_to_key
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.console.activity import Running
from tui.console.app import VmdeckApp
from tui.console.dialogs import ActionScreen, HostDetailScreen, StateChangeScreen
from tui.console.messages import ActionJob, ActionRequested
from tui.console.panes.base import Pane
from tui.console.panes.sim import SimPane
from tui.console.profiledetail import ProfileDetailScreen
from tui.console.vmdetail import VmDetailScreen
from tui.console.widgets.prompt import PromptScreen
from tui.core.live import DomainState
from tui.services.actions import Deck, Outcome
from tui.services.actions.path import Note
from tui.services.store import Actor, Store

from .test_ui_actions import on_vms_pane, running_vm, status_line
from .test_ui_console import SIZE, console, polled, select_host, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return tmp_path / "demo"


CHARS = {"enter": "\r", "tab": "\t", "space": " ", "escape": "\x1b", "backspace": "\x7f"}


def burst(app: VmdeckApp, *keys: str) -> None:
    """Every key to the driver at once, as a terminal delivers a paste: a one-character item is that
    character, a longer one a key name (`enter`, `ctrl+p`, `question_mark`); spread text with `*`."""
    assert app._driver is not None
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        char = CHARS.get(
            name, key if len(key) == 1 else {"question_mark": "?", "colon": ":", "slash": "/"}.get(name)
        )
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause(0.2)
    await pilot.pause()


def field(app: VmdeckApp, selector: str) -> str:
    return app.screen.query_one(selector, Input).value


def stack_is_consistent(app: VmdeckApp) -> None:
    """A pane at the bottom, at most a detail screen and one modal above it, nothing else."""
    stack = app.screen_stack
    assert isinstance(stack[0], Pane)
    modals = [s for s in stack if isinstance(s, ModalScreen)]
    assert len(modals) <= 1, stack
    details = HostDetailScreen | VmDetailScreen | ProfileDetailScreen
    assert len([s for s in stack if isinstance(s, details)]) <= 1, stack
    assert all(isinstance(s, Pane | details | ModalScreen) for s in stack), stack


# --- no crash ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("opener", ["slash", "colon"])
async def test_prompt_then_two_enters_in_one_burst(demo: Path, opener: str) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        burst(app, opener, "enter", "enter")
        await settle(pilot)
        assert app.is_running
        stack_is_consistent(app)
        # As if typed slowly: the prompt took the first enter, the hosts table the second (details).
        assert isinstance(app.screen, HostDetailScreen)


async def test_pasting_a_filter_with_two_newlines(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        burst(app, "slash", *"pool1", "enter", "enter")  # a paste without bracketed-paste mode
        await settle(pilot)
        assert app.is_running
        stack_is_consistent(app)
        assert app.panes["hosts"].filter.text == "pool1"
        await pilot.press("escape")  # back from the host detail the second enter opened
        burst(app, "slash")
        await settle(pilot)
        app.post_message(events.Paste("pool2\n\n"))  # a bracketed paste: the first line only
        await settle(pilot)
        assert field(app, "#prompt-input") == "pool2"
        assert isinstance(app.screen, PromptScreen)


async def test_page_down_in_the_same_burst_as_the_palette(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        burst(app, "ctrl+p", "pagedown", "pagedown", "pageup")
        await settle(pilot)
        assert app.is_running
        burst(app, "pagedown")  # once laid out, paging works as usual
        await settle(pilot)
        assert app.is_running


# --- a modal owns every key -------------------------------------------------------------------------
async def test_a_reason_typed_fast_after_n_stays_in_the_dialog(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-01")
        burst(app, "n", *"rack rs disk swap")  # r (drain), s (start), n (no) and d (disable) inside
        await settle(pilot)
        assert isinstance(app.screen, StateChangeScreen)
        assert len(app.screen_stack) == 2  # nothing stacked, nothing ran behind it
        assert field(app, "#state-reason") == "rack rs disk swap"
        burst(app, "enter", "y")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await wait_for(
            pilot, lambda: app.view.records["pool1-01"].state.value == "no-scheduling", "the state"
        )
        assert isinstance(app.screen, Pane)


async def test_tab_in_a_burst_moves_to_the_next_field(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4")
        burst(app, "s", *"abc", "tab", *"2 4GiB", "tab", "tab", *"ghi")
        await settle(pilot)
        assert isinstance(app.screen, ActionScreen)
        values = {f.id: f.value for f in app.screen.query(Input)}
        assert values == {
            "action-name": "abc",
            "action-shape": "2 4GiB",
            "action-realm": "libvirt1",
            "action-reason": "ghi",
        }


async def test_no_dialog_opens_over_another(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-01")
        burst(app, "d", *"why", "enter")  # the question is shown: no field has focus now
        await settle(pilot)
        assert "Confirm:" in str(app.screen.query_one("#state-status", Static).render())
        burst(app, "question_mark", "colon", "slash", "ctrl+p", "4", "r", "e", "q")
        await settle(pilot)
        assert isinstance(app.screen, StateChangeScreen)
        assert len(app.screen_stack) == 2
        assert app.current_mode == "hosts"
        burst(app, "n")  # n answers the question now
        await settle(pilot)
        assert isinstance(app.screen, Pane)
        assert app.view.records["pool1-01"].state.value == "enabled"


async def test_n_typed_in_a_field_never_cancels(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool1-01")
        await pilot.press("d")
        await pilot.press("n", "o")
        assert isinstance(app.screen, StateChangeScreen)
        assert field(app, "#state-reason") == "no"


async def test_request_then_lab_key_in_one_burst(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5")
        sim = app.screen
        assert isinstance(sim, SimPane)
        burst(app, "r", *"abc")  # after r the keys are text, never the lab's a / b / c
        await settle(pilot)
        assert field(app, "#sim-input") == "abc"
        assert sim.showing == "place"
        burst(app, "ctrl+u", *"2 4GiB", "enter", "l")  # after enter the keys are lab keys again
        await settle(pilot)
        assert field(app, "#sim-input") == "2 4GiB"
        assert sim.request is not None
        assert sim.request.vcpus == 2
        assert sim.showing == "response"


async def test_curve_lab_input_has_the_cursor_when_shown(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5")
        burst(app, "e", *"pool1.vcpus.hard=24")
        await settle(pilot)
        assert app.current_mode == "sim"  # `1` did not switch panes, `s` opened nothing
        assert isinstance(app.screen, SimPane)
        assert field(app, "#lab-params") == "pool1.vcpus.hard=24"
        assert "lab.params" not in {b.id for b in app.screen.PANE_BINDINGS}  # no hidden focusing key


# --- random bursts with a fixed seed over every pane and dialog ---------------------------------------
POOL = [
    *"abcdeghijklmnoprstuvwxyz0123456789",  # no q: quitting is not a crash (see the quit tests)
    "enter", "enter", "escape", "tab", "shift+tab", "backspace", "up", "down", "pagedown", "pageup",
    "colon", "slash", "question_mark", "space", "ctrl+p", "ctrl+r", "ctrl+u", "home", "end",
]  # fmt: skip


@pytest.mark.parametrize("start", ["1", "2", "3", "4", "5"])
async def test_random_bursts_never_crash(
    demo: Path, start: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # random keys may export or save files to relative paths
    rng = random.Random(f"vmdeck-{start}")
    app = console(demo)
    quits: list[str] = []
    # Quitting (the palette's "Quit vmdeck", `:quit`) is a way out, not a crash: noted, not done.
    app.exit = lambda *args, **kwargs: quits.append("quit")  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await polled(pilot)
        for _ in range(6):
            await pilot.press(start)
            burst(app, *(rng.choice(POOL) for _ in range(40)))
            await settle(pilot)
            assert app.is_running
            stack_is_consistent(app)
            for _ in range(4):  # responsive: esc leaves any dialog and field
                await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, Pane | HostDetailScreen), app.screen_stack
        await pilot.press("escape", "escape", "colon", *"hosts", "enter")
        await settle(pilot)
        assert app.current_mode == "hosts"
        del app.exit  # the real exit, for run_test to end the app


# --- checks before questions ---------------------------------------------------------------------------
async def test_scale_above_the_maximum_is_refused_before_the_reason(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("c")
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.query_one("#action-vcpus", Input).border_title == "vCPUs"
        assert "memory" in str(app.screen.query_one("#action-memory", Input).border_title)
        too_much = vm.max_memory // (1 << 30) + 1
        await pilot.press("enter", "ctrl+u", *f"{too_much}GiB", "enter")
        status = str(app.screen.query_one("#action-status", Static).render())
        assert "of memory (its maximum)" in status
        assert app.screen.focused is app.screen.query_one("#action-memory")  # the reason is not asked


async def test_infeasible_start_is_refused_before_the_reason(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("4", "s", *"big1", "enter", *"500 4GiB", "enter", "enter")
        assert isinstance(app.screen, ActionScreen)
        assert app.screen.query_one("#action-realm", Input).border_title == "realm"
        status = str(app.screen.query_one("#action-status", Static).render())
        assert "cannot be placed now" in status
        assert app.screen.focused is app.screen.query_one("#action-realm")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0 0", "a VM needs at least 1 vCPU, got 0"),
        ("2 4GiB 8GiB", "memory given twice (4 GiB and 8GiB)"),
        ("2 vcpus=4 4GiB", "vCPUs given twice (2 and 4)"),
        ("2 foo=1 4GiB", "unknown device type 'foo'"),
    ],
)
async def test_request_prompt_refuses_like_the_cli(demo: Path, typed: str, message: str) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await pilot.press("5", "r", *typed, "enter")
        assert message in str(app.screen.query_one("#sim-result", Static).render())


async def test_a_vm_with_an_action_running_is_refused_at_once(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        app.activity.running[99] = Running(f"stop {vm.name}", vm.name, "pool2-01", "vm.stop", "x", "T0")
        await pilot.press("c")
        assert not isinstance(app.screen, ActionScreen)
        assert f"stop {vm.name} already running" in status_line(app)


async def test_an_action_another_admin_runs_is_refused_before_the_question(demo: Path) -> None:
    """Another vmdeck's lease (another console, the CLI, another machine) is seen without store I/O
    on the UI loop: from the copy the app reads in a worker."""
    other = Store(demo / "db", actor=Actor("bob"))
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        await on_vms_pane(pilot, "pool2-01", vm)
        lease = other.acquire_lease(f"vm:{vm.name}", "vm.stop", 60)
        try:
            await wait_for(
                pilot, lambda: app.leases.holding(f"vm:{vm.name}", None) is not None, "the lease copy"
            )
            await pilot.press("c")
            assert not isinstance(app.screen, ActionScreen)
            assert f"stop {vm.name} already running, started by bob" in status_line(app)
        finally:
            other.release_lease(lease)
        await wait_for(pilot, lambda: app.leases.holding(f"vm:{vm.name}", None) is None, "the release")
        await pilot.press("c")
        assert isinstance(app.screen, ActionScreen)  # free again: the question is asked


async def test_status_line_tracks_the_latest_action(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = next(d for d in app.view.domains("pool2-01") if d.state is DomainState.SHUTOFF)
        await on_vms_pane(pilot, "pool2-01", vm)
        await pilot.press("x")  # refused: shut off
        assert status_line(app).startswith("REFUSED")
        await pilot.press("1")
        await select_host(pilot, "pool1-02")
        await pilot.press("n", *"maintenance", "enter", "y")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: status_line(app).startswith("ok: set pool1-02"), "the status line")


# --- quitting with an action in flight --------------------------------------------------------------
async def test_quit_with_an_action_running_asks_and_audits_it_abandoned(demo: Path) -> None:
    release = threading.Event()

    def slow(deck: Deck, _report: object) -> Outcome:  # a stop that does not come back
        def body(note: Note) -> str:
            note.host = "pool2-01"
            release.wait(30)
            return "stopped"

        return deck.run("vm.stop", "web-slow", body, reason="window")

    app = console(demo)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await polled(pilot)
            job = ActionJob("stop web-slow", slow, "web-slow", "pool2-01", "window", "vm.stop")  # type: ignore[arg-type]
            app.post_message(ActionRequested(job))
            await wait_for(pilot, lambda: bool(app.activity.running), "the action to start")
            await pilot.press("q")
            assert isinstance(app.screen, ActionScreen)
            assert "Quit with 1 action running?" in str(app.screen.query_one("#quit-title", Static).render())
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running, "the console to quit")
        # Read while the abandoned body is still blocked: in a real quit its process is gone (the
        # worker is a daemon thread); here it lives on in the test process until released.
        [entry] = [e for e in Store(demo / "db").audit() if e.what == "vm.stop"]
        assert entry.after["result"] == "abandoned"
        assert entry.target == "web-slow"
        assert entry.reason == "window"
    finally:
        release.set()


# --- escaping ---------------------------------------------------------------------------------------------
async def test_names_from_outside_are_shown_escaped(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        vm = running_vm(app, "pool2-01")
        evil = "ev\x1b[2Jil[bold]x[/bold]"
        snap = app.view.snapshots["pool2-01"]
        doms = tuple(replace(d, name=evil) if d.uuid == vm.uuid else d for d in snap.domains)
        app.view.apply([replace(snap, domains=doms)])
        await pilot.press("4")
        app.panes["vms"].fleet_changed(["pool2-01"])
        await pilot.pause()
        cell = app.screen.query_one("#vms-table").get_row(f"pool2-01/{vm.uuid}")[0]  # type: ignore[attr-defined]
        assert "\x1b" not in cell
        assert Text.from_markup(cell).plain == "ev\\x1b[2Jil[bold]x[/bold]"  # shown as written
        app.notify(f"{evil} stopped")
        await pilot.pause()
        [note] = [n for n in app._notifications if n.message.endswith(" stopped")]
        assert note.message == "ev\\x1b[2Jil[bold]x[/bold] stopped"
        assert note.markup is False


# --- a crash that happens anyway ---------------------------------------------------------------------
def test_a_crash_names_its_log_file_and_exits_non_zero(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = console(demo)

    def boom() -> None:
        raise RuntimeError("a bug the tests put here")

    app.call_later(boom)
    app.run(headless=True, size=SIZE)
    assert app.return_code == 1
    [log] = list((tmp_path / "state" / "vmdeck").glob("crash-*.log"))
    assert "RuntimeError: a bug the tests put here" in log.read_text()
    assert "Traceback" in log.read_text()
    assert app.crash_log == log
    assert app.crash_message == (
        f"vmdeck: the console stopped on an internal error (RuntimeError); the traceback is in {log}"
    )
    assert "Traceback" not in capsys.readouterr().err  # no traceback over the terminal


async def test_a_reason_typed_right_after_r_goes_into_the_drain_dialog(demo: Path) -> None:
    async with console(demo).run_test(size=SIZE) as pilot:
        app = await polled(pilot)
        await select_host(pilot, "pool2-02")
        burst(app, "r", *"maintenance")  # n (No Scheduling) and e (Enable) inside, typed while planning
        await settle(pilot)
        await wait_for(
            pilot, lambda: "Plan:" in str(app.screen.query_one("#action-plan", Static).render()), "plan"
        )
        assert len(app.screen_stack) == 2
        assert field(app, "#action-reason") == "maintenance"
        assert app.view.records["pool2-02"].state.value == "enabled"
