"""One run of the console key-latency benchmark (bench/bench_ui.py starts it in a fresh process).

    .venv/bin/python bench/ui_keys.py --hosts 10000 --vms-per-host 10 [--feed] [--rounds 3]

Prints one JSON line: per-key latencies (ms), the CPU time of the UI process over the key run and
over an idle period, the feeder thread's own CPU time, and the load average before and after.

The fleet is synthetic and in memory (no libvirt, no poller): every host is CONNECTED with
`vms-per-host` domains, given to the app once as a first poll would. With `--feed`, a separate thread
then plays a poller: every poll period (the realm's poll-frequency, 10 s for the sample config's
libvirt1) a share of the hosts (`--changed-share`, default 10%) publish a snapshot that differs
visibly (a domain's state, its memory or its address; now and then a domain is created or
undefined), spread evenly over the period, through `app.batcher` — the SnapshotBatcher the real
poller calls, which wakes the app with `FleetPolled` exactly as in production. Polling itself is not
in this process, so what is measured is the console's own cost of taking those snapshots in.

A key's latency runs from the key event arriving at the app (sent through the driver, exactly as
Pilot's `press` builds and sends it) to the first frame written after the app has handled the key
and then every widget on the (possibly new) screen has processed every message queued so far
(Pilot's `_wait_for_screen`, repeated until the screen stops changing). That frame is the screen
with the key's effect on it. When nothing is left to draw at that point, the key's effect was drawn
already: the latency runs to the last frame written before it (or, with no frame, to the end of
the handling: the key changed nothing on screen); a later frame would be a snapshot batch's. When
no frame follows within 0.2 s, the latency is the time until its handling was done (KeyTimer). Pilot's own `press` is not used for timing: it waits for the whole process to
be idle, which with a feeder thread running would time the feeder, not the key.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import statistics
import sys
import threading
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figures import percentile  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from tui.console.app import VmdeckApp, make_app  # noqa: E402
from tui.console.panes.base import TablePane  # noqa: E402
from tui.console.session import Session  # noqa: E402
from tui.core.hosts import HostRecord, Nat  # noqa: E402
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, NodeFacts  # noqa: E402
from tui.services.config import load_config  # noqa: E402

PROFILES = ("pool1", "pool2", "nvidia-gpu-node")
REALM = "libvirt1"
GIB = 1 << 30
NO_FRAME_S = 0.2  # a key whose handling is done and no frame followed for this long changed nothing

# The typical keys, in the order an admin might press them: (label, key). Typing a filter times every
# character and the enter that applies it.
SEQUENCE: list[tuple[str, str]] = [
    *[("cursor down", "down") for _ in range(4)],
    ("cursor up", "up"),
    *[("page down", "pagedown") for _ in range(3)],
    ("page up", "pageup"),
    ("end", "end"),
    ("home", "home"),
    ("detail open (hosts)", "enter"),
    ("detail close", "escape"),
    ("pane 2 profiles", "2"),
    ("pane 3 curves", "3"),
    ("pane 5 sim", "5"),
    ("pane 4 vms", "4"),
    *[("cursor down", "down") for _ in range(3)],
    *[("page down", "pagedown") for _ in range(2)],
    ("end", "end"),
    ("home", "home"),
    ("detail open (vms)", "enter"),
    ("detail close", "escape"),
    ("sort > (vms)", ">"),
    ("sort > (vms)", ">"),
    ("sort ! (vms)", "!"),
    ("sort < (vms)", "<"),
    ("sort < (vms)", "<"),
    ("/ open (vms)", "slash"),
    ("/ type char", "h"),
    ("/ type char", "0"),
    ("/ type char", "1"),
    ("/ enter: filter 100% rows (vms)", "enter"),
    ("cursor down", "down"),
    ("esc: clear filter (vms)", "escape"),
    ("pane 1 hosts", "1"),
    ("sort > (hosts)", ">"),
    ("sort ! (hosts)", "!"),
    ("/ open (hosts)", "slash"),
    ("/ type char", "p"),
    ("/ type char", "o"),
    ("/ enter: filter (hosts)", "enter"),
    ("esc: clear filter (hosts)", "escape"),
    ("sort < (hosts)", "<"),
    ("sort < (hosts)", "<"),
    ("help open", "question_mark"),
    ("help close", "escape"),
]


def fleet(hosts: int, per_host: int) -> tuple[list[HostRecord], list[HostSnapshot]]:
    records, snaps = [], []
    node = NodeFacts("x86_64", 256 * GIB, 64, 2400, 1, 2, 16, 2)
    for i in range(hosts):
        name = f"h{i:05d}"
        profile = PROFILES[i % 3]
        records.append(
            HostRecord(name, f"qemu+ssh://{name}/system", profile, REALM, nat=Nat("198.51.100.1", 20000))
        )
        domains = tuple(
            DomainFacts(
                f"{name}-vm{j:02d}",
                f"{i:08x}-0000-4000-8000-{j:012x}",
                DomainState.RUNNING if j % 4 != 3 else DomainState.SHUTOFF,
                1 + j % 4,
                (1 + j % 8) * GIB,
                8 * GIB,
                ("0000:01:02.0",) if profile == "nvidia-gpu-node" and j == 0 else (),
                address=f"10.{i // 250 % 250}.{i % 250}.{10 + j}" if j % 4 != 3 else None,
            )
            for j in range(per_host)
        )
        snaps.append(
            HostSnapshot(name, records[-1].uri, HostStatus.CONNECTED, node=node, domains=domains, seq=1)
        )
    return records, snaps


def changed(snap: HostSnapshot, rng: random.Random) -> HostSnapshot:
    """The host as its next poll might see it: one domain visibly different (or one more / less)."""
    domains = list(snap.domains)
    roll = rng.random()
    if roll < 0.05 and len(domains) > 1:
        domains.pop(rng.randrange(len(domains)))  # undefined
    elif roll < 0.1:
        j = len(domains) + rng.randrange(1000, 9000)
        domains.append(
            DomainFacts(f"{snap.host}-new{j}", f"{snap.seq:08x}-ffff-4000-8000-{j:012x}",
                        DomainState.RUNNING, 2, 2 * GIB, 4 * GIB)
        )  # fmt: skip
    elif domains:
        k = rng.randrange(len(domains))
        dom = domains[k]
        what = rng.random()
        if what < 0.4:
            state = DomainState.PAUSED if dom.state is DomainState.RUNNING else DomainState.RUNNING
            domains[k] = replace(dom, state=state)
        elif what < 0.8:
            domains[k] = replace(dom, memory=max(GIB, dom.memory + rng.choice((-GIB, GIB))))
        else:
            domains[k] = replace(dom, address=f"10.99.{rng.randrange(250)}.{rng.randrange(250)}")
    return replace(snap, domains=tuple(domains), seq=snap.seq + 1, polled_at=time.time())


class Feeder(threading.Thread):
    """Plays the poller: changed snapshots at the real rate, through the app's SnapshotBatcher."""

    TICK_S = 0.1

    def __init__(self, app: VmdeckApp, snaps: list[HostSnapshot], period: float, share: float) -> None:
        super().__init__(daemon=True, name="feeder")
        self.app, self.period, self.share = app, period, share
        self.current = {s.host: s for s in snaps}
        self.stop = threading.Event()
        self.sent = 0
        self.cpu = 0.0  # this thread's own CPU time (time.thread_time), reported apart

    def run(self) -> None:
        rng = random.Random(14)
        names = list(self.current)
        per_tick = self.share * len(names) * self.TICK_S / self.period
        owed = 0.0
        began = time.thread_time()
        while not self.stop.wait(self.TICK_S):
            owed += per_tick
            while owed >= 1:
                owed -= 1
                name = rng.choice(names)
                snap = self.current[name] = changed(self.current[name], rng)
                self.app.batcher(snap)
                self.sent += 1
        self.cpu = time.thread_time() - began


