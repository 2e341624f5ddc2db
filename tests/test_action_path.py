"""The one action path: leases (threads, processes, kill -9, a frozen holder), intent before and outcome
after, in-flight actions a quitting console abandons, reconciliation at the next start, and PCI
devices that two concurrent starts in two processes never share (real libvirt test:/// hosts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState, HostSnapshot, HostStatus, ManagedVm
from tui.core.live.reconcile import reconcile
from tui.services.actions import Result
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.outcome import Failed
from tui.services.actions.path import ActionPath, Note
from tui.services.demo import DemoHost, node_xml
from tui.services.store import Actor, Busy, Store
from tui.services.store.audit import OUTCOME_UNKNOWN

from .conftest import SAMPLE_CONFIG

ENV = {**os.environ, "PYTHONPATH": os.getcwd()}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db", actor=Actor("alice"))
    s.add_host(HostRecord("n1", "qemu:///system", "pool1", "libvirt1"), reason="rack")
    return s


def wait_until(check, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# --- leases ------------------------------------------------------------------------------------------
def test_a_second_action_on_the_same_vm_is_refused_at_once_and_audited(store: Store) -> None:
    path = ActionPath(store)
    inside, release = threading.Event(), threading.Event()

    def slow(note: Note) -> str:
        inside.set()
        release.wait(30)
        return "web1 shut down after 0.1 s"

    first: list[object] = []
    worker = threading.Thread(target=lambda: first.append(path.run("vm.stop", "web1", slow, reason="a")))
    worker.start()
    assert inside.wait(30)
    held = path.busy("vm", "web1")
    assert held is not None
    assert held.action == "vm.stop"
    second = path.run("vm.stop", "web1", lambda note: "must not run", reason="b")
    assert second.result is Result.REFUSED
    assert second.message.startswith("stop web1 already running, started by alice (pid ")
    assert f"at {held.since}" in second.message
    assert path.run("vm.stop", "web2", lambda note: "other VM", reason="c").ok  # other objects are free
    release.set()
    worker.join()
    assert first[0].ok  # type: ignore[attr-defined]
    assert path.busy("vm", "web1") is None
    entries = store.audit(vm="web1")
    assert [(e.what, e.result) for e in entries] == [("vm.stop", "ok"), ("vm.stop", "refused")]
    assert entries[0].after["message"] == "web1 shut down after 0.1 s"


HOLDER = textwrap.dedent(
    """
    import sys, time
    from tui.services.store import Store, Actor
    from tui.services.actions.path import ActionPath
    path = ActionPath(Store(sys.argv[1], actor=Actor("bob")), lease_ttl_s=float(sys.argv[2]), lease_renew_s=0.2)
    def body(note):
        print("inside", flush=True)
        time.sleep(3600)
        return "never"
    path.run("vm.stop", "web1", body, reason="held elsewhere")
    """
)


def hold_in_other_process(directory: Path, ttl: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(ttl)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "inside"
    return proc


def test_a_lease_held_by_another_process_refuses_and_its_kill_frees_it(store: Store) -> None:
    proc = hold_in_other_process(store.directory, ttl=30.0)
    try:
        with pytest.raises(Busy, match=r"^stop web1 already running, started by bob \(pid \d+ on .+\) at "):
            store.acquire_lease("vm:web1", "vm.start", 30.0)
        assert "outcome" not in [e.result for e in store.audit()]
        [running] = [e for e in store.audit() if e.what == "vm.stop"]
        assert running.result == "in progress"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # A holder on this machine that is gone holds nothing, whatever its ttl said.
    lease = store.acquire_lease("vm:web1", "vm.start", 30.0)
    store.release_lease(lease)
    [dead] = [e for e in store.audit() if e.what == "vm.stop"]
    assert dead.result == OUTCOME_UNKNOWN
    # The next start reconciles it: the intent gets an "abandoned" outcome naming the dead process.
    ActionPath(store)
    [done] = [e for e in store.audit() if e.what == "vm.stop"]
    assert done.result == "abandoned"
    assert f"pid {proc.pid}" in done.after["message"]


def test_a_frozen_holder_loses_its_lease_after_the_ttl(store: Store) -> None:
    """A holder that stops renewing (SIGSTOP: a hung process, a lost network) is not waited for forever."""
    proc = hold_in_other_process(store.directory, ttl=1.0)
    try:
        proc.send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        with pytest.raises(Busy):
            store.acquire_lease("vm:web1", "vm.start", 30.0)
        wait_until(lambda: store.leases() == [], "the frozen holder's lease to expire")
        assert time.time() - stopped_at < 10  # bounded: ttl 1 s plus one renewal period
        store.release_lease(store.acquire_lease("vm:web1", "vm.start", 30.0))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_renewal_keeps_a_long_action_s_lease(store: Store) -> None:
    path = ActionPath(store, lease_ttl_s=0.6, lease_renew_s=0.1)
    seen: list[bool] = []

    def long(note: Note) -> str:
        for _ in range(15):
            time.sleep(0.1)
            seen.append(path.busy("host", "n1") is not None)
        return "done"

    assert path.run("host.drain", "n1", long, reason="r").ok
    assert all(seen)
    assert len(seen) == 15


# --- intent before, outcome after --------------------------------------------------------------------
def test_intent_is_durable_before_the_body_and_the_outcome_carries_the_real_message(store: Store) -> None:
    path = ActionPath(store)
    lines_during: list[dict[str, object]] = []

    def body(note: Note) -> str:
        lines_during.extend(json.loads(line) for line in store.audit_log.path.read_text().splitlines())
        note.host = "n1"
        raise Failed("libvirt: domain is not running")

    outcome = path.run("vm.destroy", "web1", body, reason="hung guest")
    assert outcome.result is Result.FAILED
    assert lines_during[-1]["kind"] == "intent"
    assert (lines_during[-1]["what"], lines_during[-1]["target"]) == ("vm.destroy", "web1")
    raw = [e for e in store.audit(raw=True) if e.what == "vm.destroy"]
    assert [e.kind for e in raw] == ["intent", "outcome"]
    assert raw[1].intent == raw[0].id
    [folded] = [e for e in store.audit() if e.what == "vm.destroy"]
    assert (folded.result, folded.host, folded.reason) == ("failed", "n1", "hung guest")
    assert folded.after["message"] == "libvirt: domain is not running"


def test_quitting_with_actions_in_flight_records_them_abandoned(store: Store) -> None:
    path = ActionPath(store)
    inside, release = threading.Event(), threading.Event()

    def body(note: Note) -> str:
        inside.set()
        release.wait(30)
        return "web1 shut down after 40.0 s"

    worker = threading.Thread(target=lambda: path.run("vm.stop", "web1", body, reason="maintenance"))
    worker.start()
    assert inside.wait(30)
    [flight] = path.in_flight()
    assert (flight.action, flight.target) == ("vm.stop", "web1")
    abandoned = path.abandon_in_flight("console quit while the action ran; the shutdown had been sent")
    assert [f.intent for f in abandoned] == [flight.intent]
    assert path.in_flight() == []
    assert path.busy("vm", "web1") is None
    [entry] = store.audit(vm="web1")
    assert entry.result == "abandoned"
    assert "shutdown had been sent" in entry.after["message"]
    release.set()  # what really happened is still recorded if the worker gets there
    worker.join()
    [entry] = store.audit(vm="web1")
    assert entry.result == "ok"


def test_read_only_refuses_before_any_lease_or_write(store: Store) -> None:
    before = store.audit_log.path.read_bytes()
    out = set_host_state(ActionPath(store, read_only=True), "n1", HostState.DISABLED, "kernel")
    assert out.result is Result.REFUSED
    assert "read-only" in out.message
    assert store.audit_log.path.read_bytes() == before
    assert not (store.directory / "leases.json").exists()


def test_host_state_goes_through_the_lease(store: Store) -> None:
    path = ActionPath(store)
    lease = store.acquire_lease("host:n1", "host.drain", 30.0)
    refused = set_host_state(path, "n1", HostState.DISABLED, "kernel update")
    assert refused.result is Result.REFUSED
    assert refused.message.startswith("drain n1 already running")
    store.release_lease(lease)
    done = set_host_state(path, "n1", HostState.DISABLED, "kernel update")
    assert done.ok, done.message
    assert store.host("n1").state is HostState.DISABLED  # type: ignore[union-attr]
    entries = [e for e in store.audit("n1") if e.what == "host.state"]
    assert [(e.result, e.reason) for e in entries] == [("refused", "kernel update"), (None, "kernel update")]
    assert entries[1].after["state"] == "disabled"


# --- devices: two starts in two processes never share a GPU -------------------------------------------
STARTER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from tui.services.actions import ActionSettings, Deck, StartRequest, start_vm
    from tui.services.config import load_config
    from tui.services.store import Store
    config = load_config(sys.argv[1]).config
    deck = Deck.open(config, Store(sys.argv[2]), ActionSettings(domain_type="test"))
    go = Path(sys.argv[3])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    out = start_vm(deck, StartRequest(sys.argv[4], 1, 1 << 30, {"nvidia-gpu": 1}, disk=1 << 30, host="g1", realm="libvirt1"))
    print(json.dumps(out.to_json()), flush=True)
    """
)


