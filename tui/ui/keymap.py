"""Every key of the console in one place: id, key, description. Help and the palette read these."""

from __future__ import annotations

from textual.binding import Binding

PANES: dict[str, str] = {
    "hosts": "Hosts",
    "profiles": "Profiles",
    "curves": "Curves",
    "vms": "VMs",
    "sim": "Simulation",
}

APP_BINDINGS: list[Binding] = [
    Binding("colon", "command_line", "Command", id="app.command", key_display=":"),
    Binding("slash", "filter", "Filter", id="app.filter", key_display="/"),
    Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
    Binding("escape", "back", "Back", id="app.back", key_display="esc"),
    Binding("1", "pane('hosts')", "Hosts", id="pane.hosts", show=False),
    Binding("2", "pane('profiles')", "Profiles", id="pane.profiles", show=False),
    Binding("3", "pane('curves')", "Curves", id="pane.curves", show=False),
    Binding("4", "pane('vms')", "VMs", id="pane.vms", show=False),
    Binding("5", "pane('sim')", "Simulation", id="pane.sim", show=False),
    Binding("q", "quit", "Quit", id="app.quit"),
]

HOSTS_BINDINGS: list[Binding] = [
    Binding("enter", "details", "Details", id="hosts.details"),
    Binding("e", "set_state('enabled')", "Enable", id="hosts.enable"),
    Binding("n", "set_state('no-scheduling')", "No Sched", id="hosts.no_scheduling"),
    Binding("d", "set_state('disabled')", "Disable", id="hosts.disable"),
    Binding("r", "drain", "Drain", id="hosts.drain"),
    Binding("s", "start", "Start VM", id="hosts.start"),
    Binding("c", "check_host", "Check", id="hosts.check"),
]

# VM actions act on the selected row; `vm(kind)` names the flow in tui/ui/vmactions.py or
# tui/ui/vmlife_actions.py. `s` on a shut-off VM powers it on; `m` on a shut-off VM moves it cold.
VMS_BINDINGS: list[Binding] = [
    Binding("enter", "details", "Details", id="vms.details"),
    Binding("s", "start", "Start VM", id="vms.start"),
    Binding("x", "vm('stop')", "Stop", id="vms.stop"),
    Binding("k", "vm('destroy')", "Destroy", id="vms.destroy"),
    Binding("m", "vm('migrate')", "Migrate", id="vms.migrate"),
    Binding("c", "vm('scale')", "Scale", id="vms.scale"),
    Binding("b", "vm('reboot')", "Reboot", id="vms.reboot", show=False),
    Binding("z", "vm('suspend')", "Suspend", id="vms.suspend", show=False),
    Binding("u", "vm('resume')", "Resume", id="vms.resume", show=False),
    Binding("o", "vm('console')", "Console", id="vms.console"),
    Binding("p", "vm('power_on')", "Power on", id="vms.power_on", show=False),
    Binding("a", "vm('autostart')", "Autostart", id="vms.autostart", show=False),
    Binding("D", "vm('undefine')", "Undefine", id="vms.undefine", key_display="D", show=False),
    Binding("v", "vm('display')", "Display cmd", id="vms.display", show=False),
]

PROFILES_BINDINGS: list[Binding] = [
    Binding("enter", "details", "Details", id="profiles.details"),
]

# Keys the help screen lists that belong to Textual itself.
BUILTIN_KEYS: list[tuple[str, str]] = [
    ("ctrl+p", "Command palette: every action, searchable"),
    ("tab / shift+tab", "Move focus"),
    ("arrows, pgup/pgdn, home/end", "Move in tables and scroll"),
]


def describe(binding: Binding) -> tuple[str, str]:
    """(key as shown, description) for the help screen."""
    key = binding.key_display or binding.key
    return key, binding.description