def key_event(key: str) -> events.Key:
    # Built exactly as Pilot's press builds it (App._press_keys), sent without Pilot's idle waits.
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    char: str | None
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


class KeyTimer:
    """Times keys on an app as the module docstring says: from the key event to the frame that
    shows its effect; also the process CPU time over each key.

    The key's handling is known to be done (`done`) once the app has handled the key event itself
    (its `on_event` returned: `handled`) and then every widget on the (possibly new) screen has
    processed what was queued by then (`settle`). Waiting for the screen right after sending the key
    was not enough: the driver posts the key from a task that runs after the waiter's callbacks
    were queued, so the wait ended before the key was read, and the "first frame after" was
    whatever frame came next: one left over from the key before (`end` timed at 1.6 ms while its
    own frame cost 14 ms of CPU) or a snapshot batch's. The frame is then the first one written
    after `done`, unless nothing is left to draw at `done` (no dirty widget, no layout or repaint
    pending, no held update): the key's effect was drawn already, by the last frame written
    before `done`, and the next frame would be a snapshot batch's, not the key's."""

    def __init__(self, app: App[None]) -> None:
        self.app = app
        self.frames: list[float] = []
        self.cpu: list[float] = []  # CPU time of the process (every thread) from each key to its frame
        self._key: events.Key | None = None  # the key being timed, until the app has handled it
        shown = app._display
        on_event = app.on_event

        def display(screen: object, renderable: object) -> None:
            shown(screen, renderable)  # type: ignore[arg-type]
            if renderable is not None:
                self.frames.append(time.perf_counter())

        async def handle(event: events.Event) -> None:
            await on_event(event)
            if event is self._key:
                self._key = None

        app._display = display  # type: ignore[method-assign]
        app.on_event = handle  # type: ignore[method-assign]

    async def settle(self, pilot: Pilot[None]) -> None:
        while True:
            screen = self.app.screen
            await pilot._wait_for_screen()
            if self.app.screen is screen:
                return

    def drawn(self) -> bool:
        """Nothing on screen waits to be drawn: no widget with a repaint, layout, scroll or restyle
        requested (Widget._check_refresh has not posted it yet), no Update queued on the screen,
        nothing dirty on the screen itself (what Screen._on_timer_update would draw), no held update."""
        app, screen = self.app, self.app.screen
        if (
            app._batch_count
            or not screen._message_queue.empty()
            or screen._dirty_widgets
            or screen._layout_required
            or screen._repaint_required
            or screen._scroll_required
            or screen._compositor._dirty_regions
        ):
            return False
        return not any(
            node._repaint_required
            or node._layout_required
            or node._scroll_required
            or node._refresh_styles_required
            for node in screen.walk_children(with_self=False)
        )

    async def answer(self, pilot: Pilot[None], key: str) -> float:
        event = key_event(key)
        event.set_sender(self.app)
        self._key = event
        cpu0 = time.process_time()
        began = time.perf_counter()
        self.app._driver.send_message(event)  # type: ignore[union-attr]
        while self._key is not None:  # noqa: ASYNC110 (the app reads the key on its loop)
            await asyncio.sleep(0)
        await self.settle(pilot)
        done = time.perf_counter()
        if self.drawn():  # the key's effect is on screen already (or it had none)
            self.cpu.append(time.process_time() - cpu0)
            return max((f for f in self.frames if began < f <= done), default=done) - began
        latency = done - began
        while time.perf_counter() - done < NO_FRAME_S:
            if self.frames and self.frames[-1] > done:
                latency = min(f for f in self.frames if f > done) - began
                break
            await asyncio.sleep(0.001)
        self.cpu.append(time.process_time() - cpu0)
        return latency


