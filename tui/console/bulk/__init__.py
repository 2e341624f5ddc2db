"""Bulk actions: a pane's action key on every marked host or VM (marks: tui/console/panes/tablemarks.py).

One reason and one confirmation that lists the blast radius — for a host state change or a drain
the hosts and the VMs running on each, for a VM action the VMs and the hosts they run on — then the
items one after another, each on the console's one action path on its own, its own checks run again
just before it starts. ctrl+c cancels what has not started. Read-only mode refuses before any
question. One bulk action runs at a time.

- hosts.py, vms.py  what the panes' keys call: the host and the VM bulk actions
- confirm.py        what refuses before any question; the one confirmation, which starts the run
- radius.py         the blast radius the confirmation lists
- room.py           fitting those lists to the terminal (80x24 included)
- run.py            the confirmed run: items one at a time, "n of m", cancel, the summary; `Bulk`,
                    the app's one run at a time
"""

from __future__ import annotations

from tui.console.bulk.hosts import ask_bulk_drain, ask_bulk_state
from tui.console.bulk.run import Bulk, job_refused
from tui.console.bulk.vms import ask_bulk_vms

__all__ = ["Bulk", "ask_bulk_drain", "ask_bulk_state", "ask_bulk_vms", "job_refused"]
