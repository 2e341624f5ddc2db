"""What the one action path costs per action on the local store: lease + intent + outcome + release.

Baseline: what an action cost before (one audit entry appended after the act, `record_action`).
The body does nothing, so the figures are the path's own cost; a real action (a libvirt call, a
shutdown) takes milliseconds to minutes on top. Also: a host state change (audit first, then the
hosts.json replacement) on its path, at 100 hosts. Prints figures; never asserts on time.

    .venv/bin/python bench/bench_action_path.py [--actions 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.core.fleet import HostState  # noqa: E402
from tui.core.hosts import HostRecord  # noqa: E402
from tui.services.actions.hoststate import set_host_state  # noqa: E402
from tui.services.actions.path import ActionPath  # noqa: E402
from tui.services.store import Actor, Store  # noqa: E402


def timed(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(label: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    p95 = sorted(ms)[int(len(ms) * 0.95) - 1]
    print(f"  {label:<48} median {med:7.2f} ms   p95 {p95:7.2f} ms")
    return med


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=200)
    n = parser.parse_args().actions
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "db", actor=Actor("bench"))
        store.add_hosts([HostRecord(f"h{i:03}", "qemu:///system", "p", "r") for i in range(100)])
        path = ActionPath(store)
        after = {"result": "ok", "target": "vm", "message": "done"}
        print(f"{n} actions with an empty body, local store on {tmp}:")
        base = line(
            "before: one entry after the act (record_action)",
            timed(lambda i: store.record_action("vm.stop", "h001", after, None), n),
        )
        ours = line(
            "now: lease, intent, act, outcome, release",
            timed(lambda i: path.run("vm.stop", f"vm{i}", lambda note: "done", reason="bench"), n),
        )
        print(
            f"  ratio {ours / base:.1f}x the old single append (two fsynced audit appends, lease writes not fsynced)"
        )
        states = [HostState.NO_SCHEDULING, HostState.ENABLED]
        line(
            "host state change on its path (100 hosts)",
            timed(lambda i: set_host_state(path, "h001", states[i % 2], "bench"), n),
        )
        line(
            "host state change, store only (no lease)",
            timed(lambda i: store.set_state("h002", states[i % 2], "bench"), n),
        )


if __name__ == "__main__":
    main()
