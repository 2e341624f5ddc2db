"""Live state of the fleet as plain data, and what it means.

- snapshots.py: `HostSnapshot` (one host as last polled), `DomainFacts`, `NodeFacts`, the states;
- allocation.py: `HostAllocation` (allocated vs capacity, cost), `live_fleet` (the FLEET export: the
  bridge to the scheduler), `not_actionable` (the one rule of when vmdeck cannot act on a host);
- reconcile.py: `ManagedVm` (vmdeck's record of a VM it started) and `reconcile`, the "Fix VMs"
  findings (`ReconcileFinding`).

All pure, so the UI, the CLI and the tests compute them the same way. The names many modules read
are re-exported here.
"""

from __future__ import annotations

from tui.core.live.allocation import HostAllocation, allocation, live_fleet, not_actionable
from tui.core.live.reconcile import ManagedVm
from tui.core.live.snapshots import (
    DomainFacts,
    DomainState,
    HostSnapshot,
    HostStatus,
    NodeFacts,
    hostdev_addresses,
)

# The old name of HostAllocation, kept only for tui/console/fleetview.py (another engineer's file this
# wave); switch it to HostAllocation and delete this line.
Allocation = HostAllocation

__all__ = [
    "Allocation",
    "DomainFacts",
    "DomainState",
    "HostAllocation",
    "HostSnapshot",
    "HostStatus",
    "ManagedVm",
    "NodeFacts",
    "allocation",
    "hostdev_addresses",
    "live_fleet",
    "not_actionable",
]