class Floor(App[None]):
    """The floor: a bare Textual app with one plain DataTable of 100 rows and 11 columns."""

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        for i in range(11):
            table.add_column(f"c{i}", width=10, key=f"c{i}")
        for n in range(100):
            table.add_row(*(f"r{n}c{i}" for i in range(11)), key=f"r{n}")
        yield table


async def floor(args: argparse.Namespace) -> dict[str, object]:
    app = Floor()
    timer = KeyTimer(app)
    latencies: dict[str, list[float]] = {}
    key_cpu: dict[str, list[float]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await timer.settle(pilot)
        load_before = os.getloadavg()
        for _round in range(max(1, args.rounds) * 4):
            for label, key in (("cursor down", "down"), ("page down", "pagedown"), ("page up", "pageup")):
                latencies.setdefault(label, []).append(await timer.answer(pilot, key))
                key_cpu.setdefault(label, []).append(timer.cpu[-1])
    flat = sorted(v for vs in latencies.values() for v in vs)
    return {
        "floor": True,
        "latency_ms": {k: [v * 1000 for v in vs] for k, vs in latencies.items()},
        "cpu_ms": {k: [v * 1000 for v in vs] for k, vs in key_cpu.items()},
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": percentile(flat, 0.99) * 1000,
        "max_ms": flat[-1] * 1000,
        "cpu_p50_ms": statistics.median(timer.cpu) * 1000,
        "keys": len(flat),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    result = load_config(REPO / "config" / "ticrypt-vm.conf")
    assert result.config is not None
    config = result.config
    period = config.realms[REALM].poll_frequency_s
    records, snaps = fleet(args.hosts, args.vms_per_host)
    app = make_app(config, records, session=Session("bench fleet"))
    timer = KeyTimer(app)
    settle, answer, cpu = timer.settle, timer.answer, timer.cpu

    async with app.run_test(size=(120, 40)) as pilot:
        first = time.perf_counter()
        for snap in snaps:  # the first poll: every host at once
            app.batcher(snap)
        while len(app.view.snapshots) < len(records):  # noqa: ASYNC110 (the app applies them on its loop)
            await asyncio.sleep(0.02)
        await settle(pilot)
        first_poll = time.perf_counter() - first
        feeder = Feeder(app, snaps, period, args.changed_share) if args.feed else None
        if feeder is not None:
            feeder.start()
        await asyncio.sleep(1.0)
        load_before = os.getloadavg()
        latencies: dict[str, list[float]] = {}
        key_cpu: dict[str, list[float]] = {}
        profile = cProfile.Profile(time.process_time) if args.profile else None
        if profile is not None:
            profile.enable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _round in range(args.rounds):
            for label, key in SEQUENCE:
                latencies.setdefault(label, []).append(await answer(pilot, key))
                key_cpu.setdefault(label, []).append(cpu[-1])
        keys_cpu, keys_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await asyncio.sleep(1.0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(args.idle)
        idle_cpu, idle_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        sent = 0
        feeder_cpu = 0.0
        if feeder is not None:
            feeder.stop.set()
            feeder.join()
            sent, feeder_cpu = feeder.sent, feeder.cpu
        panes = [pane for pane in app.panes.values() if isinstance(pane, TablePane) and pane.is_mounted]
        rows = {pane.PANE: pane.table.row_count for pane in panes}
    flat = sorted(v for vs in latencies.values() for v in vs) or [float("nan")]  # --rounds 0: idle only
    cpu = cpu or [float("nan")]
    return {
        "hosts": args.hosts,
        "vms": args.hosts * args.vms_per_host,
        "feed": args.feed,
        "period": period,
        "changed_share": args.changed_share,
        "first_poll_s": first_poll,
        "rows": rows,
        "latency_ms": {k: [v * 1000 for v in vs] for k, vs in latencies.items()},
        "cpu_ms": {k: [v * 1000 for v in vs] for k, vs in key_cpu.items()},
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": percentile(flat, 0.99) * 1000,
        "max_ms": flat[-1] * 1000,
        "keys": len(flat),
        "cpu_p50_ms": statistics.median(cpu) * 1000,
        "cpu_max_ms": max(cpu) * 1000,
        "keys_cpu_s": keys_cpu,
        "keys_wall_s": keys_wall,
        "idle_cpu_share": idle_cpu / idle_wall,
        "idle_s": idle_wall,
        "feeder_sent": sent,
        "feeder_cpu_s": feeder_cpu,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--vms-per-host", type=int, default=10)
    parser.add_argument("--feed", action="store_true", help="changed snapshots arrive while keys are timed")
    parser.add_argument("--changed-share", type=float, default=0.1, help="hosts changed per poll period")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument(
        "--profile", help="write a cProfile (CPU time) of the keys and the idle time to this file"
    )
    parser.add_argument("--floor", action="store_true", help="time the bare-Textual floor instead")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(floor(args) if args.floor else run(args))))


if __name__ == "__main__":
    main()
