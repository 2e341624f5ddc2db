"""Every key of the console in one place: id, key, description. Help and the palette read these.

Every key here is made with `key(...)`: a priority binding, so it acts while the app reads it, before
the next key of a burst is routed (a dialog it opens then receives the keys typed after it; see
tui/console/keyorder.py). A text field still takes its printable keys first: Textual never lets a
binding on a letter fire while an Input has focus.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding


def key(keys: str, action: str, description: str, *, id: str, **options: Any) -> Binding:
    """A console key: id for help, the palette and keymaps; priority (see the module docstring)."""
    return Binding(keys, action, description, id=id, priority=True, **options)


PANES: dict[str, str] = {
    "hosts": "Hosts",
    "profiles": "Profiles",
    "curves": "Curves",
    "vms": "VMs",
    "sim": "Simulation",
    "activity": "Activity",
}

APP_BINDINGS: list[Binding] = [
    key("colon", "command_line", "Command", id="app.command", key_display=":"),
    key("slash", "filter", "Filter", id="app.filter", key_display="/"),
    key("question_mark", "help", "Help", id="app.help", key_display="?"),
    key("escape", "back", "Back", id="app.back", key_display="esc"),
    key("1", "pane('hosts')", "Hosts", id="pane.hosts", show=False),
    key("2", "pane('profiles')", "Profiles", id="pane.profiles", show=False),
    key("3", "pane('curves')", "Curves", id="pane.curves", show=False),
    key("4", "pane('vms')", "VMs", id="pane.vms", show=False),
    key("5", "pane('sim')", "Simulation", id="pane.sim", show=False),
    key("6", "pane('activity')", "Activity", id="pane.activity", show=False),
    key("q", "quit", "Quit", id="app.quit"),
]

HOSTS_BINDINGS: list[Binding] = [
    key("enter", "details", "Details", id="hosts.details"),
    key("e", "set_state('enabled')", "Enable", id="hosts.enable"),
    key("n", "set_state('no-scheduling')", "No Sched", id="hosts.no_scheduling"),
    key("d", "set_state('disabled')", "Disable", id="hosts.disable"),
    key("r", "drain", "Drain", id="hosts.drain"),
    key("s", "start", "Start VM", id="hosts.start"),
    key("c", "check_host", "Check", id="hosts.check"),
]

# Host administration on the hosts pane (tui/console/hostadmin/): the same services as `vmdeck hosts
# add|edit|remove`, `vmdeck reconcile` and `vmdeck pools`. `e` is Enable, so edit is `E`.
HOSTADMIN_BINDINGS: list[Binding] = [
    key("a", "add_host", "Add host", id="hosts.add", show=False),  # the empty store's hint names it
    key("E", "edit_host", "Edit host", id="hosts.edit", key_display="E", show=False),
    key("delete", "remove_host", "Remove host", id="hosts.remove", key_display="del", show=False),
    key("R", "reconcile", "Reconcile VMs", id="hosts.reconcile", key_display="R", show=False),
    key("p", "pools_check", "Check pools", id="hosts.pools_check", show=False),
    key("P", "pools_create", "Create pools", id="hosts.pools_create", key_display="P", show=False),
]
HOSTADMIN_MUTATING_IDS = frozenset(
    {"hosts.add", "hosts.edit", "hosts.remove", "hosts.reconcile", "hosts.pools_create"}
)

# VM actions act on the selected row; `vm(kind)` names the flow in tui/console/vmactions.py or
# tui/console/vmlife_actions.py. `s` on a shut-off VM powers it on; `m` on a shut-off VM moves it cold.
VMS_BINDINGS: list[Binding] = [
    key("enter", "details", "Details", id="vms.details"),
    key("s", "start", "Start VM", id="vms.start"),
    key("x", "vm('stop')", "Stop", id="vms.stop"),
    key("k", "vm('destroy')", "Destroy", id="vms.destroy"),
    key("m", "vm('migrate')", "Migrate", id="vms.migrate"),
    key("c", "vm('scale')", "Scale", id="vms.scale"),
    key("b", "vm('reboot')", "Reboot", id="vms.reboot", show=False),
    key("z", "vm('suspend')", "Suspend", id="vms.suspend", show=False),
    key("u", "vm('resume')", "Resume", id="vms.resume", show=False),
    key("o", "vm('console')", "Console", id="vms.console"),
    key("p", "vm('power_on')", "Power on", id="vms.power_on", show=False),
    key("a", "vm('autostart')", "Autostart", id="vms.autostart", show=False),
    key("D", "vm('undefine')", "Undefine", id="vms.undefine", key_display="D", show=False),
    key("v", "vm('display')", "Display cmd", id="vms.display", show=False),
]

# Every table (hosts, profiles, VMs) sorts the same way (tui/console/panes/base.py TablePane): `>` and `<`
# move the sort to the next or previous column (after the last: unsorted), `!` reverses it. These
# three are free on every pane and in the what-if lab, and work alike in any keyboard layout that
# has them, where shift+letter per column would take letters the panes already use (D, and more later).
SORT_BINDINGS: list[Binding] = [
    key(
        "greater_than_sign", "sort(1)", "Sort next column", id="table.sort_next", key_display=">", show=False
    ),
    key(
        "less_than_sign",
        "sort(-1)",
        "Sort previous column",
        id="table.sort_prev",
        key_display="<",
        show=False,
    ),
    key(
        "exclamation_mark",
        "sort_reverse",
        "Reverse sort",
        id="table.sort_reverse",
        key_display="!",
        show=False,
    ),
]

# The Activity pane (tui/console/panes/activity.py): arrows, pgup/pgdn, home/end move in the list. Enter is
# not a priority key here: it must wait behind the arrow keys typed before it (routed to the list),
# or "down down enter" typed fast opens the first entry instead of the third.
ACTIVITY_BINDINGS: list[Binding] = [
    Binding("enter", "details", "Details", id="activity.details"),
]

# Marks and bulk actions (tui/console/panes/tablemarks.py, tui/console/bulk/). space marks or unmarks the
# selected row and moves down; `*` (or ctrl+a) marks every row the filter shows, pressed again it
# unmarks them; esc clears the marks before it clears the filter or goes back. While rows are marked,
# the pane's action keys act on all of them: one reason, one confirmation listing the hosts and VMs
# affected, then one item after another with "n of m" on the status line; ctrl+c stops starting new
# items (the running one finishes). ctrl+c quits nothing (q quits), like in the rest of Textual.
MARK_BINDINGS: list[Binding] = [
    key("space", "toggle_mark", "Mark / unmark row", id="table.mark", key_display="space", show=False),
    key(
        "asterisk,ctrl+a",
        "mark_all",
        "Mark all shown rows",
        id="table.mark_all",
        key_display="* ctrl+a",
        show=False,
    ),
]
BULK_BINDINGS: list[Binding] = [
    key(
        "ctrl+c", "cancel_bulk", "Cancel bulk action", id="app.cancel_bulk", key_display="ctrl+c", show=False
    ),
]

PROFILES_BINDINGS: list[Binding] = [
    key("enter", "details", "Details", id="profiles.details"),
]

# Keys that change the fleet: the key bar does not offer them in read-only mode (pressed anyway,
# they still say why they are refused: the one read-only rule lives in the action path).
MUTATING_IDS: frozenset[str] = (
    frozenset(
        {
            "hosts.enable",
            "hosts.no_scheduling",
            "hosts.disable",
            "hosts.drain",
            "hosts.start",
            "vms.start",
            "vms.stop",
            "vms.destroy",
            "vms.migrate",
            "vms.scale",
            "vms.reboot",
            "vms.suspend",
            "vms.resume",
            "vms.power_on",
            "vms.autostart",
            "vms.undefine",
            "vmdetail.snapshot",
            "vmdetail.revert",
            "vmdetail.delete_snapshot",
        }
    )
    | HOSTADMIN_MUTATING_IDS
)

# Kept on the key bar at any width: the way out and the way to every other key.
ESSENTIAL_IDS: frozenset[str] = frozenset({"app.help", "app.quit"})

# Keys the help screen lists that belong to Textual itself.
BUILTIN_KEYS: list[tuple[str, str]] = [
    ("ctrl+p", "Command palette: every action, searchable"),
    ("tab / shift+tab", "Move focus"),
    ("arrows, pgup/pgdn, home/end", "Move in tables and scroll"),
]


def describe(binding: Binding) -> tuple[str, str]:
    """(key as shown, description) for the help screen."""
    return binding.key_display or binding.key, binding.description
