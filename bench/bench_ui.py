"""Console benchmarks: first paint, and key latency at 1,000 hosts / 10,000 VMs and 10,000 / 100,000.

    .venv/bin/python bench/bench_ui.py [--hosts 1000 10000] [--vms-per-host 10] [--rounds 3]
                                       [--idle 10] [--keys-only]

Prints figures (never asserts). Goals: demo first paint <= 1.5 s; a 1,000-host test-driver fleet's
first paint <= 3 s; at 10,000 hosts / 100,000 VMs while snapshots arrive at the real poll period,
a key answered in median <= 30 ms and at most 100 ms, and <= 5% of one core when no key is pressed.

"First paint" is measured in a fresh process from interpreter start (imports included) to the first
frame of the hosts pane with every host row in it; "with data" to the first frame after every host
has been polled (the real poller on libvirt test:/// hosts). The baseline is a bare Textual app with
one empty DataTable, started the same way.

Key latency (bench/ui_keys.py, one fresh process per fleet size and mode): typical keys (cursor
moves, page up/down, end/home, panes 1-5, `/` filter typing and applying it, the sort keys > < !,
opening and closing a detail screen and the help) are each timed from the key event reaching the app
— built and sent as Pilot sends it — to the first frame written after the app and every widget on
the screen have processed all queued messages; p50/p99/max are over every key of `--rounds` plays.
Each size runs (a) on a static fleet and (b) while a thread feeds the app changed HostSnapshots at
the realm's poll-frequency through `app.batcher`, the SnapshotBatcher the poller calls: polling
itself runs in another process in production, so the figures are the console's own cost. Every
figure comes with the process CPU time and the load average (the machine is shared). The floor is
a bare Textual app with one 100-row DataTable, its cursor keys timed the same way: what any key
costs here before the console does anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from figures import verdict

REPO = Path(__file__).resolve().parents[1]

PAINT_SCRIPT = textwrap.dedent(
    """
    import time
    T0 = time.perf_counter()
    import asyncio, json, sys
    sys.path.insert(0, {repo!r})
    from tui.console.launch import build_console

    async def main():
        app = build_console({config!r}, {db!r}, demo_dir={demo!r})
        marks = {{}}
        shown = app._display

        def display(screen, renderable):
            # The first frame showing every host row; then the first frame after every host's data.
            if renderable is not None:
                pane = app.panes["hosts"]
                rows = pane.table.row_count if pane.is_mounted else 0
                if "paint" not in marks and rows == len(app.view.records):
                    marks["paint"] = time.perf_counter() - T0
                if "paint" in marks and len(app.view.snapshots) == len(app.view.records):
                    marks.setdefault("with_data", time.perf_counter() - T0)
            shown(screen, renderable)

        app._display = display
        async with app.run_test(size=(120, 40)):
            while "with_data" not in marks:
                await asyncio.sleep(0.005)
            rows = app.panes["hosts"].table.row_count
        print(json.dumps({{**marks, "rows": rows}}))

    asyncio.run(main())
    """
)

BASELINE_SCRIPT = textwrap.dedent(
    """
    import time
    T0 = time.perf_counter()
    import asyncio, json
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App):
        def compose(self):
            yield DataTable()

    async def main():
        app, marks = Bare(), {}
        shown = app._display

        def display(screen, renderable):
            if renderable is not None:
                marks.setdefault("paint", time.perf_counter() - T0)
            shown(screen, renderable)

        app._display = display
        async with app.run_test(size=(120, 40)):
            while "paint" not in marks:
                await asyncio.sleep(0.005)
        print(json.dumps(marks))

    asyncio.run(main())
    """
)


def run(script: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_fleet(root: Path, hosts: int, vms_per_host: int) -> Path:
    """Node files and a hosts store for a large test-driver fleet; returns the store directory."""
    from tui.core.hosts import HostRecord, Nat
    from tui.services.demo import DemoHost, DemoVm, node_xml
    from tui.services.store import Store

    nodes, db = root / "nodes", root / "db"
    nodes.mkdir(parents=True)
    profiles = ["pool1", "pool2", "nvidia-gpu-node"]
    records = []
    for i in range(hosts):
        name = f"h{i:04d}"
        profile = profiles[i % 3]
        vms = tuple(
            DemoVm(
                f"{name}-vm{j:02d}",
                1,
                1,
                j % 4 != 3,
                ("0000:01:02.0",) if profile == "nvidia-gpu-node" and j == 0 else (),
            )
            for j in range(vms_per_host)
        )
        record = HostRecord(
            name, f"test://{nodes / (name + '.xml')}", profile, "libvirt1", nat=Nat("198.51.100.1", 20000)
        )
        (nodes / f"{name}.xml").write_text(node_xml(DemoHost(record, 8, 32, vms)))
        records.append(record)
    Store(db).add_hosts(records, reason="benchmark fleet")
    return db


def keys(hosts: int, per_host: int, feed: bool, rounds: int, idle: float) -> dict[str, Any]:
    """One key-latency run in a fresh process (bench/ui_keys.py says how keys are timed)."""
    cmd = [sys.executable, str(REPO / "bench" / "ui_keys.py"), "--hosts", str(hosts)]
    cmd += ["--vms-per-host", str(per_host), "--rounds", str(rounds), "--idle", str(idle)]
    out = subprocess.run([*cmd, *(["--feed"] if feed else [])], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def keys_floor(rounds: int) -> dict[str, Any]:
    cmd = [sys.executable, str(REPO / "bench" / "ui_keys.py"), "--floor", "--rounds", str(rounds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def print_floor(run: dict[str, Any]) -> None:
    """The floor the goals are measured against: Textual itself, with nothing of ours."""
    print(
        f"floor: a bare Textual app with one 100-row DataTable, timed the same way: p50 {run['p50_ms']:.1f} ms, "
        f"p99 {run['p99_ms']:.1f} ms, max {run['max_ms']:.1f} ms, CPU p50 {run['cpu_p50_ms']:.1f} ms over "
        f"{run['keys']} keys (load average {run['load_before'][0]:.2f})"
    )
    for label, values in run["latency_ms"].items():
        ms, cpu = sorted(values), sorted(run["cpu_ms"][label])
        print(
            f"    {label:<34} {statistics.median(ms):12.1f} ms {ms[-1]:6.1f} ms"
            f"   {statistics.median(cpu):8.1f} ms {cpu[-1]:6.1f} ms  (n={len(ms)})"
        )


# Issue 14's goals for keys, at GOAL_HOSTS hosts while snapshots arrive: (figure, at most ms).
GOAL_HOSTS = 10_000
KEY_GOALS = (("p50", 30.0), ("max", 100.0))
IDLE_GOAL = 0.05  # of one core, with no key pressed (same run)


def print_keys(run: dict[str, Any], floor: dict[str, Any]) -> None:
    fed = (
        f"while changed snapshots arrive ({run['changed_share']:.0%} of the hosts per {run['period']:g} s poll"
        f" period, fed through the app's SnapshotBatcher by a thread: {run['feeder_sent']} snapshots)"
        if run["feed"]
        else "static fleet (no snapshots after the first)"
    )
    print(f"{run['hosts']} hosts / {run['vms']} VMs, {fed}:")
    figures = ", ".join(
        f"{name} {run[name + '_ms']:.1f} ms ({run[name + '_ms'] / floor[name + '_ms']:.2f}x the floor's)"
        for name in ("p50", "p99", "max")
    )
    print(f"  keys: {figures} over {run['keys']} keys")
    if run["feed"] and run["hosts"] == GOAL_HOSTS:
        verdicts = [
            f"{name} <= {limit:g} ms: {verdict(run[name + '_ms'] <= limit)}"
            f" (the floor's {name}: {floor[name + '_ms']:.1f} ms)"
            for name, limit in KEY_GOALS
        ]
        idle = run["idle_cpu_share"]
        verdicts.append(f"idle <= {IDLE_GOAL:.0%} of one core: {verdict(idle <= IDLE_GOAL)} ({idle:.1%})")
        print(f"  goals at {GOAL_HOSTS:,} hosts with snapshots: {'; '.join(verdicts)}")
    print(
        f"  CPU time per key (process, every thread): p50 {run['cpu_p50_ms']:.1f} ms, max {run['cpu_max_ms']:.1f} ms"
    )
    print(
        f"  CPU over the keys {run['keys_cpu_s']:.2f} s in {run['keys_wall_s']:.2f} s wall; idle (no keys) "
        f"{run['idle_cpu_share'] * 100:.1f}% of one core over {run['idle_s']:.0f} s (goal <= 5%); feeder thread "
        f"{run['feeder_cpu_s']:.2f} s CPU (included above); first poll applied in {run['first_poll_s']:.2f} s"
    )
    before, after = run["load_before"], run["load_after"]
    print(f"  load average {before[0]:.2f} before, {after[0]:.2f} after (2 cores, shared)")
    print(f"    {'key':<34} {'latency median':>15} {'max':>9}   {'CPU median':>11} {'max':>9}")
    for label, values in run["latency_ms"].items():
        ms, cpu = sorted(values), sorted(run["cpu_ms"][label])
        print(
            f"    {label:<34} {statistics.median(ms):12.1f} ms {ms[-1]:6.1f} ms"
            f"   {statistics.median(cpu):8.1f} ms {cpu[-1]:6.1f} ms  (n={len(ms)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="console benchmarks")
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000], help="fleet sizes for keys")
    parser.add_argument("--vms-per-host", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="times the key sequence is played")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measurement")
    parser.add_argument("--keys-only", action="store_true", help="only the key latency and CPU runs")
    args = parser.parse_args()
    if not args.keys_only:
        paint(args.hosts[0], args.vms_per_host)
    print(
        "Key latency: from the key event reaching the app to the first frame written after every widget"
        " on screen handled it (bench/ui_keys.py). Polling is not in the console's process here (the"
        " poller runs in its own worker): snapshots come through the same SnapshotBatcher/FleetPolled"
        " path, so the figures are the console's own cost."
    )
    floor = keys_floor(args.rounds)
    print_floor(floor)
    for hosts in args.hosts:
        for feed in (False, True):
            print_keys(keys(hosts, args.vms_per_host, feed, args.rounds, args.idle), floor)


def paint(hosts: int, per_host: int) -> None:
    """First paint of the demo and of a test-driver fleet, against a bare Textual app."""
    config = str(REPO / "config" / "ticrypt-vm.conf")
    base = run(BASELINE_SCRIPT)["paint"]
    print(f"baseline: bare Textual app + empty DataTable, first paint {base:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        demo = run(PAINT_SCRIPT.format(repo=str(REPO), config=None, db=None, demo=str(Path(tmp) / "demo")))
        print(
            f"demo (24 hosts): first paint {demo['paint']:.2f} s (goal <= 1.5 s, {demo['paint'] / base:.1f}x "
            f"baseline), with polled data {demo['with_data']:.2f} s, rows {demo['rows']}"
        )
        db = make_fleet(Path(tmp) / "big", hosts, per_host)
        total = hosts * per_host
        big = run(PAINT_SCRIPT.format(repo=str(REPO), config=config, db=str(db), demo=None))
        print(
            f"{hosts} hosts / {total} VMs: first paint {big['paint']:.2f} s (goal <= 3 s, "
            f"{big['paint'] / base:.1f}x baseline), with polled data {big['with_data']:.2f} s, rows {big['rows']}"
        )


if __name__ == "__main__":
    main()
