"""Scheduler benchmark: the cost engine beside fair baselines, easy and hard workloads, in memory and
as a whole `vmdeck simulate` process.

Prints (never asserts), for 10,000 hosts and 100,000 events (half starts, half stops):
- in-memory replay decisions/s of `replay()` (the engine) beside
  * a straightforward plain loop: every decision walks every host and evaluates its cost function
    term by term (no per-decision copies or sorts; measured over a time budget, then extrapolated);
  * a plain loop with the same per-shape cache: plain Python bookkeeping, one numpy cost vector per
    request shape in which only the hosts changed since its last use are recomputed (memoised on the
    host's load), and an argmin — the best plain implementation of the engine's own idea;
  * the floor: numpy argmin over a cached vector, nothing else (what a decision cannot beat);
  * the interpreter's floor: the replay's bookkeeping alone (each start's host given), and that plus
    the argmin: what a Python replay that makes one decision per start costs at least;
- for the easy workload (20 shapes, about half-full fleet, ~no rejections) next to the hard one
  (40 shapes, near capacity, >= 10 % rejected), with the share rejected;
- whole process: `vmdeck simulate --json` on files (HOCON config, FLEET.json, workload JSONL, JSON
  to a file) beside the same plain cached loop as its own process reading the same files, and at
  100,000 hosts; with compiled modules cached as an installed package has them (this environment sets
  PYTHONDONTWRITEBYTECODE=1, so the cache lives in a temporary directory), plus one cold run that
  compiles every module from source;
- that the engine's and the plain loop's decisions are identical;
- issue 14's goals beside the figures (>= 100,000 decisions/s in replay; whole process <= 1.5 s at
  10,000 hosts and <= 4 s at 100,000, for 100,000 events) and whether this run met them, with a
  second floor: the argmin over as many cached rows as the workload has shapes (what the engine's
  decision really costs at least, its rows no longer all in the processor's caches).

The machine is shared: every rate is per CPU-second of the process doing the work (process time;
children's user+sys for whole processes), which other load disturbs far less than wall time; wall
time is printed beside the whole-process figures. Even so, one replay's CPU time varied by 40% between
runs of the same code on these machines (0.85-1.18 s at load 1.8), so the engine, the floors and
`simulate` run --repeat times (3 by default) and the median is printed and judged, with the engine's
range beside it: never the best run alone. Read ratios (measured in the same run).
Run: .venv/bin/python bench/bench_scheduler.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import verdict  # noqa: E402

from tui.core.costs import CostFunction  # noqa: E402
from tui.core.curves import INF, UNAVAILABLE, HardSoft, Linear  # noqa: E402
from tui.core.fleet import Fleet, FleetHost, HostState  # noqa: E402
from tui.core.model import Device, HardwareProfile, VmConfig  # noqa: E402
from tui.core.scheduling import replay  # noqa: E402
from tui.core.scheduling.request import Request  # noqa: E402
from tui.core.scheduling.workload import Event, Shape, StartEvent, StopEvent, WorkloadSpec, generate  # noqa: E402

GIB = 1024**3
REPO = Path(__file__).resolve().parent.parent

# --- the scenario: 3 profiles, 5 curves per host (vms, vcpus, memory and two device types) -----------
CONFIG_TEXT = """
ticrypt.vm {
  mongodb { uri: "mongodb://localhost:27017", database: "ticrypt" }
  realms {
    bench { name: "Bench realm", driver: libvirt, volumes-pool: v, drives-pool: d, bricks-pool: b }
  }
  cost-functions {
    pool1 {
      vms: { curve: linear, slope: 1, base: 0 }
      vcpus: { curve: hard-soft, soft: 32, hard: 64, softAmt: 4, hardAmt: 32 }
      memory: { curve: hard-soft, soft: 128 GiB, hard: 256 GiB, scale: 10 }
      devices.nvidia-gpu: { curve: linear, slope: 1, base: 0, max: 4 }
      devices.fpga: { curve: linear, slope: 2, base: 0, max: 2 }
      offset: OFFSET
    }
  }
  hardware-profiles {
    pool1 { cores: 32, memory: 256 GiB, cost-function: pool1 }
    pool2 { cores: 32, memory: 256 GiB, cost-function: pool2 }
    gpu {
      cores: 32
      memory: 256 GiB
      cost-function: gpu
      devices = [
DEVICES
      ]
    }
  }
}
"""
GPUS = tuple(Device("nvidia-gpu", f"0000:{b:02x}:00.0") for b in range(1, 5))
FPGAS = tuple(Device("fpga", f"0000:{b:02x}:00.0") for b in range(0x10, 0x12))


def config_text() -> str:
    """The HOCON twin of `bench_config()` (the whole-process runs read it)."""
    head, tail = CONFIG_TEXT.split("    pool1 {\n", 1)
    body, rest = tail.split("\n    }\n  }\n", 1)
    cfs = "".join(
        f"    {name} {{\n" + body.replace("OFFSET", str(offset)) + "\n    }\n"
        for name, offset in (("pool1", 0), ("pool2", 1000), ("gpu", 100000))
    )
    devices = "\n".join(f'        {{type: "{d.type}", addr: "{d.addr}"}}' for d in GPUS + FPGAS)
    return head + cfs + "  }\n" + rest.replace("DEVICES", devices)


def bench_config() -> VmConfig:
    def cf(cf_id: str, offset: float) -> CostFunction:
        return CostFunction(
            cf_id,
            vms=Linear(slope=1, base=0),
            vcpus=HardSoft(soft=32, hard=64, soft_amt=4, hard_amt=32),
            memory=HardSoft(soft=128 * GIB, hard=256 * GIB, scale=10),
            devices={"nvidia-gpu": Linear(slope=1, base=0, max=4), "fpga": Linear(slope=2, base=0, max=2)},
            offset=offset,
        )

    profiles = {
        "pool1": HardwareProfile("pool1", 32, 256 * GIB, "pool1"),
        "pool2": HardwareProfile("pool2", 32, 256 * GIB, "pool2"),
        "gpu": HardwareProfile("gpu", 32, 256 * GIB, "gpu", devices=GPUS + FPGAS),
    }
    cfs = {"pool1": cf("pool1", 0), "pool2": cf("pool2", 1000), "gpu": cf("gpu", 100000)}
    return VmConfig(cfs, profiles, {})


def bench_fleet(n: int, hard: bool) -> Fleet:
    """Every 10th host has GPUs, every 50th is No Scheduling. The hard fleet starts near its limits."""
    hosts = []
    for i in range(n):
        profile = "gpu" if i % 10 == 0 else ("pool1" if i % 2 else "pool2")
        state = HostState.NO_SCHEDULING if i % 50 == 7 else HostState.ENABLED
        if hard:
            vms = 6 + (i * 7) % 5
            vcpus, memory = vms * 6, vms * 22 * GIB
        else:
            vms = (i * 7) % 5
            vcpus, memory = vms * 3, vms * 12 * GIB
        hosts.append(FleetHost(f"host-{i:06d}", profile, state, vms, vcpus, memory))
    return Fleet(tuple(hosts))


EASY_SHAPES = tuple(Shape(v, m * GIB, 1.0) for v in (1, 2, 4, 8, 16) for m in (2, 4, 16, 32))  # 20
HARD_SHAPES = tuple(
    Shape(v, m * GIB, 1.0) for v in (1, 2, 4, 8, 16) for m in (2, 4, 8, 16, 24, 32, 48, 64)
)  # 40


def workload(hosts: int, events: int, hard: bool, seed: int = 1) -> list[Event]:
    """`events` start/stop events; long lifetimes on the hard fleet keep it at its limits."""
    starts = events  # generate more than needed, then cut: both halves stay mixed
    if hard:
        spec = WorkloadSpec(starts, 1.0, events * 0.6, HARD_SHAPES, gpu_share=0.08, gpus=2, seed=seed)
    else:
        spec = WorkloadSpec(starts, 1.0, min(events / 4, hosts * 4.0), EASY_SHAPES, gpu_share=0.05, seed=seed)
    return generate(spec)[:events]


# --- baseline 1: the straightforward plain loop ------------------------------------------------------
class PlainLoop:
    """Host loads in plain lists; each decision evaluates every host's cost function term by term in
    `CostFunction.explain`'s order. No copies, no sorts per decision: the loop as one would write it."""

    def __init__(self, config: VmConfig, fleet: Fleet) -> None:
        hosts = sorted(fleet.hosts, key=lambda h: h.name)  # name order: ties go to the lowest index
        self.names = [h.name for h in hosts]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.enabled = [h.state is HostState.ENABLED for h in hosts]
        self.cfs = [config.cost_functions[config.hardware_profiles[h.profile].cost_function] for h in hosts]
        self.kinds = [sorted(cf.devices) for cf in self.cfs]  # sorted once, not per decision
        self.vms = [h.vms for h in hosts]
        self.vcpus = [h.vcpus for h in hosts]
        self.memory = [h.memory for h in hosts]
        self.used: list[dict[str, int]] = []
        self.free: list[dict[str, list[str]]] = []
        for h in hosts:
            profile = config.hardware_profiles[h.profile]
            used: dict[str, int] = {}
            free: dict[str, list[str]] = {}
            for d in sorted(profile.devices, key=lambda d: d.addr):
                if d.addr in h.devices_in_use:
                    used[d.type] = used.get(d.type, 0) + 1
                else:
                    free.setdefault(d.type, []).append(d.addr)
            self.used.append(used)
            self.free.append(free)

    def cost(self, i: int, request: Request) -> float:
        if not self.enabled[i]:
            return INF
        free, used = self.free[i], self.used[i]
        for kind, count in request.devices:
            if len(free.get(kind, ())) < count:
                return INF
        cf = self.cfs[i]
        values = [
            0.0 if cf.vms is None else cf.vms(float(self.vms[i] + 1)),
            0.0 if cf.vcpus is None else cf.vcpus(float(self.vcpus[i] + request.vcpus)),
            0.0 if cf.memory is None else cf.memory(float(self.memory[i] + request.memory)),
        ]
        extra = dict(request.devices)
        for kind in self.kinds[i]:
            values.append(cf.devices[kind](float(used.get(kind, 0) + extra.get(kind, 0))))
        for kind in extra:
            if kind not in cf.devices:
                values.append(UNAVAILABLE(float(used.get(kind, 0) + extra[kind])))
        total = 0.0
        for value in values:
            if value == INF:
                return INF
            total = total + value
        result = cf.scale * total + cf.offset
        return result if math.isfinite(result) else INF

    def place(self, request: Request) -> tuple[int, float]:
        best, best_cost = -1, INF
        for i in range(len(self.names)):
            cost = self.cost(i, request)
            if cost < best_cost:  # strict: the first (lowest name) of equal costs wins
                best, best_cost = i, cost
        return best, best_cost

    def add(self, i: int, request: Request) -> list[str]:
        self.vms[i] += 1
        self.vcpus[i] += request.vcpus
        self.memory[i] += request.memory
        taken: list[str] = []
        for kind, count in request.devices:
            taken += self.free[i][kind][:count]
            del self.free[i][kind][:count]
            self.used[i][kind] = self.used[i].get(kind, 0) + count
        return taken

    def remove(self, i: int, request: Request, taken: list[str]) -> None:
        self.vms[i] -= 1
        self.vcpus[i] -= request.vcpus
        self.memory[i] -= request.memory
        at = 0
        for kind, count in request.devices:
            self.free[i][kind] = sorted(self.free[i][kind] + taken[at : at + count])
            self.used[i][kind] -= count
            at += count


