"""What-if lab benchmark: a curve-parameter change recomputed for 1,000 hosts, and 10,000-event
replays on the sample fleet. Prints figures and ratios against a plain per-host loop; asserts nothing.

Goals (issue 7): a parameter change recomputes (and the console redraws) within 200 ms for 1,000
hosts; a 10,000-event replay on the demo fleet updates the pane within 1 s. The engine figures come
first; then the console itself (headless, Textual's Pilot): a keystroke in the curve lab's edit line
until the 1,000-row cost table holds the new costs and the frame after it is drawn, and a 10,000-event
replay typed on the demo's Simulation pane until its rows are in the pane.

    .venv/bin/python bench/bench_whatif.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.core.fleet import Fleet, FleetHost  # noqa: E402
from tui.core.scheduling import Request  # noqa: E402
from tui.core.scheduling.workload import WorkloadSpec, generate  # noqa: E402
from tui.core.whatif import (  # noqa: E402
    CurveLab,
    FleetModel,
    apply_edits,
    cost_functions_text,
    load_response,
    parse_edits,
    rebalance_plan,
    replay_policies,
)
from tui.core.whatif.replays import run_policy  # noqa: E402
from tui.services.config import load_config  # noqa: E402
from tui.services.scenario_files import load_fleet  # noqa: E402
from tui.services.scenarios import check_cost_functions_text  # noqa: E402

GIB = 1024**3


def timed(fn: Callable[[], object], repeat: int = 7) -> float:
    """Median wall time in ms."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def big_fleet(n: int) -> Fleet:
    profiles = ["pool1"] * 45 + ["pool2"] * 45 + ["nvidia-gpu-node"] * 5 + ["simple"] * 5
    hosts = []
    for i in range(n):
        profile = profiles[i % len(profiles)]
        vms = i % 5
        hosts.append(FleetHost(f"h{i:05d}", profile, vms=vms, vcpus=vms * 2, memory=vms * 4 * GIB))
    return Fleet(tuple(hosts))


def main() -> None:
    loaded = load_config(REPO / "config" / "ticrypt-vm.conf")
    assert loaded.config is not None
    config = loaded.config
    request = Request.of(2, 4 * GIB)

    print("== curve lab: one parameter change, 1,000 hosts ==")
    fleet = big_fleet(1000)
    lab = CurveLab(config, fleet, request)
    values = iter(range(9, 10_000))

    def change() -> object:
        edits = parse_edits([f"pool1.vcpus.soft={next(values) % 7 + 2}", "pool2.offset=500"])
        result, ranked = lab.try_edits(edits)
        return cost_functions_text(result.config, result.edited), ranked

    fast = timed(change, 21)

    def plain() -> object:
        # Baseline: what a straightforward implementation does per keystroke: every host's cost under
        # both configs through CostFunction.explain, then sort both rankings.
        edited = apply_edits(config, parse_edits(["pool1.vcpus.soft=10", "pool2.offset=500"])).config
        rows = []
        for h in fleet.hosts:
            profile = config.hardware_profiles[h.profile]
            after = h.load(profile).plus(request.vcpus, request.memory)
            rows.append(
                (
                    h.name,
                    config.cost_function_of(h.profile).explain(after).total,
                    edited.cost_function_of(h.profile).explain(after).total,
                )
            )
        return sorted(rows, key=lambda r: (r[1], r[0])), sorted(rows, key=lambda r: (r[2], r[0]))

    slow = timed(plain, 5)
    print(f"  edit + lint + rerank + HOCON text : {fast:7.1f} ms  (goal 200 ms)")
    print(f"  plain per-host loop (no lint/HOCON): {slow:7.1f} ms  ratio {slow / fast:.1f}x")
    text = cost_functions_text(config)
    print(
        f"  loader check of the HOCON (pyhocon, off the UI loop): {timed(lambda: check_cost_functions_text(text), 3):7.1f} ms"
    )
    print(
        f"  load response, 16 steps + next 10 + headroom: {timed(lambda: load_response(config, fleet, request), 5):7.1f} ms"
    )
    model = FleetModel.from_json(
        {
            "hosts": [
                {
                    "name": h.name,
                    "profile": h.profile,
                    "vm_list": [
                        {"id": f"{h.name}-{k}", "vcpus": 2, "memory": 4 * GIB}
                        for k in range(h.vms + (i % 7 == 0) * 3)
                    ],
                }
                for i, h in enumerate(fleet.hosts)
            ]
        },
        config,
    )
    vms = sum(len(v) for v in model.vms.values())
    print(f"  rebalance plan, {vms} VMs, 20 moves: {timed(lambda: rebalance_plan(config, model), 3):7.1f} ms")

    print("== replay: 10,000 events on the sample fleet (config/fleet.json) ==")
    sample = load_fleet(REPO / "config" / "fleet.json", config)
    events = generate(WorkloadSpec(starts=5000, rate=1.0, mean_lifetime=30.0, seed=1))
    print(f"  events: {len(events)}, hosts: {len(sample.hosts)}")
    one = timed(lambda: run_policy(config, sample, events, "cost"), 5)
    every = timed(lambda: replay_policies(config, sample, events), 3)
    print(f"  cost policy + lab summary   : {one:7.1f} ms  (goal 1000 ms)")
    print(f"  all four policies side by side: {every:7.1f} ms")
    table = replay_policies(config, sample, events)
    for run in table.runs:
        print(
            f"    {run.policy:<9} placed {run.result.placed:5d} rejected {run.result.rejected:5d} peak hosts {run.peak_hosts_in_use}"
        )


