"""The profile detail screen (Enter on the Profiles pane): its devices, its cost function term by term
(each curve as the config would write it), and the hosts of that profile with their state and cost.
Everything comes from the loaded config and the last poll: nothing is read from a host."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.console.fleetview import FleetView
from tui.console.widgets.keybar import KeyBar
from tui.core.costs import format_cost
from tui.core.units import format_size
from tui.core.whatif.hocon_export import curve_text


class ProfileDetailScreen(Screen[None]):
    BINDINGS = [Binding("escape", "close", "Back", id="profiledetail.back")]

    def __init__(self, view: FleetView, profile: str) -> None:
        super().__init__(id="profile-detail")
        self.view, self.profile = view, profile

    def compose(self) -> ComposeResult:
        yield Static(self._summary(), id="pd-summary", markup=False)
        yield DataTable(id="pd-devices", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="pd-terms", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="pd-hosts", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        config = self.view.config
        profile = config.hardware_profiles[self.profile]
        devices = self.query_one("#pd-devices", DataTable)
        devices.add_columns("Device type", "PCI address")
        for d in sorted(profile.devices, key=lambda d: (d.type, d.addr)):
            devices.add_row(d.type, d.addr)
        if not profile.devices:
            devices.add_row("(none)", "")
        terms = self.query_one("#pd-terms", DataTable)
        terms.add_columns("Term", "Curve")
        cf = config.cost_functions.get(profile.cost_function)
        if cf is None:
            terms.add_row("-", f"cost function {profile.cost_function!r} is missing from the config")
        else:
            for name, curve in (("vms", cf.vms), ("vcpus", cf.vcpus), ("memory", cf.memory)):
                terms.add_row(
                    name,
                    " ".join(curve_text(curve, memory=name == "memory").split()) if curve else "none (0)",
                )
            for kind, curve in cf.devices.items():
                terms.add_row(f"devices.{kind}", " ".join(curve_text(curve).split()))
            terms.add_row("scale", format_cost(cf.scale))
            terms.add_row("offset", format_cost(cf.offset))
        hosts = self.query_one("#pd-hosts", DataTable)
        hosts.add_columns("Host", "State", "Connection", "VMs", "vCPUs", "Memory", "Cost now")
        for name, record in self.view.records.items():
            if record.profile != self.profile:
                continue
            alloc = self.view.allocation(name)
            breakdown = self.view.breakdown(name)
            hosts.add_row(
                name,
                record.state.label,
                self.view.status(name).value,
                str(alloc.vms) if alloc else "-",
                f"{alloc.vcpus}/{alloc.cores}" if alloc else "-",
                format_size(alloc.memory) if alloc else "-",
                format_cost(breakdown.total) if breakdown else "-",
            )

    def _summary(self) -> str:
        config = self.view.config
        p = config.hardware_profiles[self.profile]
        cf = config.cost_functions.get(p.cost_function)
        count = sum(1 for r in self.view.records.values() if r.profile == self.profile)
        lines = [
            f"Profile {p.id} ({p.name}): {p.cores} cores, {format_size(p.memory)}, {len(p.devices)} device(s)",
            f"Cost function {p.cost_function}" + (f" ({cf.name}): {cf.description}" if cf else " (MISSING)"),
            f"{count} host(s) of this profile",
        ]
        if p.description:
            lines.insert(1, p.description)
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
