"""Applying a what-if plan is an action of tui.services (the console's `m` calls it): each move is the
migrate action on the one path — read-only check, the VM's lease, audit intent and outcome — and the
first move that does not succeed stops the rest. On test:/// hosts, which cannot migrate."""

from __future__ import annotations

from pathlib import Path

from tui.core.hosts import HostRecord
from tui.core.whatif import Plan
from tui.core.whatif.plan_data import FleetCost, Move
from tui.services.actions import ActionSettings, Deck, Result
from tui.services.actions.path import READ_ONLY_MESSAGE
from tui.services.actions.plans import apply_plan, plan_refusal
from tui.services.config import load_config
from tui.services.demo import DemoHost, DemoVm, node_xml
from tui.services.store import Actor, Store

from .conftest import SAMPLE_CONFIG


def fleet(tmp_path: Path) -> Path:
    db = tmp_path / "db"
    records = []
    for name, vms in (("h1", (DemoVm("h1-a", 1, 1, True), DemoVm("h1-b", 1, 1, True))), ("h2", ())):
        record = HostRecord(name, f"test://{tmp_path / name}.xml", "pool1", "libvirt1")
        (tmp_path / f"{name}.xml").write_text(node_xml(DemoHost(record, 8, 32, vms)))
        records.append(record)
    Store(db).add_hosts(records)
    return db


def plan(*vms: str) -> Plan:
    moves = tuple(Move(vm, 1, 1 << 30, "h1", "h2", 10.0, 5.0, 0.0, 5.0) for vm in vms)
    cost = FleetCost(10.0, 0, 1)
    return Plan("rebalance", moves, (), (), cost, cost, (), (), ())


def open_deck(db: Path, read_only: bool = False) -> Deck:
    config = load_config(SAMPLE_CONFIG).config
    assert config is not None
    return Deck.open(config, Store(db), ActionSettings(domain_type="test", read_only=read_only))


def test_the_first_move_that_does_not_succeed_stops_the_plan_and_each_move_is_audited(tmp_path: Path) -> None:
    db = fleet(tmp_path)
    other = Store(db, actor=Actor("bob")).acquire_lease("vm:h1-b", "vm.stop", 30.0)
    reports: list[str] = []
    deck = open_deck(db)
    try:
        out = apply_plan(deck, plan("h1-a", "h1-b"), "tidy up", reports.append)
    finally:
        deck.close()
    assert out.result is Result.FAILED
    assert out.message.startswith("rebalance plan stopped after 0 of 2 moves: ")
    assert "not supported by the connection driver" in out.message
    assert reports == [f"rebalance: FAILED h1-a → h2: {out.message.split(': ', 1)[1]}"]
    migrations = [(e.target, e.reason, e.result) for e in Store(db).audit() if e.what == "vm.migrate"]
    assert migrations == [("h1-a", "tidy up", "failed")]  # h1-b (leased by bob) was never tried
    assert Store(db).leases() == [other]  # the failed move's lease was released


def test_a_move_whose_vm_is_busy_is_refused_through_the_lease(tmp_path: Path) -> None:
    db = fleet(tmp_path)
    Store(db, actor=Actor("bob")).acquire_lease("vm:h1-a", "vm.stop", 30.0)
    deck = open_deck(db)
    try:
        out = apply_plan(deck, plan("h1-a", "h1-b"), "tidy up", lambda _text: None)
    finally:
        deck.close()
    assert out.result is Result.REFUSED
    assert "stop h1-a already running, started by bob" in out.message
    assert [(e.target, e.result) for e in Store(db).audit() if e.what == "vm.migrate"] == [
        ("h1-a", "refused")
    ]


def test_read_only_refuses_the_plan_before_and_during(tmp_path: Path) -> None:
    db = fleet(tmp_path)
    assert plan_refusal(plan("h1-a"), read_only=True, over_scenario=False, can_act=True) == READ_ONLY_MESSAGE
    assert plan_refusal(plan(), read_only=False, over_scenario=False, can_act=True) == "no moves"
    assert "scenario's fleet" in (plan_refusal(plan("h1-a"), False, True, True) or "")
    assert plan_refusal(plan("h1-a"), False, False, True) is None
    deck = open_deck(db, read_only=True)
    try:
        out = apply_plan(deck, plan("h1-a"), "tidy up", lambda _text: None)
    finally:
        deck.close()
    assert out.result is Result.REFUSED
    assert READ_ONLY_MESSAGE in out.message
