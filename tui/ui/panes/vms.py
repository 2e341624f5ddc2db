"""The VMs pane: every VM across hosts with host, state, vCPUs, memory, devices and its address.

The address goes through the host's static address translation: NAT IP and base port + the last
octet of the VM's IP (the VM's IP comes from the host's DHCP leases, read by the poller).

Keys act on the selected VM: x stop (graceful; force is offered when it times out), k destroy,
m migrate, c scale; s starts a new VM through the scheduler. Each asks for a reason and confirms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from textual.app import App
from textual.binding import BindingType

from tui.core.live import DomainFacts
from tui.ui.fleetview import FleetView
from tui.ui.keymap import VMS_BINDINGS
from tui.ui.panes.base import TablePane
from tui.ui.session import Session
from tui.ui.vmactions import ask_destroy, ask_migrate, ask_scale, ask_start, ask_stop

VmAsk = Callable[[App[None], FleetView, Session, str, DomainFacts], None]
ASKS: dict[str, VmAsk] = {
    "stop": ask_stop,
    "destroy": ask_destroy,
    "migrate": ask_migrate,
    "scale": ask_scale,
}


class VmsPane(TablePane):
    PANE = "vms"
    TITLE_TEXT = "VMs"
    BINDINGS: ClassVar[list[BindingType]] = [*VMS_BINDINGS]
    PANE_BINDINGS = VMS_BINDINGS
    COLUMNS = (
        ("VM", None),
        ("Host", None),
        ("State", 8),
        ("vCPU", 4),
        ("Memory", 8),
        ("Devices", None),
        ("Address", None),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner: dict[str, set[str]] = {}  # host -> its rows' keys, for incremental updates

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        self._owner = {}
        rows = {}
        for row in self.view.vm_rows():
            rows[row.key] = row.cells()
            self._owner.setdefault(row.host, set()).add(row.key)
        return rows

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        names = list(names)
        before: set[str] = set()
        for name in names:
            before |= self._owner.pop(name, set())
        rows = {}
        for row in self.view.vm_rows(n for n in names if n in self.view.records):
            rows[row.key] = row.cells()
            self._owner.setdefault(row.host, set()).add(row.key)
        return rows, before

    def header_text(self) -> str:
        total = sum(len(self.view.domains(n)) for n in self.view.records)
        shown = self.table.row_count if self.is_mounted else total
        return f"{shown} of {total} VMs shown" if self.filter.text else f"{total} VMs"

    def selected_vm(self) -> tuple[str, DomainFacts] | None:
        """(host, facts) of the VM under the cursor, as last polled."""
        if not self.is_mounted:
            return None
        key = self.selected_key()
        if key is None:
            return None
        host, _, uuid = key.partition("/")
        facts = next((d for d in self.view.domains(host) if d.uuid == uuid), None)
        return (host, facts) if facts is not None else None

    def action_vm(self, kind: str) -> None:
        selected = self.selected_vm()
        if selected is None:
            self.app.notify("No VM selected (VMs pane, arrows to choose one)", severity="warning")
            return
        ASKS[kind](self.app, self.view, self.session, *selected)

    def action_start(self) -> None:
        selected = self.selected_vm()
        ask_start(
            self.app, self.view, self.session, self.view.records[selected[0]].realm if selected else None
        )
