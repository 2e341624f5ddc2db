"""What the console knows about the fleet: host records, last snapshots, allocations and cost history.

The app owns one `FleetView` and hands it down to the panes; it is only touched on the UI loop (the
poller's batches arrive as messages). All arithmetic is the core's: `tui.core.live.allocation` for
allocated-vs-capacity and current cost, `live_fleet` for the scheduler's view.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from tui.console.hostchecks import mark as check_mark
from tui.console.sorting import SortValue
from tui.console.text import fmt_gib, plural, spark
from tui.core.costs import CostBreakdown, format_cost
from tui.core.fleet import Fleet, HostState
from tui.core.hostcheck import HostCheckReport
from tui.core.hosts import HostRecord
from tui.core.live import Allocation, DomainFacts, HostSnapshot, HostStatus, allocation, live_fleet
from tui.core.model import VmConfig
from tui.services.loadhistory import LoadHistory

HISTORY = 16
STATE_RANK = {state: rank for rank, state in enumerate(HostState)}
STATUS_RANK = {
    HostStatus.CONNECTED: 0,
    HostStatus.CONNECTING: 1,
    HostStatus.UNREACHABLE: 2,
    HostStatus.DISABLED: 3,
}


@dataclass(frozen=True)
class VmRow:
    """One VM as the VMs pane lists it."""

    uuid: str
    name: str
    host: str
    state: str
    vcpus: int
    memory: int
    devices: tuple[str, ...]
    address: str

    @property
    def key(self) -> str:
        # A UUID can briefly show on two hosts (migration): the host keeps table keys unique.
        return f"{self.host}/{self.uuid}"

    def cells(self) -> tuple[str, ...]:
        devices = ", ".join(self.devices) if self.devices else "-"
        return (
            self.name,
            self.host,
            self.state,
            str(self.vcpus),
            f"{fmt_gib(self.memory)} GiB",
            devices,
            self.address,
        )

    def values(self) -> tuple[SortValue, ...]:
        """The raw values of `cells()`, column for column: what the VMs table sorts on."""
        return tuple(value(self) for value in VM_VALUES)


def _devices_value(row: VmRow) -> SortValue:
    return ", ".join(row.devices) if row.devices else None


def _address_value(row: VmRow) -> SortValue:
    return None if row.address == "-" else row.address


# `VmRow.values()` one column at a time (attrgetter runs in C): the VMs pane sorts 100,000 rows
# with one of these per row, not a whole tuple of values.
VM_VALUES: tuple[Callable[[VmRow], SortValue], ...] = (
    attrgetter("name"),
    attrgetter("host"),
    attrgetter("state"),
    attrgetter("vcpus"),
    attrgetter("memory"),
    _devices_value,
    _address_value,
)


def vm_address(record: HostRecord, vm_ip: str | None, running: bool) -> str:
    """How vmdeck reaches a VM: through the host's static address translation when it has one.

    The port is the NAT base port plus the last octet of the VM's IP (seed 002, "Hosts").
    """
    if not running:
        return "-"
    nat = record.nat
    if nat is None:
        return vm_ip or "? (no lease)"
    if not vm_ip:
        return f"{nat.ip}:{nat.base_port}+? (no lease)"
    return f"{nat.ip}:{nat.port_for(vm_ip)} ({vm_ip})"


def vm_row(host: str, record: HostRecord, dom: DomainFacts) -> VmRow:
    """A VM's row: a function of its host's record (the NAT) and its visible facts alone
    (`DomainFacts.visible`), so a row built from the same two is the same row."""
    address = vm_address(record, dom.address, dom.state.holds_resources)
    return VmRow(dom.uuid, dom.name, host, dom.state.value, dom.vcpus, dom.memory, dom.hostdevs, address)


class FleetView:
    def __init__(self, config: VmConfig, records: Iterable[HostRecord]) -> None:
        self.config = config
        self.records: dict[str, HostRecord] = {r.name: r for r in sorted(records, key=lambda r: r.name)}
        self.snapshots: dict[str, HostSnapshot] = {}
        self.history: dict[str, deque[float | None]] = {n: deque(maxlen=HISTORY) for n in self.records}
        self._alloc: dict[str, Allocation | None] = {}
        self.polls = 0
        self.checks: dict[
            str, HostCheckReport
        ] = {}  # the last host check of each host (tui/console/hostchecks.py)
        self.store_problem: str | None = None  # why the store cannot be reached (shown in the summary)
        self.load: LoadHistory | None = None  # the poller's CPU and memory history, when polling
        # Each host's (status, running VMs, domains), and their totals, kept up to date host by host
        # (`_count`): the header's summary and the VM count never walk every host. None: not yet.
        self._tally: dict[str, tuple[HostStatus, int, int]] | None = None
        self._statuses = dict.fromkeys(HostStatus, 0)
        self._running = 0
        self._domain_total = 0

    # --- changes (UI loop only) ------------------------------------------------------------------
    def apply(self, snapshots: Iterable[HostSnapshot]) -> list[str]:
        """Take a batch of changed snapshots; returns the names of the hosts whose view changed."""
        changed = []
        self.polls += 1
        for snap in snapshots:
            if snap.host not in self.records:
                continue
            self.snapshots[snap.host] = snap
            self._alloc.pop(snap.host, None)
            alloc = self.allocation(snap.host)
            cost = alloc.cost.total if alloc is not None and alloc.cost is not None else None
            self.history[snap.host].append(cost)
            changed.append(snap.host)
            self._count(snap.host)
        return changed

    def set_record(self, record: HostRecord) -> None:
        self.records[record.name] = record
        self.history.setdefault(record.name, deque(maxlen=HISTORY))
        self._alloc.pop(record.name, None)
        self._count(record.name)

    def remove_record(self, name: str) -> None:
        """The host was removed from the store (maybe by another vmdeck): forget all about it."""
        for table in (self.records, self.snapshots, self.history, self._alloc):
            table.pop(name, None)
        self._count(name)

    def _count(self, name: str) -> None:
        """Bring this host's share of the totals up to date (after any change to it)."""
        if self._tally is None:
            return
        old = self._tally.pop(name, None)
        if old is not None:
            self._statuses[old[0]] -= 1
            self._running -= old[1]
            self._domain_total -= old[2]
        if name in self.records:
            alloc = self.allocation(name)
            running = alloc.vms if alloc is not None else len(self.vms_holding_resources(name))
            new = (self.status(name), running, len(self.domains(name)))
            self._tally[name] = new
            self._statuses[new[0]] += 1
            self._running += new[1]
            self._domain_total += new[2]

    def _counted(self) -> None:
        if self._tally is None:
            self._tally = {}
            for name in self.records:
                self._count(name)

    # --- reading ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self.records)

    def allocation(self, name: str) -> Allocation | None:
        """Allocated vs capacity and current cost; None when the host names an unknown profile."""
        if name not in self._alloc:
            record = self.records[name]
            if record.profile not in self.config.hardware_profiles:
                self._alloc[name] = None
            else:
                self._alloc[name] = allocation(record, self.snapshots.get(name), self.config)
        return self._alloc[name]

    def breakdown(self, name: str) -> CostBreakdown | None:
        alloc = self.allocation(name)
        return alloc.cost if alloc is not None else None

    def status(self, name: str) -> HostStatus:
        snap = self.snapshots.get(name)
        if snap is not None:
            return snap.status
        record = self.records[name]
        return HostStatus.DISABLED if record.state is HostState.DISABLED else HostStatus.CONNECTING

    def domains(self, name: str) -> tuple[DomainFacts, ...]:
        snap = self.snapshots.get(name)
        return snap.domains if snap is not None else ()

    def vms_holding_resources(self, name: str) -> list[DomainFacts]:
        return [d for d in self.domains(name) if d.state.holds_resources]

    def vm_rows(self, hosts: Iterable[str] | None = None) -> list[VmRow]:
        rows: list[VmRow] = []
        for name in hosts if hosts is not None else self.records:
            record = self.records[name]
            rows.extend(vm_row(name, record, dom) for dom in self.domains(name))
        return rows

    def fleet(self) -> Fleet:
        """The scheduler's view (FLEET model); hosts with an unknown profile are left out."""
        known = [r for r in self.records.values() if r.profile in self.config.hardware_profiles]
        return live_fleet(known, self.snapshots, self.config)

    def summary(self) -> str:
        self._counted()
        counts = self._statuses
        # The cached allocations already count each host's running VMs: no walk over every domain.
        parts = [plural(len(self.records), "host"), f"{plural(self._running, 'VM')} running"]
        if counts[HostStatus.UNREACHABLE]:
            parts.append(f"{counts[HostStatus.UNREACHABLE]} UNREACHABLE")
        if counts[HostStatus.CONNECTING]:
            parts.append(f"{counts[HostStatus.CONNECTING]} connecting")
        if self.store_problem:
            parts.append("store unreachable: changes refused")
        return ", ".join(parts)

    def domain_count(self) -> int:
        """Every domain of every host (the VMs pane's header)."""
        self._counted()
        return self._domain_total

    # --- the hosts table's cells -----------------------------------------------------------------
    def host_cells(self, name: str) -> tuple[str, ...]:
        record = self.records[name]
        status = self.status(name)
        alloc = self.allocation(name)
        conn = {
            HostStatus.CONNECTED: "up",
            HostStatus.CONNECTING: "wait",
            HostStatus.UNREACHABLE: "DOWN",
            HostStatus.DISABLED: "off",
        }[status]
        if alloc is None:
            usage = ("?", "?", "?", "?", "unknown profile")
        else:
            over = "!" if alloc.over() else ""
            devices = "-"
            if alloc.devices_capacity:
                used = sum(alloc.devices_in_use.values())
                devices = f"{used}/{sum(alloc.devices_capacity.values())}"
            usage = (
                str(alloc.vms),
                f"{alloc.vcpus}/{alloc.cores}{over}",
                f"{fmt_gib(alloc.memory)}/{fmt_gib(alloc.memory_capacity)}G",
                devices,
                format_cost(alloc.cost.total if alloc.cost else None),
            )
        stale = "?" if status is HostStatus.UNREACHABLE else ""  # facts are the last known, not current
        return (
            name + check_mark(self.checks.get(name)),
            record.state.label,
            conn,
            usage[0] + stale,
            usage[1],
            usage[2],
            usage[3],
            usage[4] + stale,
            self.trend(name),
            record.profile,
            record.realm,
        )

    def host_values(self, name: str) -> tuple[SortValue, ...]:
        """The raw values of `host_cells`, column for column: what the hosts table sorts on.

        States sort by rank (Enabled, No Scheduling, Disabled; connected, connecting, unreachable,
        off), amounts as numbers (allocated vCPUs, memory in bytes, devices in use, the cost with
        ∞), Trend by the latest CPU use; None is unknown (an unknown profile's load, no devices)."""
        record = self.records[name]
        alloc = self.allocation(name)
        cpu = self.load_series(name, last=1)[0]
        usage: tuple[SortValue, ...] = (None, None, None, None, None)
        if alloc is not None:
            devices = sum(alloc.devices_in_use.values()) if alloc.devices_capacity else None
            cost = alloc.cost.total if alloc.cost else None
            usage = (alloc.vms, alloc.vcpus, alloc.memory, devices, cost)
        return (
            name,
            STATE_RANK[record.state],
            STATUS_RANK[self.status(name)],
            *usage,
            cpu[-1] if cpu else None,
            record.profile,
            record.realm,
        )

    def host_column(self, column: int) -> Callable[[str], SortValue]:
        """`host_values(name)[column]` as a function of the name. The columns read from the record
        or the status alone skip the rest (its allocation and CPU series): a sort of 10,000 hosts
        by name, state, connection, profile or realm calls this once per host."""
        records = self.records
        alone: dict[int, Callable[[str], SortValue]] = {
            0: str,
            1: lambda name: STATE_RANK[records[name].state],
            2: lambda name: STATUS_RANK[self.status(name)],
            9: lambda name: records[name].profile,
            10: lambda name: records[name].realm,
        }
        return alone.get(column) or (lambda name: self.host_values(name)[column])

    def trend(self, name: str) -> str:
        """The hosts table's Trend: CPU use over the last samples of the hour (the poller's load
        history); the cost's recent values when there is no load history (no poller)."""
        cpu = self.load_series(name, last=HISTORY)[0]
        if cpu:
            return spark(cpu, width=HISTORY)
        return spark(list(self.history.get(name, ())))

    def load_series(
        self, name: str, last: int | None = None
    ) -> tuple[list[float | None], list[float | None]]:
        """(CPU use, memory use) over the last hour (the newest `last`), oldest first; None: unknown."""
        rows = self.load.host(name, last=last) if self.load is not None else []

        def known(value: float) -> float | None:
            return None if math.isnan(value) else value

        return [known(r[1]) for r in rows], [known(r[2]) for r in rows]

    def cost(self, name: str) -> float | None:
        cost = self.breakdown(name)
        return None if cost is None else cost.total