def _load() -> str:
    """The 1-minute load average: the machine is shared, so wall times are read beside it."""
    with open("/proc/loadavg", encoding="ascii") as f:
        return f.read().split()[0]


def _shows(outcome: object, text: str) -> bool:
    """The curve lab shows the outcome of the edit `text` (its last edit)."""
    edits = getattr(outcome, "edits", ())
    return bool(edits) and edits[-1].to_text() == text


async def console_figures() -> None:
    """The lab in the running console: what the admin waits for after a key press."""
    import asyncio
    import tempfile

    from tui.console.app import make_app
    from tui.console.lab.curvelab import CurveLabView
    from tui.console.launch import build_console
    from tui.console.panes.sim import SimPane
    from tui.core.hosts import HostRecord

    loaded = load_config(REPO / "config" / "ticrypt-vm.conf")
    assert loaded.config is not None
    config = loaded.config
    realm = next(iter(config.realms))
    fleet = big_fleet(1000)
    records = [HostRecord(h.name, "test:///default", h.profile, realm) for h in fleet.hosts]
    print("== console: curve-lab keystroke, 1,000 hosts (recompute in a worker + redraw) ==")
    app = make_app(config, records)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5", "e")
        curve = app.panes["sim"].query_one(CurveLabView)
        while curve.outcome is None:
            await pilot.pause(0.01)
        box = app.screen.query_one("#lab-params")
        runs = []
        cpu = time.process_time()
        for value in range(3, 15):
            text = f"pool1.vcpus.soft={value}"
            start = time.perf_counter()
            box.value = text  # what a keystroke does: Input.Changed -> the lab recomputes
            while not _shows(curve.outcome, text):  # noqa: ASYNC110 - polling what the pane shows
                await asyncio.sleep(0.001)
            await pilot.pause()  # the frame with the new table
            runs.append((time.perf_counter() - start) * 1000)
        rows = app.screen.query_one("#curve-costs").row_count
        print(
            f"  keystroke -> new costs and ranks drawn: median {statistics.median(runs):6.1f} ms, "
            f"max {max(runs):6.1f} ms over {len(runs)} changes ({rows} rows)  (goal 200 ms); "
            f"CPU {1000 * (time.process_time() - cpu) / len(runs):6.1f} ms a change; load {_load()}"
        )
    print("== console: 10,000-event replay on the demo fleet, four policies ==")
    with tempfile.TemporaryDirectory() as tmp:
        app = build_console(None, None, demo_dir=Path(tmp) / "demo")
        async with app.run_test(size=(120, 40)) as pilot:
            while len(app.view.snapshots) < len(app.view.records):
                await pilot.pause(0.05)
            sim = app.panes["sim"]
            assert isinstance(sim, SimPane)
            await pilot.press("5", "w")  # shows the replays and runs the default workload
            await app.workers.wait_for_complete()
            await pilot.pause()
            before = sim.lab_state.results.get("replay")
            # w again: the cursor in the parameter line (a lab letter typed on the table is a key)
            await pilot.press("w", "ctrl+u", *"vms=5000 rate=1 lifetime=30 seed=1")
            start, cpu = time.perf_counter(), time.process_time()
            await pilot.press("enter")
            first = None
            table = app.screen.query_one("#replay-policies")
            while sim.lab_state.results.get("replay") in (None, before):  # noqa: ASYNC110 - polling what the pane shows
                if first is None and table.row_count:
                    first = time.perf_counter() - start
                await asyncio.sleep(0.002)
            await pilot.pause()
            every, cpu = time.perf_counter() - start, time.process_time() - cpu
            events = sim.lab_state.results["replay"]["events"]
            print(
                f"  events {events}: cost policy row shown after {1000 * (first or every):6.1f} ms; "
                f"all four policies and the per-host table after {1000 * every:6.1f} ms  (goal 1000 ms); "
                f"CPU {1000 * cpu:6.1f} ms; load {_load()}"
            )


if __name__ == "__main__":
    import asyncio

    main()
    asyncio.run(console_figures())
