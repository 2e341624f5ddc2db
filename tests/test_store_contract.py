"""The FleetStore contract (STORE_CONTRACT.md, tui/services/store/base.py), one test per promise.

Parametrised by backend: "local" is the TinyDB directory, "postgresql" a database of the tests'
private cluster (tests/pgcluster.py). Nothing here knows which backend it has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.core.live import ManagedVm
from tui.services.store import Actor, Busy, DevicesTaken, FleetStore, Store
from tui.services.store.audit import OUTCOME_UNKNOWN
from tui.services.store.postgres import PostgresStore

BACKENDS = ("local", "postgresql")


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], FleetStore]]:
    opened: list[FleetStore] = []
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else None

    def open_as(user: str) -> FleetStore:
        store: FleetStore
        if url is None:
            store = Store(tmp_path / "db", actor=Actor(user))
        else:
            store = PostgresStore(url, actor=Actor(user))
        opened.append(store)
        return store

    yield open_as
    for store in opened:
        store.close()


def rec(name: str) -> HostRecord:
    return HostRecord(name, "qemu:///system", "pool1", "libvirt1")


def test_host_changes_keep_each_host_s_audit_chain_whole(make: Callable[[str], FleetStore]) -> None:
    store = make("alice")
    store.add_host(rec("n1"), reason="rack")
    store.set_state("n1", HostState.NO_SCHEDULING, "drain")
    store.edit_host("n1", {"profile": "pool2"}, reason="new board")
    store.remove_host("n1", reason="gone")
    entries = store.audit("n1")
    assert [e.what for e in entries] == ["host.add", "host.state", "host.edit", "host.remove"]
    for prev, nxt in zip(entries, entries[1:], strict=False):
        assert nxt.before == prev.after
    assert all(e.result is None and e.id for e in entries)
    assert len({e.id for e in entries}) == 4
    with pytest.raises(HostError):
        store.remove_host("n1")


def test_intent_then_outcome_read_as_one_entry(make: Callable[[str], FleetStore]) -> None:
    store = make("alice")
    lease = store.acquire_lease("vm:web1", "vm.stop", 30.0)
    intent = store.begin("vm.stop", None, "web1", None, "maintenance", lease=lease)
    [open_entry] = store.audit(vm="web1")
    assert (open_entry.id, open_entry.result) == (intent, "in progress")
    store.finish(intent, "timed-out", {"result": "timed-out", "target": "web1", "host": "n1"}, "ignored ACPI")
    store.release_lease(lease)
    [entry] = store.audit(vm="web1")
    assert (entry.what, entry.host, entry.result, entry.reason) == (
        "vm.stop",
        "n1",
        "timed-out",
        "maintenance",
    )
    assert entry.after["message"] == "ignored ACPI"
    raw = [e for e in store.audit(raw=True) if e.target == "web1"]
    assert [(e.kind, e.intent) for e in raw] == [("intent", None), ("outcome", intent)]


def test_an_intent_without_outcome_is_outcome_unknown(make: Callable[[str], FleetStore]) -> None:
    store = make("alice")
    store.begin("vm.start", None, "web2", None, None)
    [entry] = store.audit(vm="web2")
    assert entry.result in (OUTCOME_UNKNOWN, "in progress")  # its holder (this test) is alive


def test_leases(make: Callable[[str], FleetStore]) -> None:
    alice, bob = make("alice"), make("bob")
    lease = alice.acquire_lease("host:n1", "host.drain", 30.0)
    assert lease.holder.startswith("alice (pid ")
    with pytest.raises(Busy) as caught:
        bob.acquire_lease("host:n1", "host.state", 30.0)
    assert str(caught.value) == f"drain n1 already running, started by {lease.holder} at {lease.since}"
    assert (caught.value.key, caught.value.action) == ("host:n1", "host.drain")
    renewed = alice.renew_lease(lease, 60.0)
    assert renewed.expires > lease.expires
    assert [x.key for x in bob.leases()] == ["host:n1"]
    bob.release_lease(bob.acquire_lease("host:n2", "host.state", 30.0))  # other objects are free
    alice.release_lease(renewed)
    assert bob.leases() == []
    short = bob.acquire_lease("vm:x", "vm.stop", 0.2)
    time.sleep(0.3)  # past its expiry: free for anyone
    alice.release_lease(alice.acquire_lease("vm:x", "vm.start", 30.0))
    assert short.token


def test_device_reservations(make: Callable[[str], FleetStore]) -> None:
    alice, bob = make("alice"), make("bob")
    a = alice.acquire_lease("vm:g1", "vm.start", 30.0)
    b = bob.acquire_lease("vm:g2", "vm.start", 30.0)
    alice.reserve_devices(a, "gpu-01", ["0000:01:02.0"])
    assert bob.reserved_devices() == {"gpu-01": {"0000:01:02.0"}}
    assert bob.reserved_devices(excluding=a) == {}
    with pytest.raises(DevicesTaken, match="0000:01:02.0 on gpu-01 are reserved by alice"):
        bob.reserve_devices(b, "gpu-01", ["0000:01:02.0"])
    bob.reserve_devices(b, "gpu-01", ["0000:02:03.0"])
    alice.release_lease(a)  # reservations go with their lease
    assert bob.reserved_devices() == {"gpu-01": {"0000:02:03.0"}}
    bob.release_devices(b)
    assert bob.reserved_devices() == {}


def test_vm_records_and_filters(make: Callable[[str], FleetStore]) -> None:
    store = make("alice")
    store.record_vm(ManagedVm("U-1", "web1", "n1", "starting", ("0000:01:02.0",)), reason="start")
    store.record_vm(ManagedVm("u-1", "web1", "n1", devices=("0000:01:02.0",)), reason="started")
    assert store.managed_vms() == [ManagedVm("u-1", "web1", "n1", "active", ("0000:01:02.0",))]
    assert [e.what for e in store.audit(vm="web1")] == ["vm.record", "vm.record"]
    assert store.audit(actor="bob") == []
    assert len(store.audit(actor="alice")) == 2
    assert store.audit(since="9999") == []
    store.forget_vm("u-1", reason="gone")
    assert store.managed_vms() == []
    assert store.audit_problems() == []
