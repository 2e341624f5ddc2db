"""Host administration in the console: add, edit, remove, reconcile, and the realm's pools.

The same services as `vmdeck hosts add|edit|remove`, `vmdeck reconcile` and `vmdeck pools` do the
work (tui/services/hostadmin.py, tui/services/actions/pools.py); this module only asks. Every change
asks for a reason, is confirmed, and runs as an ordinary action job on the app's Deck (off the UI
loop, shown on the status line, audited by the store); read-only mode refuses before any question.

Adding a host, or changing its URI, checks the URI twice before saving: the CLI's rules (no `ext`,
no `command=`, sockets only in the allow-list) while typing, then a real, bounded, read-only
connection made by a worker of the dialog, whose result is shown before the question. A failed
connection does not refuse the save: the question then says so and y saves anyway. Why: admins
register hosts before they are reachable (racked but not cabled, ssh key not yet installed), the
CLI saves without connecting, and a Disabled host is never connected at all; refusing would push
them to the CLI. The answer is the admin's, with the failure in front of them.

Modules: common (refusal, jobs), forms (add, edit), remove, reconcile, pools, pane.
`HostAdminPane` (pane.py) is the base of the hosts pane: its keys (tui/console/keymap.py HOSTADMIN_BINDINGS), the
workers that read what a question needs from the store first (so remove and reconcile are refused
or listed before any question), and the empty-store hint.
"""

from __future__ import annotations

from tui.console.hostadmin.forms import HostFormScreen, ask_add_host, ask_edit_host
from tui.console.hostadmin.pane import ADD_FIRST_HOST, HostAdminPane, empty_hint, palette_actions
from tui.console.hostadmin.pools import ask_pools_check, ask_pools_create
from tui.console.hostadmin.reconcile import MarkedSelectionList, ReconcileScreen, ask_reconcile
from tui.console.hostadmin.remove import ask_remove_host

__all__ = [
    "ADD_FIRST_HOST",
    "HostAdminPane",
    "HostFormScreen",
    "MarkedSelectionList",
    "ReconcileScreen",
    "ask_add_host",
    "ask_edit_host",
    "ask_pools_check",
    "ask_pools_create",
    "ask_reconcile",
    "ask_remove_host",
    "empty_hint",
    "palette_actions",
]