# --- baseline 2: the plain loop with the same per-shape cache ----------------------------------------
class CachedPlainLoop(PlainLoop):
    """PlainLoop's bookkeeping plus the engine's idea: one cost vector per shape, only changed hosts
    recomputed (memoised on their load), then an argmin."""

    def __init__(self, config: VmConfig, fleet: Fleet) -> None:
        super().__init__(config, fleet)
        self.log: list[int] = []
        self.caches: dict[Request, list] = {}  # shape -> [costs array, log position, memo]

    def key(self, i: int) -> tuple[object, ...]:
        return (id(self.cfs[i]), self.vms[i], self.vcpus[i], self.memory[i], tuple(self.used[i].items()))

    def place(self, request: Request) -> tuple[int, float]:
        cache = self.caches.get(request)
        if cache is None:
            costs = np.array([self.cost(i, request) for i in range(len(self.names))], dtype=np.float64)
            cache = self.caches[request] = [costs, len(self.log), {}]
        elif cache[1] < len(self.log):
            costs, memo = cache[0], cache[2]
            for i in set(self.log[cache[1] :]):
                key = self.key(i)
                cost = memo.get(key)
                if cost is None:
                    cost = memo[key] = self.cost(i, request)
                costs[i] = cost
            cache[1] = len(self.log)
        costs = cache[0]
        i = int(costs.argmin())
        cost = float(costs[i])
        return (i, cost) if cost != INF else (-1, INF)

    def add(self, i: int, request: Request) -> list[str]:
        self.log.append(i)
        return super().add(i, request)

    def remove(self, i: int, request: Request, taken: list[str]) -> None:
        self.log.append(i)
        super().remove(i, request, taken)