def test_two_gpu_starts_in_two_processes_never_get_the_same_device(tmp_path: Path) -> None:
    """Each process has its own view of the host (its own test:/// driver state, as two admins' pollers
    would): only the store can tell one about the other's device."""
    db = tmp_path / "db"
    record = HostRecord("g1", f"test://{tmp_path / 'g1.xml'}", "nvidia-gpu-node", "libvirt1")
    (tmp_path / "g1.xml").write_text(node_xml(DemoHost(record, 8, 32, ())))
    Store(db).add_host(record)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(SAMPLE_CONFIG), str(db), str(go), f"gpu-vm-{i}"],
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outcomes = [json.loads(p.communicate(timeout=120)[0].splitlines()[-1]) for p in procs]
    assert [o["result"] for o in outcomes] == ["ok", "ok"], [o["message"] for o in outcomes]
    devices = [tuple(o["devices"]) for o in outcomes]
    assert sorted(d for ds in devices for d in ds) == ["0000:01:02.0", "0000:02:03.0"]
    assert {tuple(vm.devices) for vm in Store(db).managed_vms()} == set(devices)
    assert Store(db).leases() == []  # reservations went with the leases


def test_a_start_recorded_as_starting_is_vmdeck_s_for_reconcile(store: Store) -> None:
    """A start that died after its domain was defined: reconcile calls the domain a leftover of vmdeck's."""
    store.record_vm(ManagedVm("u-1", "web1", "n1", "starting"), reason="start")
    dom = DomainFacts("web1", "u-1", DomainState.SHUTOFF, 1, 1 << 30, 1 << 30)
    snap = HostSnapshot("n1", "qemu:///system", HostStatus.CONNECTED, domains=(dom,))
    [finding] = reconcile(store.managed_vms(), {"n1": snap})
    assert finding.kind.value == "leftover"
    assert "vmdeck vms undefine web1 --delete-drives" in finding.action


