"""The store contract, run against both backends: a local directory and a real PostgreSQL server.

Real parts only: TinyDB/JSON-lines files in a temporary directory, and the private PostgreSQL cluster
of tests/pgcluster.py. Concurrency is tested with separate processes (tests/storeworker.py), the
way several vmdecks share one store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.core.live import ManagedVm
from tui.services.store import Busy, StoreError, open_store
from tui.services.store.feed import StoreChange, watch

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ["local", "postgresql"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path, no_pgpass: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "db")
    return str(request.getfixturevalue("pg_url"))


def host(name: str, state: HostState = HostState.ENABLED) -> HostRecord:
    return HostRecord(name=name, uri="test:///default", profile="p", realm="r", state=state)


def worker(location: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storeworker", args[0], location, *args[1:]],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_host_changes_are_audited_and_refusals_change_nothing(location: str) -> None:
    store = open_store(location)
    store.add_hosts([host("n1"), host("n2")], reason="rack 4")
    with pytest.raises(HostError, match="already exist: n1"):
        store.add_hosts([host("n3"), host("n1")])
    assert [h.name for h in store.hosts()] == ["n1", "n2"]  # all or nothing: n3 not added
    with pytest.raises(HostError, match="needs a reason"):
        store.edit_host("n1", {"state": HostState.DISABLED})
    after = store.set_state("n1", HostState.DISABLED, "fan failure")
    assert after.state is HostState.DISABLED
    assert store.host("n1") == after
    assert store.edit_host("n1", {"state": HostState.DISABLED}, "again") == after  # no change, no entry
    store.remove_host("n2", reason="returned")
    assert store.host("n2") is None
    with pytest.raises(HostError, match="no host named"):
        store.remove_host("n2")
    whats = [(e.what, e.host, e.reason) for e in store.audit()]
    assert whats == [
        ("host.add", "n1", "rack 4"),
        ("host.add", "n2", "rack 4"),
        ("host.state", "n1", "fan failure"),
        ("host.remove", "n2", "returned"),
    ]
    state = store.audit(host="n1")[-1]
    assert state.before["state"] == "enabled"
    assert state.after["state"] == "disabled"
    assert len({e.id for e in store.audit()}) == 4  # every entry has its own id


def test_vm_records_and_audit_filters(location: str) -> None:
    store = open_store(location)
    store.add_host(host("n1"))
    store.record_vm(ManagedVm("AB-12", "web1", "n1"), reason="started")
    store.record_vm(ManagedVm("ab-12", "web1", "n2"), reason="migrated")
    assert store.managed_vms() == [ManagedVm("ab-12", "web1", "n2")]
    assert store.forget_vm("AB-12", reason="gone") == ManagedVm("ab-12", "web1", "n2")
    with pytest.raises(HostError, match="no record"):
        store.forget_vm("ab-12")
    assert [e.what for e in store.audit(vm="web1")] == ["vm.record", "vm.record", "vm.forget"]
    assert store.audit(vm="n1") == []  # a host's entries are not a VM's, though its record has a name
    user = store.actor.user
    assert len(store.audit(actor=user)) == 4
    assert store.audit(actor="nobody-else") == []
    assert len(store.audit(since="2000-01-01")) == 4
    assert store.audit(since="2999-01-01") == []
    assert len(store.audit(since="1h")) == 4
    with pytest.raises(StoreError, match="--since"):
        store.audit(since="yesterday-ish")


def test_eight_processes_lose_no_change_and_keep_every_chain_whole(location: str) -> None:
    store = open_store(location)
    store.add_hosts([host(f"h{i}") for i in range(10)])
    procs = [worker(location, "edits", str(w), "100") for w in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.strip() == "done"
    edits = [e for e in store.audit() if e.what == "host.edit"]
    assert len(edits) == 800
    assert {e.after["profile"] for e in edits} == {f"w{w}-{i}" for w in range(8) for i in range(100)}
    for h in store.hosts():
        chain = [e for e in store.audit(host=h.name)]
        for previous, entry in zip(chain, chain[1:], strict=False):
            assert entry.before == previous.after, f"{h.name}: chain broken at {entry.id}"
        assert chain[-1].after == h.to_json()  # what is in force is the last entry's after


def test_writer_killed_mid_change_leaves_store_consistent_and_its_lease_expiring(location: str) -> None:
    store = open_store(location)
    store.add_hosts([host(f"h{i}") for i in range(10)])
    ttl = 3.0
    proc = worker(location, "hold", "vm:web1", str(ttl))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    time.sleep(0.3)  # let it be in the middle of its stream of changes
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    reopened = open_store(location)
    hosts = {h.name: h.to_json() for h in reopened.hosts()}
    assert len(hosts) == 10
    for name, record in hosts.items():
        # Audit first, then act: a writer killed between its entry and its write leaves an entry
        # the local store reads as "not-applied"; every change in force has its entry.
        chain = [e for e in reopened.audit(host=name) if e.result != "not-applied"]
        for previous, entry in zip(chain, chain[1:], strict=False):
            assert entry.before == previous.after
        assert chain[-1].after == record, f"{name}: the change in force has no audit entry"
    held = [lease for lease in reopened.leases() if lease.key == "vm:web1"]
    if held:  # still live: it must be refused with its holder, and expire by its ttl
        with pytest.raises(Busy, match="stop web1 already running, started by"):
            reopened.acquire_lease("vm:web1", "vm.stop", 5)
        assert held[0].expires <= time.time() + ttl + 1
        time.sleep(max(0.0, held[0].expires - time.time()) + 0.3)
    lease = reopened.acquire_lease("vm:web1", "vm.start", 5)  # free: the dead holder's lease expired
    reopened.release_lease(lease)


def test_a_writer_killed_inside_its_change_leaves_nothing_half_done(location: str) -> None:
    store = open_store(location)
    store.add_hosts([host(f"h{i}") for i in range(10)])
    proc = worker(location, "stall")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "stalled"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    reopened = open_store(location)
    assert reopened.host("h0") == host("h0")  # the uncommitted change is not in force...
    assert [e.reason for e in reopened.audit(host="h0")] == [None]  # ...and has no entry
    after = reopened.edit_host("h0", {"profile": "after"}, "next writer")  # nothing stays locked
    assert after.profile == "after"


def test_leases_one_action_at_a_time(location: str) -> None:
    store = open_store(location)
    lease = store.acquire_lease("vm:web1", "vm.stop", 30)
    other = open_store(location)
    with pytest.raises(Busy) as busy:
        other.acquire_lease("vm:web1", "vm.migrate", 30)
    assert busy.value.action == "vm.stop"
    assert busy.value.holder == lease.holder
    assert str(busy.value).startswith("stop web1 already running, started by ")
    renewed = store.renew_lease(lease, 60)
    assert renewed.expires > lease.expires
    assert renewed.token == lease.token
    assert [x.key for x in other.leases()] == ["vm:web1"]
    other.release_lease(lease.__class__(**{**lease.__dict__, "token": "not-the-token"}))
    assert [x.key for x in store.leases()] == ["vm:web1"]  # a wrong token releases nothing
    store.release_lease(renewed)
    assert store.leases() == []
    other.release_lease(other.acquire_lease("vm:web1", "vm.migrate", 30))


def test_intent_then_outcome(location: str) -> None:
    store = open_store(location)
    lease = store.acquire_lease("vm:web1", "vm.stop", 30)
    intent = store.begin("vm.stop", "n1", "vm:web1", {"state": "running"}, "maintenance", lease=lease)
    store.finish(intent, "ok", {"state": "shut off"}, "stopped in 3 s")
    entries = store.audit(vm="web1", raw=True)
    assert [(e.kind, e.result) for e in entries] == [("intent", None), ("outcome", "ok")]
    assert entries[1].intent == intent == entries[0].id
    assert entries[0].before == {"state": "running"}
    assert entries[0].reason == "maintenance"
    [action] = store.audit(vm="web1")  # read as one entry: the intent's who/before, the outcome's result
    assert (action.id, action.result, action.before) == (intent, "ok", {"state": "running"})
    assert action.after["state"] == "shut off"
    store.release_lease(lease)
    lease = store.acquire_lease("vm:web2", "vm.start", 30)
    open_intent = store.begin("vm.start", "n1", "vm:web2", None, None, lease=lease)
    assert [e.result for e in store.audit(vm="web2")] == ["in progress"]  # its holder is alive
    assert store.reconcile_intents() == []
    store.release_lease(lease)  # the holder is gone (as if killed): its intent is abandoned
    assert len(store.reconcile_intents()) == 1
    [abandoned] = store.audit(vm="web2")
    assert (abandoned.id, abandoned.result) == (open_intent, "abandoned")


def test_concurrent_gpu_starts_never_share_a_device(location: str, tmp_path: Path) -> None:
    store = open_store(location)
    devices = [f"0000:3b:00.{i}" for i in range(4)]
    go, done = tmp_path / "go", tmp_path / "done"
    env = {"GO": str(go), "DONE": str(done)}
    procs = [worker(location, "pick", str(w), ",".join(devices), env=env) for w in range(5)]
    time.sleep(1.0)  # every worker is waiting on the go file
    go.touch()
    picks = []
    for p in procs:
        assert p.stdout is not None
        picks.append(p.stdout.readline().strip())
    assert store.reserved_devices() == {"n1": set(devices)}  # held while their starts are alive
    done.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    taken = [p for p in picks if p != "none"]
    assert sorted(taken) == devices  # four devices, four distinct starts, the fifth refused
    assert picks.count("none") == 1


def test_change_feed_reports_other_processes_changes_with_who(location: str) -> None:
    store = open_store(location)
    store.add_host(host("n1"))
    seen: list[StoreChange] = []
    stop = watch(store, seen.append)
    try:
        _wait_ready(stop)
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui.cli",
                "hosts",
                "state",
                "n1",
                "disabled",
                "--reason",
                "psu",
                "--db",
                location,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        deadline = time.monotonic() + 10
        while not any(c.key == "n1" for c in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop()
    change = next(c for c in seen if c.key == "n1")
    assert (change.kind, change.what, change.who) == ("host", "host.state", str(store.actor))


def _wait_ready(stop: Any) -> None:
    """The PostgreSQL listener needs its LISTEN in force before the change is made."""
    listener = getattr(stop, "__self__", None)
    ready = getattr(listener, "ready", None)
    if ready is not None:
        assert ready.wait(10), "the change feed never started listening"


@pytest.fixture
def killed() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()


def test_vmdeck_audit_filters_on_the_command_line(location: str) -> None:
    store = open_store(location)
    store.add_hosts([host("n1"), host("n2")])
    store.record_vm(ManagedVm("cd-34", "db1", "n2"), reason="started")
    store.set_state("n1", HostState.NO_SCHEDULING, "drain")

    def audit(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "audit", "--db", location, "--json", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["entries"])

    assert [(e["what"], e["host"]) for e in audit("--host", "n1")] == [
        ("host.add", "n1"),
        ("host.state", "n1"),
    ]
    assert [e["what"] for e in audit("--vm", "db1")] == ["vm.record"]
    assert len(audit("--actor", store.actor.user, "--since", "1h")) == 4
    assert audit("--actor", "mallory") == []
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "audit", "--db", location, "--since", "last tuesday"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("vmdeck: --since 'last tuesday': expected an ISO date/time")
