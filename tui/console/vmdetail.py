"""The VM detail screen (Enter on the VMs pane): everything `vmdeck vms info` knows, in tabs.

Overview (state and host, vCPUs and memory current/maximum, autostart, console and display, disks
with pool, volume, size and cache mode, NICs with MAC, address and the static-address-translation
endpoint, PCI devices), Snapshots (t take, r revert, D delete the selected one), the domain XML
(scrollable, highlighted) and the VM's audit history. The facts are read from the host in a thread
worker (`vm_info`, bounded libvirt calls); until they arrive — or without a store to act through —
the screen shows what the last poll knew. g reads everything again.

The VMs pane builds one screen and shows it for each VM (`show`: every part back to how a new
screen starts, then this VM's facts), installed so that closing it keeps it mounted: building
its hundred or so widgets (tabs, four tables) cost most of an Enter (~70 ms of CPU at any fleet
size). An answer from the host for a VM shown before is dropped (`Loaded.shown`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from tui.console.fleetview import FleetView, vm_address
from tui.console.modewarm import closing
from tui.console.session import Session
from tui.console.vmlife_actions import ask_delete_snapshot, ask_revert, ask_snapshot
from tui.console.widgets.keybar import KeyBar
from tui.core.live import DomainFacts
from tui.core.printable import printable
from tui.core.units import format_size
from tui.services.actions.deck import Deck
from tui.services.actions.vminfo import VmInfo, vm_info

VMDETAIL_BINDINGS: list[Binding] = [
    Binding("escape", "close", "Back", id="vmdetail.back"),
    Binding("t", "snapshot", "Snapshot", id="vmdetail.snapshot"),
    Binding("r", "revert", "Revert", id="vmdetail.revert"),
    Binding("D", "delete_snapshot", "Delete snap", id="vmdetail.delete_snapshot", key_display="D"),
    Binding("g", "reload", "Reload", id="vmdetail.reload"),
]


XML_PENDING = "(reading the domain XML…)"
TABLE_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("#vmd-disks", ("Disk", "Pool", "Volume", "Size", "Cache", "Format")),
    ("#vmd-nics", ("NIC", "MAC", "Network", "Address", "Endpoint")),
    ("#vmd-snapshots", ("Snapshot", "Kind", "VM state", "Created", "Description")),
    ("#vmd-history", ("When", "What", "Result", "Who", "Reason")),
)


class VmDetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*VMDETAIL_BINDINGS]

    @dataclass
    class Loaded(Message):
        """The host answered (posted from the worker thread): the facts, or why there are none."""

        info: VmInfo | None
        error: str | None = None
        shown: int = 0  # which `show` it answers (`VmDetailScreen.shown`): older answers are dropped

    def __init__(
        self, view: FleetView, session: Session, deck: Deck | None, host: str, vm: DomainFacts
    ) -> None:
        super().__init__(id="vm-detail")
        self.view, self.session, self.deck, self.host, self.vm = view, session, deck, host, vm
        self.info: VmInfo | None = None
        self.shown = 0  # how many times `show` gave it a VM
        self._relayout = False  # shown anew since it was last on screen: lay it out as it resumes

    def show(self, deck: Deck | None, host: str, vm: DomainFacts) -> None:
        """Show this VM: every part as a new screen starts (the Overview tab, empty tables, the
        last poll's summary), then its facts read again. Called before the screen is pushed."""
        self.deck, self.host, self.vm, self.info = deck, host, vm, None
        self.shown += 1
        if not self.is_mounted:
            return  # compose and on_mount draw it from these
        first = next((w for w in self.query("*") if w.focusable), None)
        if self.focused is not first:
            self.set_focus(None)  # the push focuses what a new screen focuses first
        self.query_one("#vmd-tabs", TabbedContent).active = "vmd-tab-overview"
        # The texts change without a layout each: the whole screen is laid out once as it is
        # shown (`on_screen_resume`), in its first frame, not in a second one after it.
        self._relayout = True
        self.query_one("#vmd-summary", Static).update(self._polled_summary(), layout=False)
        self.query_one("#vmd-pci", Static).update(self._pci_text(self.vm.hostdevs), layout=False)
        self.query_one("#vmd-xml", Static).update(XML_PENDING, layout=False)
        self.query_one("#vmd-xml-scroll", VerticalScroll).scroll_home(animate=False)
        self._new_tables()
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self._relayout:
            self._relayout = False
            self.refresh(layout=True)

    def compose(self) -> ComposeResult:
        yield Static(self._polled_summary(), id="vmd-summary", markup=False)
        with TabbedContent(id="vmd-tabs"):
            with TabPane("Overview", id="vmd-tab-overview"):
                yield DataTable(id="vmd-disks", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="vmd-nics", cursor_type="row", zebra_stripes=True)
                yield Static(self._pci_text(self.vm.hostdevs), id="vmd-pci", markup=False)
            with TabPane("Snapshots", id="vmd-tab-snapshots"):
                yield DataTable(id="vmd-snapshots", cursor_type="row", zebra_stripes=True)
            with TabPane("XML", id="vmd-tab-xml"), VerticalScroll(id="vmd-xml-scroll"):
                yield Static(XML_PENDING, id="vmd-xml")
            with TabPane("History", id="vmd-tab-history"):
                yield DataTable(id="vmd-history", cursor_type="row", zebra_stripes=True)
        yield Static("", id="vmd-status", markup=False)
        yield KeyBar(read_only=self.session.read_only)

    def on_mount(self) -> None:
        if closing(self.app):
            return
        self._new_tables()
        self.action_reload()

    def _new_tables(self) -> None:
        """The four tables as a new screen has them: no rows, columns as wide as their labels (a
        VM shown before widened its columns to fit its cells)."""
        for selector, labels in TABLE_COLUMNS:
            table = self.query_one(selector, DataTable)
            if table.columns or table.row_count:
                table.clear(columns=True)
            table.add_columns(*labels)

    # --- loading ---------------------------------------------------------------------------------------
    def action_reload(self) -> None:
        if self.deck is None:
            self._status("No store: details beyond the last poll need the live connection (--db)")
            return
        self._status(f"Reading {self.vm.name} from {self.host}…")
        self._load(self.deck)

    def _load(self, deck: Deck) -> None:
        self._read(deck, self.host, self.vm.uuid, self.shown)

    @work(thread=True, exclusive=True, group="vm-detail")
    def _read(self, deck: Deck, host: str, uuid: str, shown: int) -> None:
        try:
            self.post_message(self.Loaded(vm_info(deck, uuid, host), shown=shown))
        except Exception as exc:  # Refused, Failed, libvirtError: say it on the screen
            message = getattr(exc, "get_error_message", None)
            self.post_message(self.Loaded(None, message() if callable(message) else str(exc), shown))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.shown != self.shown:
            return  # read for a VM this screen showed before
        if message.info is None:
            self._status(f"Could not read {self.vm.name}: {printable(message.error)}")
            return
        self.info = message.info
        self._fill(message.info)
        self._status(f"Read from {message.info.host} · g reloads")

    def _fill(self, info: VmInfo) -> None:
        self.query_one("#vmd-summary", Static).update(summary(info))
        disks = self.query_one("#vmd-disks", DataTable)
        disks.clear()
        for d in info.disks:
            size = format_size(d.capacity) if d.capacity is not None else "-"
            disks.add_row(
                d.target,
                printable(d.pool or "-"),
                printable(d.volume or d.path or "-"),
                size,
                d.cache,
                d.format,
            )
        nics = self.query_one("#vmd-nics", DataTable)
        nics.clear()
        for i, n in enumerate(info.nics):
            nics.add_row(str(i), n.mac, printable(n.network or "-"), n.address or "-", n.endpoint or "-")
        self.query_one("#vmd-pci", Static).update(self._pci_text(info.pci))
        snaps = self.query_one("#vmd-snapshots", DataTable)
        snaps.clear()
        for s in info.snapshots:
            when = dt.datetime.fromtimestamp(s.created, dt.UTC).strftime("%Y-%m-%d %H:%M")
            name = printable(s.name) + (" *" if s.current else "")
            snaps.add_row(name, s.kind.value, s.state, when, printable(s.description), key=s.name)
        self.query_one("#vmd-xml", Static).update(
            Syntax(info.xml, "xml", theme="ansi_dark", line_numbers=True)
        )
        history = self.query_one("#vmd-history", DataTable)
        history.clear()
        for h in info.history:
            after = h["after"] if isinstance(h["after"], dict) else {}
            who = h["who"].get("user", "?") if isinstance(h["who"], dict) else "?"
            history.add_row(
                h["when"][:19],
                h["what"],
                str(after.get("result", "")),
                printable(who),
                printable(h.get("reason") or ""),
            )

    # --- snapshot keys ---------------------------------------------------------------------------------
    def _selected_snapshot(self) -> str | None:
        table = self.query_one("#vmd-snapshots", DataTable)
        if self.info is None or not self.info.snapshots or table.row_count == 0:
            self.notify("No snapshot selected (Snapshots tab)", severity="warning")
            return None
        row = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(row.value) if row.value is not None else None

    def action_snapshot(self) -> None:
        ask_snapshot(self.app, self.session, self.view, self.host, self.vm.name)

    def action_revert(self) -> None:
        snap = self._selected_snapshot()
        if snap is not None:
            ask_revert(self.app, self.session, self.view, self.host, self.vm.name, snap)

    def action_delete_snapshot(self) -> None:
        snap = self._selected_snapshot()
        if snap is not None:
            ask_delete_snapshot(self.app, self.session, self.view, self.host, self.vm.name, snap)

    def action_close(self) -> None:
        self.dismiss(None)

    # --- text --------------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.query_one("#vmd-status", Static).update(text, layout=not self._relayout)

    @staticmethod
    def _pci_text(devices: tuple[str, ...] | list[str]) -> str:
        return "PCI devices: " + (", ".join(devices) or "none")

    def _polled_summary(self) -> str:
        vm, record = self.vm, self.view.records.get(self.host)
        address = vm_address(record, vm.address, vm.state.holds_resources) if record else "-"
        return (
            f"VM {printable(vm.name)} ({vm.uuid}) on {self.host}: {vm.state.value}\n"
            f"vCPUs {vm.vcpus} · memory {format_size(vm.memory)} of {format_size(vm.max_memory)} · "
            f"address {address} (as last polled)"
        )


def summary(info: VmInfo) -> str:
    display = ", ".join(f"{g['type']} on {g['listen']}:{g['port']}" for g in info.graphics) or "none"
    return (
        f"VM {printable(info.name)} ({info.uuid}) on {info.host}: {info.state}\n"
        f"vCPUs {info.vcpus} of {info.max_vcpus} · memory {format_size(info.memory)} of "
        f"{format_size(info.max_memory)} · autostart {'on' if info.autostart else 'off'}\n"
        f"serial console {'yes (o on the VMs pane)' if info.console else 'no'} · display {display} · "
        f"{len(info.snapshots)} snapshot(s)"
    )
