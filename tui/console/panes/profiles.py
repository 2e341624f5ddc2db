"""The profiles pane: each hardware profile with its cores, memory, devices, cost function and hosts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from textual.binding import BindingType
from textual.widgets import DataTable

from tui.console.keymap import PROFILES_BINDINGS
from tui.console.panes.base import TablePane
from tui.console.profiledetail import ProfileDetailScreen
from tui.console.sorting import SortValue
from tui.core.units import format_size


class ProfilesPane(TablePane):
    PANE = "profiles"
    TITLE_TEXT = "Profiles"
    BINDINGS: ClassVar[list[BindingType]] = [*PROFILES_BINDINGS]
    PANE_BINDINGS = PROFILES_BINDINGS
    MARKABLE = False  # no action acts on profiles

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._values: dict[str, tuple[str, str, int, int, int]] = {}  # pid -> raw values (sorting)

    COLUMNS = (
        ("Profile", None),
        ("Name", None),
        ("Cores", 5),
        ("Memory", 8),
        ("Devices", None),
        ("Cost function", None),
        ("Hosts", 5),
        ("Host names", None),
    )

    def all_rows(self) -> Mapping[str, tuple[str, ...]]:
        config = self.view.config
        members: dict[str, list[str]] = {p: [] for p in config.hardware_profiles}
        for record in self.view.records.values():
            members.setdefault(record.profile, []).append(record.name)
        rows = {}
        for pid, profile in sorted(config.hardware_profiles.items()):
            devices = ", ".join(f"{n}× {kind}" for kind, n in profile.device_counts().items()) or "-"
            cf = config.cost_functions.get(profile.cost_function)
            cf_text = f"{profile.cost_function} ({cf.name})" if cf else f"{profile.cost_function} (MISSING)"
            hosts = members.get(pid, [])
            self._values[pid] = (pid, profile.name, profile.cores, profile.memory, len(hosts))
            shown = ", ".join(hosts[:6]) + (f" … +{len(hosts) - 6}" if len(hosts) > 6 else "")
            rows[pid] = (
                pid,
                profile.name,
                str(profile.cores),
                format_size(profile.memory),
                devices,
                cf_text,
                str(len(hosts)),
                shown or "-",
            )
        return rows

    def sort_value(self, key: str, column: int) -> SortValue:
        # Cores, memory (bytes) and the host count as numbers; the rest sorts by its text.
        raw = {2: 2, 3: 3, 6: 4}.get(column)
        return self._values[key][raw] if raw is not None else self._rows[key][column]

    def action_details(self) -> None:
        profile = self.selected_key()
        if profile is not None and profile in self.view.config.hardware_profiles:
            self.open_detail(ProfileDetailScreen(self.view, profile))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the table owns enter (select row): selecting a profile opens its detail
        self.action_details()

    def rows_of_hosts(self, names: Iterable[str]) -> tuple[Mapping[str, tuple[str, ...]], set[str]]:
        rows = self.all_rows()  # a handful of profiles: recomputing them all costs nothing
        return rows, set(rows)

    def update_rows(self, names: list[str]) -> None:
        # Polls never change a profile; only record changes (host state, membership) do.
        return

    def header_text(self) -> str:
        config = self.view.config
        return f"{len(config.hardware_profiles)} profiles, {len(config.cost_functions)} cost functions"