def plain_replay(
    plain: PlainLoop, events: list[Event], budget_s: float = math.inf
) -> tuple[list[tuple[str | None, float]], int, float]:
    """Decisions [(host, cost)], events handled, seconds; stops within the budget are included."""
    running: dict[str, tuple[int, Request, list[str]]] = {}
    decisions: list[tuple[str | None, float]] = []
    handled = 0
    began = time.process_time()
    for event in events:
        handled += 1
        if isinstance(event, StartEvent):
            i, cost = plain.place(event.request)
            if i >= 0:
                running[event.id] = (i, event.request, plain.add(i, event.request))
                decisions.append((plain.names[i], cost))
            else:
                decisions.append((None, INF))
        elif event.id in running:
            i, request, taken = running.pop(event.id)
            plain.remove(i, request, taken)
        if handled % 64 == 0 and time.process_time() - began > budget_s:
            break
    return decisions, handled, time.process_time() - began


def floor_rate(hosts: int, shapes: int = 1, decisions: int = 200_000) -> float:
    """Decisions/s of nothing but an argmin over a cached float vector of `hosts` entries; with
    `shapes` > 1, over one of that many vectors picked at random each time (as a replay asks for one
    shape's row after another: the rows no longer all stay in the processor's caches)."""
    rng = np.random.default_rng(0)
    rows = list(rng.random((shapes, hosts)))
    order = [rows[s] for s in rng.integers(0, shapes, decisions).tolist()]
    began = time.process_time()
    for costs in order:
        int(costs.argmin())
    return decisions / (time.process_time() - began)


