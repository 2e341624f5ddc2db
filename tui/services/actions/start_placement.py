"""Where a new VM goes (step 1 of a start, start.py): the scheduler's choice from the live fleet, or
the host the admin named checked (Enabled, enough free devices, finite cost), with the PCI devices
chosen reserved in the store under the VM's lease so that other vmdecks' schedulers count them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from tui.core.hostcheck import HostCheckReport
from tui.core.model import Realm
from tui.core.scheduling import CostEngine, FleetState, Request, explain_request
from tui.core.scheduling.explain import note_device_checks, rejection_reason, verdict
from tui.services.actions.deck import Deck
from tui.services.actions.outcome import Refused
from tui.services.store import DevicesTaken, Lease, StoreError


@dataclass(frozen=True)
class Choice:
    host: str
    cost: float
    devices: tuple[str, ...]
    candidates: list[dict[str, object]]


_RESERVE_TRIES = 5


def choose_and_reserve(
    deck: Deck, realm: Realm, shape: Request, host: str | None, lease: Lease | None
) -> Choice:
    """The scheduler's choice, with its PCI devices reserved in the store under the VM's lease.

    Another vmdeck may reserve the same address between our look and our reservation: then the
    fleet view (which counts every live reservation) is read again and the choice made anew.
    """
    for _ in range(_RESERVE_TRIES):
        choice = _choose(deck, realm, shape, host)
        if not choice.devices or lease is None:
            return choice
        try:
            deck.store.reserve_devices(lease, choice.host, choice.devices)
        except DevicesTaken:
            continue
        return choice
    raise Refused(f"the devices chosen were reserved by other starts {_RESERVE_TRIES} times in a row; retry")


def release_devices(deck: Deck, lease: Lease | None) -> None:
    if lease is not None:
        with contextlib.suppress(StoreError):
            deck.store.release_devices(lease)


def _choose(deck: Deck, realm: Realm, shape: Request, host: str | None) -> Choice:
    fleet = deck.fleet(realm.id)
    if not fleet.hosts:
        raise Refused(f"realm {realm.id!r} has no hosts (vmdeck hosts add ...)")
    state = FleetState(deck.config, fleet)
    engine = CostEngine(state)
    if host is None:
        placement = note_device_checks(explain_request(state, engine, shape), _device_checks(deck, shape))
        candidates: list[dict[str, object]] = [
            {"host": v.host, "cost": v.cost, "reason": v.reason} for v in placement.candidates[:10]
        ]
        if not placement.placed or placement.host is None or placement.cost is None:
            raise Refused(rejection_reason(state, engine, shape), candidates=candidates)
        return Choice(placement.host, placement.cost, placement.devices, candidates)
    i = state.index.get(host)
    if i is None:
        raise Refused(f"host {host!r} is not a host of realm {realm.id!r}")
    v = verdict(state, i, shape)
    candidates = [{"host": v.host, "cost": v.cost, "reason": v.reason}]
    if not v.feasible or v.cost is None:
        raise Refused(f"host {host!r} refuses this VM: {v.reason}", candidates=candidates)
    devices = tuple(a for kind, count in shape.devices for a in state.free_addrs[i][kind][:count])
    return Choice(host, v.cost, devices, candidates)


def _device_checks(deck: Deck, shape: Request) -> dict[str, HostCheckReport]:
    """The last host checks, when the request needs devices (their explanations cite failed ones)."""
    if not shape.devices:
        return {}
    # lazy: an import loop (tui.services.hostcheck builds on tui.services.actions)
    from tui.services.hostcheck.cache import CheckCache

    return CheckCache.of_store(deck.store).load()
