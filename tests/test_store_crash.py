"""The store under SIGKILL at random moments and under two concurrent writer processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tui.services.store import Store

# A writer that adds hosts one by one (each with its audit entry) and prints the name of every host
# whose add() returned: those writes are "completed" and must survive a kill.
WRITER = textwrap.dedent(
    """
    import sys
    from tui.core.hosts import HostRecord
    from tui.core.fleet import HostState
    from tui.services.store import Store, Actor
    store = Store(sys.argv[1], actor=Actor(sys.argv[2]))
    prefix, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        name = f"{prefix}-{i}"
        store.add_host(HostRecord(name, "qemu:///system", "pool1", "libvirt1"), reason="test")
        if i % 3 == 0:
            store.set_state(name, HostState.NO_SCHEDULING, "test")
        print(name, flush=True)
    """
)


def start_writer(directory, prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), prefix, str(count)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


def test_sigkill_at_random_moments_keeps_every_completed_write(tmp_path):
    rng = random.Random(4)
    directory = tmp_path / "db"
    completed: list[str] = []
    for trial in range(30):
        proc = start_writer(directory, f"t{trial}", 10_000)
        # Wait for the interpreter to start writing, then kill at a random moment.
        first = proc.stdout.readline().strip()
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        completed += [first, *out.split()]
        store = Store(directory)
        names = {h.name for h in store.hosts()}  # raises if hosts.json were torn
        missing = [n for n in completed if n not in names]
        assert missing == [], f"trial {trial}: completed writes lost: {missing[:5]}"
        audited = {e.host for e in store.audit() if e.what == "host.add"}
        assert [n for n in completed if n not in audited] == []
    assert len(completed) > 30


def test_two_processes_writing_concurrently_lose_nothing(tmp_path):
    directory = tmp_path / "db"
    count = 150
    procs = [start_writer(directory, p, count) for p in ("left", "right")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    store = Store(directory)
    hosts = store.hosts()
    assert len(hosts) == 2 * count
    assert sum(len(o.split()) for o in outputs) == 2 * count
    entries = store.audit()
    assert sum(e.what == "host.add" for e in entries) == 2 * count
    assert sum(e.what == "host.state" for e in entries) == 2 * len(range(0, count, 3))
    assert {e.who.user for e in entries} == {"left", "right"}


@pytest.mark.parametrize("threads", [4])
def test_threads_in_one_process_lose_nothing(tmp_path, threads):
    import threading

    from tui.core.hosts import HostRecord

    store = Store(tmp_path / "db")

    def work(k: int) -> None:
        for i in range(40):
            store.add_host(HostRecord(f"th{k}-{i}", "qemu:///system", "pool1", "libvirt1"))

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(store.hosts()) == threads * 40
    assert len(store.audit()) == threads * 40