def bookkeeping_rate(fleet: Fleet, events: list[Event], placements: list[int]) -> float:
    """Decisions/s of a replay's bookkeeping alone, each start's host given (`placements`, -1 for a
    rejection): read the event, update the host's counts, keep the VM's request, record the outcome.
    The interpreter's share of any Python replay (no decision, no device, no cost row), so that beside
    the argmin floor it shows how much of the engine's time a decision leaves to the loop."""
    names = sorted(h.name for h in fleet.hosts)
    by_name = {h.name: h for h in fleet.hosts}
    vms = [by_name[n].vms for n in names]
    vcpus = [by_name[n].vcpus for n in names]
    memory = [by_name[n].memory for n in names]
    running: dict[str, tuple[int, Request]] = {}
    records: list[tuple[str, str | None]] = []
    given = iter(placements)
    began = time.process_time()
    for event in events:
        if isinstance(event, StartEvent):
            vm, request = event.id, event.request
            if vm in running:
                raise ValueError(f"start of {vm!r} while it is still running")
            i = next(given)
            if i < 0:
                records.append((vm, None))
                continue
            running[vm] = (i, request)
            vms[i] += 1
            vcpus[i] += request.vcpus
            memory[i] += request.memory
            records.append((vm, names[i]))
        else:
            stopped = running.pop(event.id, None)
            if stopped is None:
                continue
            i, request = stopped
            vms[i] -= 1
            vcpus[i] -= request.vcpus
            memory[i] -= request.memory
    return len(records) / (time.process_time() - began)


GOAL_RATE = 100_000  # decisions per CPU-second in replay at 10,000 hosts (issue 14)
GOAL_PROCESS_S = {10_000: 1.5, 100_000: 4.0}  # whole-process CPU seconds for 100,000 events