def test_cli_audit_shows_an_intent_without_outcome_and_names_damaged_lines(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    code = "import sys; from tui.services.store import Store; Store(sys.argv[1]).begin('vm.stop', None, 'web1', None, 'r')"
    subprocess.run(
        [sys.executable, "-c", code, str(store.directory)], env=ENV, check=True
    )  # exits: no outcome
    with store.audit_log.path.open("ab") as handle:
        handle.write(b"{not json\n")
    capsys.readouterr()
    assert main(["audit", "--db", str(store.directory)]) == 0
    out = capsys.readouterr()
    assert "warning: audit.jsonl:3: not valid JSON" in out.err
    [row] = [line for line in out.out.splitlines() if "vm.stop" in line]
    assert "outcome unknown" in row


def test_cli_state_change_takes_the_action_path_and_opens_no_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    db = tmp_path / "db"
    # A host that would never answer (TEST-NET-1): a state change must not try to reach it.
    Store(db).add_host(HostRecord("far", "qemu+tcp://192.0.2.1/system", "pool1", "libvirt1"))
    argv = ["hosts", "state", "far", "disabled", "--reason", "rack move", "--db", str(db), "--json"]
    assert main(["--read-only", *argv]) == 1
    assert "read-only" in json.loads(capsys.readouterr().out)["error"]
    assert Store(db).host("far").state is HostState.ENABLED  # type: ignore[union-attr]
    lease = Store(db).acquire_lease("host:far", "host.drain", 30.0)
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out)["error"].startswith("drain far already running, started by ")
    Store(db).release_lease(lease)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["host"]["state"] == "disabled"


def test_a_drain_holds_its_host_and_each_moved_vm(tmp_path: Path) -> None:
    """On test:/// hosts (which cannot migrate): the drain sets No Scheduling through the host lease it
    holds, a VM whose lease someone else holds is refused, the others fail with the driver's message."""
    from tui.services.actions import ActionSettings, Deck, drain_host
    from tui.services.config import load_config
    from tui.services.demo import DemoVm

    config = load_config(SAMPLE_CONFIG).config
    assert config is not None
    db = tmp_path / "db"
    records = []
    for name, vms in (("h1", (DemoVm("h1-a", 1, 1, True), DemoVm("h1-b", 1, 1, True))), ("h2", ())):
        record = HostRecord(name, f"test://{tmp_path / name}.xml", "pool1", "libvirt1")
        (tmp_path / f"{name}.xml").write_text(node_xml(DemoHost(record, 8, 32, vms)))
        records.append(record)
    Store(db).add_hosts(records)
    deck = Deck.open(config, Store(db), ActionSettings(domain_type="test"))
    other = Store(db, actor=Actor("bob")).acquire_lease("vm:h1-a", "vm.stop", 30.0)
    seen_host_lease: list[bool] = []
    try:
        out = drain_host(
            deck,
            "h1",
            "disk swap",
            on_plan=lambda plan: seen_host_lease.append(deck.busy("host", "h1") is not None),
        )
    finally:
        deck.close()
    assert seen_host_lease == [True]
    assert out.result is Result.FAILED
    results = {r["vm"]: r["message"] for r in out.details["results"]}
    assert results["h1-a"].startswith("stop h1-a already running, started by bob")
    assert "not supported by the connection driver" in results["h1-b"]
    store = Store(db)
    assert store.host("h1").state is HostState.NO_SCHEDULING  # type: ignore[union-attr]
    whats = [
        (e.what, e.result) for e in store.audit() if e.what in ("host.state", "vm.migrate", "host.drain")
    ]
    assert ("host.state", None) in whats  # the change itself, audited first by the store
    assert ("vm.migrate", "refused") in whats
    assert ("vm.migrate", "failed") in whats
    assert whats[0] == ("host.drain", "failed")  # its intent came first; its outcome is folded in
    assert store.leases() == [other]
