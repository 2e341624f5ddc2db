"""The VMs pane: every VM across hosts with host, state, vCPUs, memory, devices and its address.

The address goes through the host's static address translation: NAT IP and base port + the last
octet of the VM's IP (the VM's IP comes from the host's DHCP leases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tui.ui.panes.base import TablePane


class VmsPane(TablePane):
    PANE = "vms"
    TITLE_TEXT = "VMs"
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