# --- the in-memory table --------------------------------------------------------------------------------
def in_memory(hosts: int, events: int, plain_budget: float, repeats: int) -> None:
    config = bench_config()
    floor = statistics.median(floor_rate(hosts) for _ in range(repeats))
    print(
        f"in-memory replay, {hosts:,} hosts, {events:,} events "
        "(decisions per CPU-second; ratio = engine / baseline)"
    )
    header = f"{'workload':<6} {'rejected':>8} {'engine':>10} {'plain':>9} {'ratio':>7} {'plain+cache':>11} {'ratio':>6}"
    print(header + f" {'floor':>10} {'engine/floor':>12} {'floor/shapes':>18} {'goal':>9}  identical")
    spread: list[str] = []
    floors: list[str] = []
    for hard in (False, True):
        fleet = bench_fleet(hosts, hard)
        stream = workload(hosts, events, hard)
        starts = sum(1 for e in stream if isinstance(e, StartEvent))
        shapes = len({e.request for e in stream if isinstance(e, StartEvent)})
        floor_shapes = statistics.median(floor_rate(hosts, shapes) for _ in range(repeats))
        rates = []
        for _ in range(repeats):
            began = time.process_time()
            result = replay(config, fleet, stream)
            rates.append(starts / (time.process_time() - began))
        engine_rate = statistics.median(rates)
        cached, _, cached_s = plain_replay(CachedPlainLoop(config, fleet), stream)
        cached_rate = starts / cached_s
        plain_decisions, handled, plain_s = plain_replay(PlainLoop(config, fleet), stream, plain_budget)
        plain_rate = len(plain_decisions) / plain_s
        engine_decisions = [(p.host, p.cost if p.host else INF) for p in result.placements]
        same = engine_decisions == cached and engine_decisions[: len(plain_decisions)] == plain_decisions
        print(
            f"{'hard' if hard else 'easy':<6} {result.rejected / starts:>8.1%} {engine_rate:>10,.0f} "
            f"{plain_rate:>9,.0f} {engine_rate / plain_rate:>6,.0f}x {cached_rate:>11,.0f} "
            f"{engine_rate / cached_rate:>5.2f}x {floor:>10,.0f} {engine_rate / floor:>12.2f} "
            f"{floor_shapes:>9,.0f} ({shapes:>2} rows) {verdict(engine_rate >= GOAL_RATE):>9}  "
            f"{'yes' if same else 'NO'} (plain loop: {len(plain_decisions):,} decisions in {plain_s:.1f} s)"
        )
        spread.append(f"{'hard' if hard else 'easy'} {min(rates):,.0f}-{max(rates):,.0f}")
        index = {name: i for i, name in enumerate(sorted(h.name for h in fleet.hosts))}
        given = [index[p.host] if p.host else -1 for p in result.placements]
        loop = statistics.median(bookkeeping_rate(fleet, stream, given) for _ in range(repeats))
        both = 1 / (1 / loop + 1 / floor_shapes)
        floors.append(
            f"{'hard' if hard else 'easy'}: bookkeeping {loop:,.0f}, with the argmin over its rows {both:,.0f}"
            f" (engine = {engine_rate / both:.2f} of it)"
        )
    print(
        f"goal: >= {GOAL_RATE:,} decisions/s on both workloads; 'floor/shapes' is the argmin alone over\n"
        "one of as many cached rows as the workload has shapes, picked at random (the engine's real floor)\n"
        f"engine and floors: median of {repeats} runs (engine's range: {'; '.join(spread)}); the plain\n"
        "loops run once (they are several times slower: their noise cannot change a ratio's verdict)"
    )
    print(
        "the interpreter's floor (decisions/s, median): a replay's bookkeeping alone with each start's host\n"
        "given (read the event, update the host's counts, record the outcome), and that plus the argmin over\n"
        "one of the workload's rows — what a Python replay of one decision per start costs at least:\n  "
        + "\n  ".join(floors)
    )


