"""An unreachable Enabled host is reported as unreachable, not "No Scheduling" (issue 10 item 8).

The live FLEET export is the one place that maps an unreachable host to No Scheduling (so nothing is
placed on it); the real reason travels with it (`FleetHost.unavailable`, also in the exported
FLEET.json) and every explanation — `place`, `vms start`'s choice, `migrate --to`'s target check,
the Simulation pane, headroom and rejections — gives it instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.fleet import Fleet, HostState
from tui.core.hosts import HostRecord
from tui.core.live import HostSnapshot, HostStatus, live_fleet
from tui.core.scheduling import CostEngine, FleetState, Request, explain_request
from tui.core.scheduling.explain import rejection_reason, verdict
from tui.core.scheduling.headroom import headroom

from .livefixtures import GIB, make_config

CONFIG = make_config()
HOSTS = [
    HostRecord("a-up", "test:///a", "pool1", "libvirt1"),
    HostRecord("b-down", "qemu+tcp://b/system", "pool1", "libvirt1"),
    HostRecord("c-drain", "test:///c", "pool1", "libvirt1", state=HostState.NO_SCHEDULING),
    HostRecord("d-new", "qemu+tcp://d/system", "pool1", "libvirt1"),
]
SNAPS = {
    "a-up": HostSnapshot("a-up", "test:///a", HostStatus.CONNECTED, polled_at=1.0),
    "b-down": HostSnapshot("b-down", "qemu+tcp://b/system", HostStatus.UNREACHABLE, "Connection refused"),
    "c-drain": HostSnapshot("c-drain", "test:///c", HostStatus.CONNECTED, polled_at=1.0),
    # d-new has never been polled
}
REQUEST = Request(vcpus=1, memory=GIB)


def _state(fleet: Fleet) -> FleetState:
    return FleetState(CONFIG, fleet)


def test_the_fleet_export_keeps_the_reason():
    hosts = live_fleet(HOSTS, SNAPS, CONFIG).by_name()
    assert hosts["b-down"].state is HostState.NO_SCHEDULING  # nothing is placed on it
    assert hosts["b-down"].unavailable == "unreachable (unreachable: Connection refused)"
    assert hosts["d-new"].unavailable == "unreachable (not polled yet)"
    assert hosts["c-drain"].unavailable is None
    assert hosts["a-up"].unavailable is None


@pytest.mark.parametrize("through_file", [False, True], ids=["live", "FLEET.json"])
def test_explanations_say_unreachable(through_file):
    fleet = live_fleet(HOSTS, SNAPS, CONFIG)
    if through_file:  # `vmdeck fleet export` then `vmdeck place --fleet`
        fleet = Fleet.from_json(json.loads(json.dumps(fleet.to_json())), CONFIG)
    state = _state(fleet)
    placement = explain_request(state, CostEngine(state), REQUEST)
    assert placement.host == "a-up"
    by_host = {v.host: v for v in placement.candidates}
    down = by_host["b-down"]
    assert not down.feasible
    assert down.reason == (
        "host is unreachable (unreachable: Connection refused): no new VMs are placed on it until it answers"
    )
    assert "No Scheduling" not in down.reason
    assert down.state_label == "Unreachable"
    assert down.to_json()["unavailable"] == "unreachable (unreachable: Connection refused)"
    # A host the admin set to No Scheduling still says so.
    assert by_host["c-drain"].reason == "host is No Scheduling: no new VMs are placed on it"
    assert by_host["c-drain"].state_label == "No Scheduling"
    # The target check of `migrate --to b-down` and `vms start --host b-down` use this verdict.
    assert verdict(state, state.index["b-down"], REQUEST).reason == down.reason


def test_rejections_and_headroom_count_unreachable_hosts_apart():
    fleet = live_fleet([h for h in HOSTS if h.name != "a-up"], SNAPS, CONFIG)
    state = _state(fleet)
    engine = CostEngine(state)
    assert rejection_reason(state, engine, REQUEST) == "no feasible host: 2 unreachable, 1 not Enabled"
    room = {h.host: h for h in headroom(CONFIG, fleet, REQUEST).hosts}
    assert room["b-down"].stop == "host is unreachable (unreachable: Connection refused)"
    assert room["c-drain"].stop == "host is No Scheduling"


def test_place_on_an_exported_fleet_says_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    repo = Path(__file__).resolve().parent.parent
    conf = repo / "config" / "ticrypt-vm.conf"
    sample = json.loads((repo / "config" / "fleet.json").read_text())
    only = sample["hosts"][0]
    down = {**only, "state": "no-scheduling", "unavailable": "unreachable (unreachable: Connection refused)"}
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps({"hosts": [down]}))
    code = main(["place", "--config", str(conf), "--fleet", str(fleet), "--vcpus", "1", "--memory", "1GiB"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "host is unreachable (unreachable: Connection refused)" in out
    assert "No Scheduling" not in out
    assert "no-scheduling" not in out  # the state column says unreachable too
    assert "unreachable" in out.splitlines()[-1].split()[1]
