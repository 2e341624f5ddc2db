"""The hosts pane: every host with its state, connection, load against its profile and cost.

Keys: enter opens the host's detail (cost breakdown per term); e / n / d set the state to Enabled,
No Scheduling or Disabled — each asks for a reason, shows the VMs affected and asks to confirm; the
app then writes the change and its audit entry through the store, off the UI loop. r drains the host
(the scheduler's plan and the VMs that cannot move are shown before confirming); s starts a VM;
c runs the host check again (tui/console/hostchecks.py): a host whose last check failed is marked ✗chk.
a / E / del / R / p / P add, edit and remove hosts, reconcile and check or create the realm's pools
(tui/console/hostadmin/, the base class); an empty store shows how to add the first host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui.console.bulk import ask_bulk_drain, ask_bulk_state
from tui.console.dialogs import HostDetailScreen, StateChangeScreen
from tui.console.fleetview import FleetView
from tui.console.hostadmin import HostAdminPane
from tui.console.hostchecks import HostChecked, check_job, load_cached
from tui.console.keymap import HOSTADMIN_BINDINGS, HOSTS_BINDINGS
from tui.console.messages import ActionRefused, ActionRequested, HostStateChangeRequested
from tui.console.session import Session
from tui.console.sorting import SortValue
from tui.console.text import haystack
from tui.console.vmactions import ask_drain, ask_start
from tui.core.fleet import HostState
from tui.services.actions.path import READ_ONLY_MESSAGE


def ask_state_change(app: App[None], view: FleetView, session: Session, host: str, state: HostState) -> None:
    """Open the reason + confirmation dialog; on confirm, post the request to the app.

    Shared by the pane's keys and the command palette, so both follow the same rules.
    """
    if session.read_only:
        app.post_message(ActionRefused(f"set {host} {state.label}", READ_ONLY_MESSAGE, host))
        return
    record = view.records.get(host)
    if record is None:
        app.post_message(ActionRefused(f"set {host} {state.label}", f"no host named {host!r}", host))
        return
    if record.state is state:
        app.notify(f"{host} is already {state.label}", title="No change")
        return

    def done(values: dict[str, str] | None) -> None:
        if values:
            app.post_message(HostStateChangeRequested(host, state, values["reason"]))

    dialog = StateChangeScreen(host, record.state, state, view.vms_holding_resources(host))
    app.push_screen(dialog, done)


TREND_REFRESH_S = 5.0
TREND_COLUMN = 8  # "Trend" in HostsPane.COLUMNS


class HostsPane(HostAdminPane):
    PANE = "hosts"
    TITLE_TEXT = "Hosts"
    BINDINGS: ClassVar[list[BindingType]] = [*HOSTS_BINDINGS, *HOSTADMIN_BINDINGS]
    PANE_BINDINGS = [*HOSTS_BINDINGS, *HOSTADMIN_BINDINGS]
    KEEP_UNSHOWN = True  # back from another pane after many polls: a sync, not 10,000 rows again
    # Most telling first: at 80 columns the profile and realm are the ones scrolled off.
    COLUMNS = (
        ("Host", None),
        ("State", 13),
        ("Conn", 4),
        ("VMs", 4),
        ("vCPU", 6),
        ("Mem GiB", 8),
        ("Dev", 4),
        ("Cost", 10),
        ("Trend", 16),
        ("Profile", None),
        ("Realm", None),
    )

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        return {name: self.view.host_cells(name) for name in self.view.names()}

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        names = list(names)
        wanted = [n for n in names if n in self.view.records]
        # A host removed from the store (by any vmdeck) had a row: it goes.
        had = {n for n in names if n in self._rows}  # not `set(self._rows)`: 10,000 keys a batch
        return {n: self.view.host_cells(n) for n in wanted}, set(wanted) | had

    def sort_value(self, key: str, column: int) -> SortValue:
        return self.view.host_column(column)(key)  # one column: a batch re-keys every changed host

    def column_values(self, column: int) -> Iterable[SortValue]:
        return list(map(self.view.host_column(column), self._rows))

    def action_details(self) -> None:
        host = self.selected_key()
        if host is not None:
            self.open_detail(HostDetailScreen(self.view, host))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The table owns enter (select row); selecting a host opens its detail.
        event.stop()
        self.action_details()

    def action_set_state(self, state: str) -> None:
        if self.marks:  # every marked host (tui/console/bulk/hosts.py)
            ask_bulk_state(
                self.app, self.view, self.session, self.marked_keys(), HostState(state), self.clear_marks
            )
            return
        host = self.selected_key()
        if host is None:
            self.notify("No host selected", severity="warning")
            return
        ask_state_change(self.app, self.view, self.session, host, HostState(state))

    def action_drain(self) -> None:
        if self.marks:
            ask_bulk_drain(self.app, self.view, self.session, self.marked_keys(), self.clear_marks)
            return
        host = self.selected_key()
        if host is None:
            self.notify("No host selected", severity="warning")
            return
        ask_drain(self.app, self.view, self.session, host)

    def action_start(self) -> None:
        host = self.selected_key()
        realm = self.view.records[host].realm if host in self.view.records else None
        ask_start(self.app, self.view, self.session, realm)

    # --- host checks: the last result per host (tui/console/hostchecks.py) ---------------------------------
    def build(self) -> None:
        super().build()
        self._load_checks()
        # CPU use changes on every poll but is not a change a row is redrawn for (HostSnapshot.
        # looks_like): the Trend cells of the rows on screen are brought up to date on a timer.
        self.set_interval(TREND_REFRESH_S, self.refresh_trends)

    def refresh_trends(self) -> None:
        """Redraw the Trend cell of each row on screen whose sparkline moved."""
        if not self.is_current or self.view.load is None:
            return
        table = self.table
        first = int(table.scroll_y)
        column = TREND_COLUMN
        for index in range(first, min(table.row_count, first + table.size.height)):
            key = table.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
            cells = self._rows.get(key) if key is not None else None
            if key is None or cells is None:
                continue
            trend = self.view.trend(key)
            if trend != cells[column]:
                self._rows[key] = cells = (*cells[:column], trend, *cells[column + 1 :])
                self._hay[key] = haystack(cells)
                table.update_cell(key, self.COLUMNS[column][0], trend)

    @work(thread=True, exclusive=True, group="hostchecks-load")
    def _load_checks(self) -> None:
        for report in load_cached(self.session.db).values():
            self.post_message(HostChecked(report))

    def on_host_checked(self, message: HostChecked) -> None:
        if message.report.host in self.view.records:
            self.view.checks[message.report.host] = message.report
            self.fleet_changed([message.report.host])

    def action_check_host(self) -> None:
        host = self.selected_key()
        if host is None:
            self.notify("No host selected", severity="warning")
            return
        self.check_host(host)

    def check_host(self, host: str) -> None:
        """Run `host`'s check as an action (the key c and the command palette)."""
        self.app.post_message(ActionRequested(check_job(host, self.post_message)))