# --- whole process ------------------------------------------------------------------------------------
def write_scenario(directory: Path, hosts: int, events: int, hard: bool) -> tuple[Path, Path, Path]:
    conf = directory / "bench.conf"
    conf.write_text(config_text())
    fleet_path = directory / f"fleet-{hosts}-{'hard' if hard else 'easy'}.json"
    fleet_path.write_text(json.dumps(bench_fleet(hosts, hard).to_json()))
    work = directory / f"work-{hosts}-{events}-{'hard' if hard else 'easy'}.jsonl"
    with work.open("w") as out:
        for event in workload(hosts, events, hard):
            out.write(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
    return conf, fleet_path, work


def run_timed(argv: list[str], output: Path, bytecode: Path | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a child process writing `output`. With `bytecode`, compiled
    modules are cached there (outside the checkout), as an installed package has them; without, every
    module is compiled from source on each run (PYTHONDONTWRITEBYTECODE=1)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with output.open("wb") as out:
        # From the repository this bench belongs to: `-m tui.cli` then runs this checkout's code.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if bytecode is None:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = str(bytecode)
        subprocess.run(argv, check=True, stdout=out, cwd=REPO, env=env)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def plain_process(fleet_path: str, work_path: str) -> None:
    """The baseline as its own process: read the same files with the json module, replay with the
    cached plain loop, write every decision as JSON (the config is built in Python: no HOCON parse,
    which flatters the baseline, not us)."""
    config = bench_config()
    fleet = Fleet.from_json(json.loads(Path(fleet_path).read_text()), config)
    events: list[Event] = []
    with open(work_path) as lines:
        for line in lines:
            raw = json.loads(line)
            if raw["op"] == "start":
                request = Request(raw["vcpus"], raw["memory"], tuple(raw.get("devices", {}).items()))
                events.append(StartEvent(raw["id"], request))
            else:
                events.append(StopEvent(raw["id"]))
    decisions, _, _ = plain_replay(CachedPlainLoop(config, fleet), events)
    json.dump(
        {"placements": [{"host": h, "cost": None if c == INF else c} for h, c in decisions]}, sys.stdout
    )


def whole_process(sizes: list[tuple[int, int]], with_plain: bool, repeats: int) -> None:
    print("\nwhole process: vmdeck simulate --json (config + fleet + workload files, JSON to a file)")
    print(
        "CPU s = user + sys of the process; ratio = plain+cache CPU / simulate CPU; bytecode cached\n"
        "(as installed; a warm-up run fills the cache), and 'cold' = every module compiled from source"
    )
    print(
        f"{'hosts':>8} {'events':>8} {'workload':<8} {'simulate CPU':>12} {'wall':>7} "
        f"{'plain+cache CPU':>15} {'wall':>7} {'ratio':>6}  same  goal (CPU s)"
    )
    vmdeck = [sys.executable, "-m", "tui.cli"]
    with tempfile.TemporaryDirectory(prefix="bench-sched-") as tmp:
        directory = Path(tmp)
        bytecode = directory / "pycache"
        first = True
        for hosts, events in sizes:
            for hard in (False, True):
                conf, fleet_path, work = write_scenario(directory, hosts, events, hard)
                out = directory / "out.json"
                argv = [*vmdeck, "simulate", "--config", str(conf), "--fleet", str(fleet_path)]
                argv += ["--workload", str(work), "--json"]
                if first:
                    cold_cpu, cold_wall = run_timed(argv, out)
                    print(
                        f"cold: {hosts:,} hosts {events:,} events easy: {cold_cpu:.2f} s CPU, {cold_wall:.2f} s wall"
                    )
                    run_timed(argv, out, bytecode)  # warm-up: fills the bytecode cache
                    first = False
                runs = sorted(run_timed(argv, out, bytecode) for _ in range(repeats))
                cpu, wall = runs[len(runs) // 2]  # the median run by CPU
                ours = json.loads(out.read_text())["placements"]
                kind = "hard" if hard else "easy"
                line = f"{hosts:>8,} {events:>8,} {kind:<8} {cpu:>11.2f}s {wall:>6.2f}s"
                if with_plain:
                    plain_out = directory / "plain.json"
                    plain_argv = [sys.executable, __file__, "--plain-process", str(fleet_path), str(work)]
                    plain_cpu, plain_wall = run_timed(plain_argv, plain_out, bytecode)
                    theirs = json.loads(plain_out.read_text())["placements"]
                    same = [(p["host"], p["cost"]) for p in ours] == [(p["host"], p["cost"]) for p in theirs]
                    ratio = plain_cpu / cpu
                    line += (
                        f" {plain_cpu:>14.2f}s {plain_wall:>6.2f}s {ratio:>5.2f}x  {'yes' if same else 'NO'} "
                    )
                goal = GOAL_PROCESS_S.get(hosts) if events == 100_000 else None
                if goal is not None:
                    line += f" <= {goal} s: {verdict(cpu <= goal)}"
                if repeats > 1:
                    line += f"  (simulate CPU {runs[0][0]:.2f}-{runs[-1][0]:.2f} s over {repeats} runs)"
                print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the engine, the floors and simulate (median printed)"
    )
    parser.add_argument("--plain-process", nargs=2, metavar=("FLEET", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_process:
        plain_process(*args.plain_process)
        return
    print(
        f"load average {Path('/proc/loadavg').read_text().split(' ')[:3]} on {os.cpu_count()} CPUs",
        flush=True,
    )
    events = 10_000 if args.quick else 100_000
    in_memory(10_000, events, plain_budget=2.0 if args.quick else 5.0, repeats=max(1, args.repeat))
    sizes = [(10_000, events)] + ([] if args.quick else [(100_000, 100_000)])
    whole_process(sizes, with_plain=True, repeats=max(1, args.repeat))
    print(f"load average {Path('/proc/loadavg').read_text().split(' ')[:3]} at the end")


if __name__ == "__main__":
    main()
