"""The hosts pane's administration part: its keys, the workers that read what a question needs from
the store first (so remove and reconcile refuse or list before any question), the empty-store hint,
and the command palette's entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static

from tui.console.actionchecks import busy
from tui.console.fleetview import FleetView
from tui.console.hostadmin.common import refuse
from tui.console.hostadmin.forms import ask_add_host, ask_edit_host
from tui.console.hostadmin.pools import ask_pools_check, ask_pools_create
from tui.console.hostadmin.reconcile import ask_reconcile
from tui.console.hostadmin.remove import ask_remove_host
from tui.console.jobs import Abandoned, detached
from tui.console.panes.base import TablePane
from tui.core.live import ManagedVm
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.services.hostadmin import (
    recorded_on,
)
from tui.services.store import StoreError

ADD_FIRST_HOST = "vmdeck hosts add NAME --uri URI --profile ID [--realm ID]"


def empty_hint(read_only: bool) -> str:
    """What the hosts pane says while the store has no host: how to add the first one."""
    cli = f"`{ADD_FIRST_HOST}` (or `vmdeck hosts import FILE` for many)"
    if read_only:
        return f"No hosts in this store yet. This console is read-only: add the first host with {cli}."
    return f"No hosts in this store yet. Press a to add the first host, or run {cli}."


class HostAdminPane(TablePane):
    """The hosts pane's administration keys, the store reads behind them, and the empty-store hint."""

    @dataclass
    class StoreRead(Message):
        """vmdeck's VM records, read by a worker for the question `purpose` ("remove" or "reconcile")."""

        purpose: str
        host: str | None
        managed: list[ManagedVm] | None
        error: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="hosts-empty", markup=False)
        yield from super().compose_body()

    def refresh_all(self) -> None:
        super().refresh_all()
        self.show_empty_hint()

    def update_rows(self, names: list[str]) -> None:
        super().update_rows(names)
        self.show_empty_hint()

    def show_empty_hint(self) -> None:
        hint = self.query_one("#hosts-empty", Static)
        empty = not self.view.records
        hint.display = empty
        if empty:
            hint.update(empty_hint(self.session.read_only))

    def _selected_host(self) -> str | None:
        host = self.selected_key()
        if host is None:
            self.notify("No host selected", severity="warning")
        return host

    def action_add_host(self) -> None:
        ask_add_host(self.app, self.view, self.session)

    def action_edit_host(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_edit_host(self.app, self.view, self.session, host)

    def action_remove_host(self) -> None:
        if (host := self._selected_host()) is not None:
            self.remove_host(host)

    def remove_host(self, host: str) -> None:
        """Read vmdeck's VMs first (a worker), then refuse or ask (the key and the palette)."""
        label = f"remove host {host}"
        why = READ_ONLY_MESSAGE if self.session.read_only else busy(self.app, "host", host)
        if why is not None:
            refuse(self.app, label, why, host)
            return
        self._read_managed("remove", host)

    def reconcile(self) -> None:
        if self.session.read_only:
            refuse(self.app, "reconcile", READ_ONLY_MESSAGE + " (`vmdeck reconcile` lists what differs)")
            return
        self._read_managed("reconcile", None)

    def action_reconcile(self) -> None:
        self.reconcile()

    def action_pools_check(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_pools_check(self.app, self.view, host)

    def action_pools_create(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_pools_create(self.app, self.view, self.session, host)

    def _read_managed(self, purpose: str, host: str | None) -> None:
        store = getattr(self.app, "store", None)
        if store is None:
            refuse(self.app, purpose, "no store: this console cannot act", host)
            return
        self._read_worker(store, purpose, host)

    @work(thread=True, group="hostadmin-read")
    def _read_worker(self, store: object, purpose: str, host: str | None) -> None:
        try:
            managed = detached(lambda: store.managed_vms())  # type: ignore[attr-defined]
        except Abandoned:
            return
        except (StoreError, OSError) as exc:
            self.post_message(self.StoreRead(purpose, host, None, str(exc)))
            return
        self.post_message(self.StoreRead(purpose, host, list(managed)))

    @on(StoreRead)
    def _store_read(self, message: StoreRead) -> None:
        label = f"{message.purpose} {message.host}" if message.host else message.purpose
        if message.managed is None:
            refuse(self.app, label, f"cannot read vmdeck's VM records: {message.error}", message.host)
        elif message.purpose == "remove" and message.host is not None:
            ask_remove_host(
                self.app, self.view, self.session, message.host, recorded_on(message.managed, message.host)
            )
        elif message.purpose == "reconcile":
            ask_reconcile(self.app, self.view, self.session, message.managed)


def palette_actions(pane: HostAdminPane, view: FleetView) -> list[tuple[str, str, Callable[[], object]]]:
    """The command palette's host administration entries (tui/console/palette.py lists them)."""
    app, session = pane.app, pane.session
    actions: list[tuple[str, str, Callable[[], object]]] = [
        (
            "Add a host",
            "a on the Hosts pane: name, URI (checked by connecting), profile, realm",
            partial(ask_add_host, app, view, session),
        ),
        (
            "Reconcile: adopt or forget VMs",
            "R on the Hosts pane: the list first, then choose",
            pane.reconcile,
        ),
    ]
    for host in view.records:
        actions += [
            (
                f"Edit host {host}",
                "E: URI, profile, realm, state, NAT (asks for a reason)",
                partial(ask_edit_host, app, view, session, host),
            ),
            (
                f"Remove host {host}",
                "del: refused while vmdeck's VMs run there",
                partial(pane.remove_host, host),
            ),
            (
                f"Check pools of host {host}",
                "p: do the realm's four pools exist, run and autostart?",
                partial(ask_pools_check, app, view, host),
            ),
            (
                f"Create pools on host {host}",
                "P: define/build/start/autostart what is missing",
                partial(ask_pools_create, app, view, session, host),
            ),
        ]
    return actions
