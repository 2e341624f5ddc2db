"""Pure domain code: units, curves, cost functions, profiles, realms, placement, lint.

Nothing in this package performs I/O or imports textual, libvirt or tinydb (a test enforces it).

The host and fleet types, from the durable record to what the console shows:

- `HostRecord` (core/hosts.py): a host as the store keeps it: name, URI, profile, realm, state
  (enabled / no scheduling / disabled), address translation. Durable; the admin's facts.
- `HostSnapshot` (core/live/snapshots.py): one host as last polled from libvirt: reachability, node facts and
  its domains. Live only, never stored; the poller posts a new one each cycle.
- `FleetHost` (core/fleet.py): one host as the scheduler sees it: profile, state, and the load on it
  (VMs, vCPUs, memory, devices in use). A `Fleet` is a tuple of them, built from records + snapshots
  (`live.live_fleet`) or read from a fleet file.
- `FleetState` (core/scheduling/state.py): the scheduler's working copy of a `Fleet`: per-host load
  arrays and free devices, changed only by `add`/`remove` while it places a request or replays.
- `FleetModel` (core/whatif/fleetmodel.py): a `Fleet` plus the VMs on each host where they are known:
  what the what-if lab plans moves over (drain, rebalance, consolidation) and a scenario saves.
- `FleetView` (tui/console/fleetview.py, the console's layer): the console's in-memory picture: the
  records, the latest snapshot and cost history of each host, host-check verdicts. Panes read it.
"""
