"""The VMs pane: every VM across hosts with host, state, vCPUs, memory, devices and its address.

The address goes through the host's static address translation: NAT IP and base port + the last
octet of the VM's IP (the VM's IP comes from the host's DHCP leases, read by the poller).

Keys act on the selected VM: x stop (graceful; force is offered when it times out), k destroy,
m migrate (a shut-off VM moves cold), c scale, b reboot, z suspend, u resume, p power on, a autostart,
D undefine, o serial console, v display command, Enter its detail; s starts a new VM through the
scheduler (on a shut-off VM: powers it on). Each change asks for a reason and confirms.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from textual import work
from textual.app import App, SuspendNotSupported
from textual.binding import BindingType
from textual.widgets import DataTable

from tui.console.actionchecks import refusal
from tui.console.bulk import ask_bulk_vms
from tui.console.fleetview import VM_VALUES, FleetView, VmRow, vm_row
from tui.console.keymap import VMS_BINDINGS
from tui.console.messages import ActionRefused
from tui.console.modewarm import warm_screen
from tui.console.panes.base import TablePane
from tui.console.session import Session
from tui.console.sorting import SortValue
from tui.console.vmactions import ask_destroy, ask_migrate, ask_scale, ask_start, ask_stop
from tui.console.vmdetail import VmDetailScreen
from tui.console.vmlife_actions import (
    ask_autostart,
    ask_cold_migrate,
    ask_power_on,
    ask_reboot,
    ask_resume,
    ask_suspend,
    confirm_undefine,
    undefine_refusal,
)
from tui.core.hosts import HostRecord
from tui.core.live import DomainFacts, DomainState
from tui.core.printable import printable
from tui.services.actions import storage_of
from tui.services.actions.serialconsole import attach_console, console_refusal, display_command
from tui.services.actions.vminfo import domain_xml

VmAsk = Callable[[App[None], FleetView, Session, str, DomainFacts], None]
ASKS: dict[str, VmAsk] = {
    "stop": ask_stop,
    "destroy": ask_destroy,
    "migrate": ask_migrate,
    "scale": ask_scale,
    "reboot": ask_reboot,
    "suspend": ask_suspend,
    "resume": ask_resume,
    "power_on": ask_power_on,
    "autostart": ask_autostart,
}

NO_VM = DomainFacts("", "", DomainState.SHUTOFF, 0, 0, 0)  # what the detail screen is built with


class VmsPane(TablePane):
    PANE = "vms"
    TITLE_TEXT = "VMs"
    BINDINGS: ClassVar[list[BindingType]] = [*VMS_BINDINGS]
    PANE_BINDINGS = VMS_BINDINGS
    KEEP_UNSHOWN = True  # ten rows per host: computing them all when first shown took seconds
    KEEP_SORT_KEYS = True  # a row's raw values (VmRow) change only with the row
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
        self._vm_rows: dict[str, VmRow] = {}  # key -> the row's raw values (sorting, marks)
        # What each row was built from (`vm_row`): key -> the VM's facts, host -> its record. A row
        # whose two are unchanged is skipped by `rows_of_hosts`: a host's snapshot changes when one of
        # its VMs does, and rebuilding its other nine rows was most of a batch's cost.
        self._facts: dict[str, DomainFacts] = {}
        self._built_for: dict[str, HostRecord] = {}
        self._detail: VmDetailScreen | None = None  # built once, shown for each VM (vmdetail.py)

    def build(self) -> None:
        super().build()
        if self._detail is None and self.app.is_running:
            # Built now, before any VM is polled, with no VM and no store (nothing is read):
            # `show` gives it the VM Enter is on.
            self._detail = VmDetailScreen(self.view, self.session, None, "", NO_VM)
            warm_screen(self.app, self._detail, f"vm-detail-{id(self)}")

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        self._owner, self._vm_rows, self._facts, self._built_for = {}, {}, {}, {}
        rows = {}
        for name, record in self.view.records.items():
            self._built_for[name] = record
            for dom in self.view.domains(name):
                row = vm_row(name, record, dom)
                rows[row.key] = row.cells()
                self._vm_rows[row.key] = row
                self._facts[row.key] = dom
                self._owner.setdefault(name, set()).add(row.key)
        return rows

    def model_order(self) -> list[str]:
        view = self.view  # the keys of all_rows(), in its order, without building the rows
        return [f"{name}/{dom.uuid}" for name in view.records for dom in view.domains(name)]

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        """(rows built again, keys gone): only the VMs whose facts or host record changed."""
        rows: dict[str, tuple[str, ...]] = {}
        gone: set[str] = set()
        touched: list[str] = []  # keys whose raw values changed (the kept sort keys are stale there)
        for name in names:
            before = self._owner.pop(name, set())
            keys = self._host_rows(name, before, rows, touched)
            if keys:
                self._owner[name] = keys
            for key in before - keys:
                gone.add(key)
                touched.append(key)
                self._vm_rows.pop(key, None)
                self._facts.pop(key, None)
        if self._kept_keys:
            self._keys_touched(touched)
        return rows, gone

    def _host_rows(
        self, name: str, before: set[str], rows: dict[str, tuple[str, ...]], touched: list[str]
    ) -> set[str]:
        """Build into `rows` the rows of host `name` that changed; returns all its rows' keys."""
        record = self.view.records.get(name)
        if record is None:
            self._built_for.pop(name, None)
            return set()
        same_record = self._built_for.get(name) is record
        self._built_for[name] = record
        vm_rows, facts, keys = self._vm_rows, self._facts, set()
        for dom in self.view.domains(name):
            key = f"{name}/{dom.uuid}"
            keys.add(key)
            was = facts.get(key)
            if same_record and was is not None and key in before and _same_facts(was, dom):
                continue  # built from these very facts: the same row
            row = vm_row(name, record, dom)
            rows[key] = row.cells()
            if vm_rows.get(key) != row:
                touched.append(key)
            vm_rows[key] = row
            facts[key] = dom
        return keys

    def sort_value(self, key: str, column: int) -> SortValue:
        return VM_VALUES[column](self._vm_rows[key])

    def column_values(self, column: int) -> Iterable[SortValue]:
        return map(VM_VALUES[column], map(self._vm_rows.__getitem__, self._rows))

    def header_text(self) -> str:
        total = self.view.domain_count()
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

    def mark_name(self, key: str) -> str:
        return self._vm_rows[key].name  # a VM's mark follows it to another host

    def marked_vms(self) -> list[tuple[str, DomainFacts]]:
        """(host, facts) of each marked VM as last polled; a VM shown on two hosts (migrating) once,
        where it holds resources."""
        found: dict[str, tuple[str, DomainFacts]] = {}
        for key in self.marked_keys():
            row = self._vm_rows[key]
            facts = next((d for d in self.view.domains(row.host) if d.uuid == row.uuid), None)
            if facts is not None and (row.name not in found or facts.state.holds_resources):
                found[row.name] = (row.host, facts)
        return list(found.values())

    def action_vm(self, kind: str) -> None:
        if self.marks:
            ask_bulk_vms(self.app, self.view, self.session, kind, self.marked_vms(), self.clear_marks)
            return
        selected = self.selected_vm()
        if selected is None:
            self.app.notify("No VM selected (VMs pane, arrows to choose one)", severity="warning")
            return
        host, vm = selected
        if kind == "migrate" and not vm.state.holds_resources:
            kind = "cold_migrate"  # nothing runs: the definition moves
        special = {
            "cold_migrate": lambda: ask_cold_migrate(self.app, self.view, self.session, host, vm),
            "undefine": lambda: self._undefine(host, vm),
            "console": lambda: self._serial_console(host, vm),
            "display": lambda: self._display(host, vm),
        }
        if kind in special:
            special[kind]()
            return
        ASKS[kind](self.app, self.view, self.session, host, vm)

    def action_details(self) -> None:
        selected = self.selected_vm()
        if selected is not None and self.app.screen is self:
            self.open_detail(self._detail_screen(*selected))

    def _detail_screen(self, host: str, vm: DomainFacts) -> VmDetailScreen:
        """The one VM detail screen, showing this VM; built (and mounted in the background) once."""
        deck = getattr(self.app, "deck", None)
        screen = self._detail
        if screen is None:
            screen = self._detail = VmDetailScreen(self.view, self.session, deck, host, vm)
            warm_screen(self.app, screen, f"vm-detail-{id(self)}")
        else:
            screen.show(deck, host, vm)
        return screen

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table owns enter (select row): selecting a VM opens its detail
        self.action_details()

    # --- the flows that read the host first (off the UI loop) -------------------------------------------
    def _refuse(self, label: str, why: str, host: str | None = None) -> None:
        self.app.post_message(ActionRefused(label, why, host))

    def _undefine(self, host: str, vm: DomainFacts) -> None:
        why = undefine_refusal(self.view, self.session, host, vm)
        if why is not None:
            self._refuse(f"undefine {vm.name}", why, host)
            return
        deck = getattr(self.app, "deck", None)
        if deck is None:
            self._refuse(f"undefine {vm.name}", "no store: this console cannot act", host)
            return
        self._read_storage(deck, host, vm.name)

    @work(thread=True, exclusive=True, group="vm-read")
    def _read_storage(self, deck: Any, host: str, name: str) -> None:
        """Worker: the volumes an undefine would delete, then the confirmation that lists them."""
        try:
            _, doomed = storage_of(deck, name, host)
        except Exception as exc:  # Refused / Failed / libvirtError: the reason is the message
            self._refuse(f"undefine {name}", _message(exc), host)
            return
        self.app.call_from_thread(confirm_undefine, self.app, host, name, doomed)

    def _display(self, host: str, vm: DomainFacts) -> None:
        deck = getattr(self.app, "deck", None)
        if deck is None:
            self._refuse(f"display {vm.name}", "no store: this console cannot read the domain", host)
            return
        self._read_display(deck, host, vm.name)

    @work(thread=True, exclusive=True, group="vm-read")
    def _read_display(self, deck: Any, host: str, name: str) -> None:
        try:
            where, xml = domain_xml(deck, name, host)
            lines = display_command(deck.host(where), name, xml)
        except Exception as exc:
            self._refuse(f"display {name}", _message(exc), host)
            return
        text = "\n".join(printable(line) for line in lines)
        self.app.call_from_thread(self.app.notify, text, title=f"Display of {name}", timeout=30, markup=False)

    def _serial_console(self, host: str, vm: DomainFacts) -> None:
        """Hand the terminal to the VM's serial console (ctrl+] comes back to this pane)."""
        label = f"console {vm.name}"
        why = refusal(self.view, self.session, host) or console_refusal(vm.name, vm.state)
        deck = getattr(self.app, "deck", None)
        if why is None and deck is None:
            why = "no store: this console cannot attach"
        if why is not None or deck is None:
            self._refuse(label, why or "no store", host)
            return
        try:
            # The app is suspended: this handler owns the terminal until ctrl+] (App.suspend's contract).
            with self.app.suspend(), _terminal() as (fd_in, fd_out):
                outcome = attach_console(deck, vm.name, host=host, in_fd=fd_in, out_fd=fd_out)
        except SuspendNotSupported:
            self._refuse(
                label, f"this terminal cannot be handed over: run `vmdeck vms console {vm.name}`", host
            )
            return
        self.app.notify(outcome.message, title=f"{outcome.result.value} {outcome.action}", markup=False)

    def action_start(self) -> None:
        selected = self.selected_vm()
        if selected is not None and not selected[1].state.holds_resources:
            ask_power_on(self.app, self.view, self.session, *selected)  # s on a shut-off VM powers it on
            return
        ask_start(
            self.app, self.view, self.session, self.view.records[selected[0]].realm if selected else None
        )


def _same_facts(was: DomainFacts, now: DomainFacts) -> bool:
    # A poller builds new facts each poll (CPU time moves): identity first, then what a row shows.
    return was is now or was.visible() == now.visible()


def _message(exc: Exception) -> str:
    text = getattr(exc, "get_error_message", None)
    return str(text() if callable(text) else exc)


@contextlib.contextmanager
def _terminal() -> Iterator[tuple[int, int]]:
    """The controlling terminal (what the app was drawn on), else stdin/stdout."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        yield 0, 1
        return
    try:
        yield fd, fd
    finally:
        os.close(fd)
