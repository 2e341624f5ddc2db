"""Bulk actions: a pane's action key on every marked host or VM (marks: tui/ui/panes/base.py).

One reason and one confirmation that lists the blast radius — for a host state change or a drain
the hosts and the VMs running on each, for a VM action the VMs and the hosts they run on — then the
items one after another, each on the console's one action path on its own: the very job the key
builds for one item (tui/ui/actionjobs.py) goes to the app as `ActionRequested`; the app checks that
nothing runs on its VM or host, runs it on the Deck (read-only check, lease, intent and outcome in
the audit log, per item) and shows its outcome, then calls the job's `done`, which starts the next
item. Before an item starts, its own checks run again on the fleet as polled now (read-only mode,
the host's state, the VM's state, an action already running on it): an item that fails them is
refused (and audited as refused), the rest go on.

ctrl+c cancels (`Bulk.cancel`): no new item starts; the running one finishes and is reported. The
status line shows "n of m" while it runs and a summary at the end: done, failed, refused, not
started. Read-only mode refuses before any question. One bulk action runs at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from textual.app import App
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tui.core.fleet import HostState
from tui.core.live import DomainFacts
from tui.services.actions import Outcome, Result, power_refusal
from tui.services.actions.coldmigrate import cold_refusal
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.ui import actionjobs
from tui.ui.activity import Activity
from tui.ui.dialogs import EFFECTS, ActionScreen, Ask, reason_ask
from tui.ui.fleetview import FleetView
from tui.ui.messages import ActionJob, ActionRefused, ActionRequested
from tui.ui.panes.base import Pane
from tui.ui.session import Session
from tui.ui.text import plural
from tui.ui.vmactions import busy, refusal

# The confirmation fits the terminal (80x24 included): its fixed parts — title, what it does, the
# reason field, the question — take about this many rows; the blast radius gets the rest of the
# dialog (90% of the screen, styles/vmdeck.tcss .action-dialog), one line per host, names cut to fit.
FIXED_ROWS = 12
CANCEL_KEY = "ctrl+c"


@dataclass(frozen=True)
class BulkItem:
    """One host or VM of a bulk action."""

    label: str  # the job's label: "stop web1"
    host: str
    vm: str | None
    check: Callable[[], str | None]  # why it cannot start now (UI loop, just before it starts)
    job: Callable[[str], ActionJob]  # reason -> the job the key runs on one item


class Console(Protocol):
    """What a bulk run needs of the app: post messages, notify, and the status line's Activity."""

    activity: Activity

    @property
    def screen(self) -> Screen[object]: ...

    def post_message(self, message: Message) -> bool: ...

    def call_later(self, callback: Callable[[], object]) -> bool: ...

    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: SeverityLevel = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...


TALLY = (
    (Result.OK, "done"),
    (Result.FAILED, "failed"),
    (Result.TIMED_OUT, "timed out"),
    (Result.REFUSED, "refused"),
)


class BulkRun:
    """The items of one confirmed bulk action, started one at a time on the UI loop."""

    def __init__(self, console: Console, title: str, items: Sequence[BulkItem], reason: str) -> None:
        self.console, self.title, self.items, self.reason = console, title, list(items), reason
        self.outcomes: list[tuple[BulkItem, Outcome]] = []
        self.next = 0  # the index of the next item to start
        self.running: BulkItem | None = None
        self.cancelled = False
        self.finished = False

    def start(self) -> None:
        self._advance()

    def cancel(self) -> bool:
        """Start no further item. False when there was nothing left to cancel."""
        if self.finished or self.cancelled:
            return False
        self.cancelled = True
        if self.running is None:
            self._finish()
        else:
            self._say(f"{self.progress()} · cancelled: {self.running.label} finishes, nothing new starts")
        return True

    def _advance(self) -> None:
        while self.next < len(self.items) and not self.cancelled:
            item = self.items[self.next]
            self.next += 1
            why = item.check()
            if why is not None:
                self._record(item, Outcome(item.label, item.vm or item.host, item.host, Result.REFUSED, why))
                self.console.post_message(ActionRefused(item.label, why, item.host))
                # On after the app has shown (and audited) the refusal: the summary comes last.
                self.console.call_later(self._advance)
                return
            self.running = item
            self.console.post_message(ActionRequested(replace(item.job(self.reason), done=self._done)))
            self._say(self.progress())
            return
        self._finish()

    def _done(self, outcome: Outcome) -> None:
        """The app showed the running item's outcome (or refused to start it)."""
        item, self.running = self.running, None
        if item is None:
            return
        self._record(item, outcome)
        self._advance()

    def _record(self, item: BulkItem, outcome: Outcome) -> None:
        self.outcomes.append((item, outcome))

    def progress(self) -> str:
        counts = self.counts()
        done = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
        cancel = "" if self.cancelled else f" · {CANCEL_KEY}: cancel the rest"
        return f"{self.title}: {self.next} of {len(self.items)}" + (f" ({done})" if done else "") + cancel

    def counts(self) -> dict[str, int]:
        tally = {word: 0 for _, word in TALLY}
        words = dict(TALLY)
        for _, outcome in self.outcomes:
            tally[words[outcome.result]] += 1
        return tally

    def not_started(self) -> int:
        return len(self.items) - self.next

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{n} {word}" for word, n in counts.items() if n or word == "done"]
        if self.not_started():
            parts.append(f"{self.not_started()} cancelled (not started)")
        line = f"{self.title} finished: " + ", ".join(parts)
        if counts["timed out"]:
            line += " · a stop that timed out can be forced: k on the VM"
        return line

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        clean = all(outcome.ok for _, outcome in self.outcomes) and not self.not_started()
        self._say(self.summary(), "information" if clean else "warning")

    def _say(self, text: str, severity: SeverityLevel = "information") -> None:
        # The status line (the app's Activity) and the newest notification, which a pane shows on
        # its status line too: after each item's own outcome, so the progress is what stays shown.
        self.console.activity.progressed(text)
        self.console.notify(text, title="Bulk", severity=severity)
        screen = self.console.screen
        if isinstance(screen, Pane):
            screen.update_status()  # also when notifications are off (the notice shows them)


class Bulk:
    """The app's one bulk action at a time."""

    def __init__(self) -> None:
        self.run: BulkRun | None = None

    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def start(self, run: BulkRun) -> None:
        self.run = run
        run.start()

    def cancel(self) -> bool:
        return self.run is not None and self.run.cancel()


# --- asking ---------------------------------------------------------------------------------------------
def _refused_before_asking(app: App[None], session: Session, label: str) -> bool:
    """Read-only mode and a bulk action already running refuse before any question."""
    why = None
    if session.read_only:
        why = READ_ONLY_MESSAGE
    elif (bulk := getattr(app, "bulk", None)) is not None and bulk.running():
        why = f"a bulk action is running ({bulk.run.title}): wait for it, or {CANCEL_KEY} cancels it"
    if why is not None:
        app.post_message(ActionRefused(label, why))
    return why is not None


def _confirm_and_run(
    app: App[None],
    title: str,
    sections: list[tuple[str, str]],
    asks: list[Ask],
    question: Callable[[dict[str, str]], str],
    items: Callable[[dict[str, str]], list[BulkItem]],
    started: Callable[[], object],
) -> None:
    def done(values: dict[str, str] | None) -> None:
        bulk = getattr(app, "bulk", None)
        if not values or bulk is None:
            return
        console: Console = app  # type: ignore[assignment]  # VmdeckApp has `activity`
        started()
        bulk.start(BulkRun(console, title, items(values), values["reason"]))

    app.push_screen(ActionScreen(title, sections, [*asks, reason_ask()], question, prefix="bulk"), done)


@dataclass(frozen=True)
class Room:
    """How much of the dialog the lists may take: rows, and columns per line."""

    rows: int
    width: int

    @classmethod
    def of(cls, app: App[None], extra_rows: int = 0) -> Room:
        size = app.size
        inner = int(size.height * 0.9) - 2  # the dialog's border
        width = min(100, int(size.width * 0.9)) - 4  # border and padding
        return cls(max(3, inner - FIXED_ROWS - extra_rows), max(20, width))

    def split(self, second: int) -> tuple[Room, Room]:
        """Room for two lists (the second `second` lines long, and a margin between them)."""
        if not second:
            return self, Room(0, self.width)
        rows = min(second, max(2, self.rows // 3))
        return Room(max(2, self.rows - rows - 1), self.width), Room(rows, self.width)


def _limited(lines: list[str], room: Room) -> str:
    """The lines that fit, the last one saying how many more there are."""
    if len(lines) > room.rows:
        rest = len(lines) - room.rows + 1
        lines = [*lines[: room.rows - 1], f"  … and {rest} more"]
    return "\n".join(line if len(line) <= room.width else line[: room.width - 1] + "…" for line in lines)


def _names(names: Sequence[str], width: int) -> str:
    """As many names as fit in `width` columns, then "… +N"."""
    shown: list[str] = []
    for i, name in enumerate(names):
        more = f" … +{len(names) - i - 1}" if i < len(names) - 1 else ""
        if shown and len(", ".join([*shown, name]) + more) > width:
            return ", ".join(shown) + f" … +{len(names) - i}"
        shown.append(name)
    return ", ".join(shown)


def _host_check(app: App[None], view: FleetView, session: Session, host: str) -> str | None:
    return refusal(view, session, host) or busy(app, "host", host)


# --- hosts ----------------------------------------------------------------------------------------------
def host_radius(view: FleetView, hosts: Sequence[str], change: Callable[[str], str], room: Room) -> str:
    """The hosts and the VMs running on each: "pool1-01 Enabled → Disabled: 3 VMs (a, b, c)"."""
    running = {h: [d.name for d in view.vms_holding_resources(h)] for h in hosts}
    total = sum(len(v) for v in running.values())
    lines = [f"{plural(len(hosts), 'host')}, {plural(total, 'VM')} running on them:"]
    for host in hosts:
        vms = running[host]
        head = f"  {host} {change(host)}: {plural(len(vms), 'VM')}"
        lines.append(f"{head} ({_names(vms, room.width - len(head) - 3)})" if vms else f"{head} running")
    return _limited(lines, room)


def ask_bulk_state(
    app: App[None],
    view: FleetView,
    session: Session,
    hosts: Sequence[str],
    state: HostState,
    started: Callable[[], object] = lambda: None,
) -> None:
    """e / n / d with hosts marked: set each to `state`, one reason for all."""
    title = f"Set {plural(len(hosts), 'host')} to {state.label}"
    if _refused_before_asking(app, session, title.lower()):
        return
    known = [h for h in hosts if h in view.records]
    same = [h for h in known if view.records[h].state is state]
    change = [h for h in known if h not in same]
    if not change:
        app.notify(f"every marked host is already {state.label}", title="No change")
        return
    room = Room.of(app, 2 if same else 0)
    radius = host_radius(view, change, lambda h: _arrow(view, h, state), room)
    sections = [("what", EFFECTS[state]), ("radius", radius)]
    if same:
        sections.append(("same", f"Already {state.label}, left as they are: {_names(same, room.width - 40)}"))

    def check(host: str) -> Callable[[], str | None]:
        def why() -> str | None:
            if view.store_problem is not None:
                return "store unreachable"
            if session.read_only:
                return READ_ONLY_MESSAGE
            if host not in view.records:
                return f"no host named {host!r} (removed meanwhile)"
            return busy(app, "host", host)

        return why

    def items(_values: dict[str, str]) -> list[BulkItem]:
        return [
            BulkItem(
                f"set {h} {state.label}", h, None, check(h), partial(actionjobs.host_state_job, h, state)
            )
            for h in change
        ]

    _confirm_and_run(
        app, title, sections, [],
        lambda v: f"set {plural(len(change), 'host')} to {state.label} because “{v['reason']}”",
        items, started,
    )  # fmt: skip


def _arrow(view: FleetView, host: str, state: HostState) -> str:
    return f"{view.records[host].state.label} → {state.label}"


def ask_bulk_drain(
    app: App[None],
    view: FleetView,
    session: Session,
    hosts: Sequence[str],
    started: Callable[[], object] = lambda: None,
) -> None:
    """r with hosts marked: every marked host is set to No Scheduling first (so no drain places a VM
    on a host about to be drained), then each is drained in turn, planned when its drain starts."""
    title = f"Drain {plural(len(hosts), 'host')}"
    if _refused_before_asking(app, session, title.lower()):
        return
    known = [h for h in hosts if h in view.records]
    enabled = [h for h in known if view.records[h].state is HostState.ENABLED]
    what = (
        "Each marked host is set to No Scheduling first, then drained one after another: its VMs "
        "migrate where the scheduler places them when that drain starts (never onto a marked host); "
        "each migration is reported."
    )
    radius = host_radius(view, known, lambda h: "drain", Room.of(app, 1))

    def items(_values: dict[str, str]) -> list[BulkItem]:
        fenced = HostState.NO_SCHEDULING
        fence = [
            BulkItem(
                f"set {h} {fenced.label}", h, None, partial(_host_check, app, view, session, h),
                partial(actionjobs.host_state_job, h, fenced),
            )
            for h in enabled
        ]  # fmt: skip
        drains = [
            BulkItem(
                f"drain {h}", h, None, partial(_host_check, app, view, session, h),
                partial(actionjobs.drain_job, h),
            )
            for h in known
        ]  # fmt: skip
        return fence + drains

    _confirm_and_run(
        app, title, [("what", what), ("radius", radius)], [],
        lambda v: f"drain {plural(len(known), 'host')} because “{v['reason']}”", items, started,
    )  # fmt: skip


# --- VMs ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VmKind:
    """A VM action that can be applied to many VMs."""

    verb: str  # "stop"
    what: str  # what it does, for the confirmation
    refusal: Callable[[DomainFacts], str | None]  # the action's own rule on the VM's polled state
    job: Callable[[str, DomainFacts, str | None, str], ActionJob]  # (host, vm, target, reason) -> job


def _not_running(vm: DomainFacts) -> str | None:
    return None if vm.state.holds_resources else f"{vm.name} is not running (already shut off)"


def _migration_refusal(vm: DomainFacts) -> str | None:
    return None if vm.state.holds_resources else cold_refusal(vm)


def _migration_job(host: str, vm: DomainFacts, to: str | None, reason: str) -> ActionJob:
    # The key's own dispatch: a running VM migrates live, a shut-off one moves cold.
    if vm.state.holds_resources:
        return actionjobs.migrate_job(host, vm.name, to, reason)
    return actionjobs.cold_migrate_job(host, vm.name, to, reason)


VM_KINDS: dict[str, VmKind] = {
    "stop": VmKind(
        "stop", "Graceful shutdown of each VM (ACPI); one that has not stopped when the timeout runs "
        "out is reported timed out (force it off with k).", _not_running,
        lambda h, vm, _to, r: actionjobs.stop_job(h, vm.name, r),
    ),
    "destroy": VmKind(
        "destroy", "Power each VM off at once, like pulling the plug: unsaved guest data is lost. "
        "Definitions and drives stay.", _not_running,
        lambda h, vm, _to, r: actionjobs.destroy_job(h, vm.name, r),
    ),
    "migrate": VmKind(
        "migrate", "Running VMs live-migrate, shut-off ones move cold, one after another, each to the "
        "target (empty: the scheduler's best other host for each).", _migration_refusal, _migration_job,
    ),
    "power_on": VmKind(
        "power on", "Start each defined VM again where it is; an infinite cost refuses that VM.",
        lambda vm: power_refusal("start", vm.name, vm.state),
        lambda h, vm, _to, r: actionjobs.power_on_job(h, vm.name, r),
    ),
    "reboot": VmKind(
        "reboot", "Ask each guest to reboot (ACPI or its agent): a guest that ignores it keeps running.",
        lambda vm: power_refusal("reboot", vm.name, vm.state),
        lambda h, vm, _to, r: actionjobs.reboot_job(h, vm.name, r),
    ),
    "suspend": VmKind(
        "suspend", "Pause each VM's vCPUs; memory and devices stay held.",
        lambda vm: power_refusal("suspend", vm.name, vm.state),
        lambda h, vm, _to, r: actionjobs.suspend_job(h, vm.name, r),
    ),
    "resume": VmKind(
        "resume", "Let each suspended VM's vCPUs run again.",
        lambda vm: power_refusal("resume", vm.name, vm.state),
        lambda h, vm, _to, r: actionjobs.resume_job(h, vm.name, r),
    ),
}  # fmt: skip


def vm_radius(vms: Sequence[tuple[str, DomainFacts]], room: Room) -> str:
    """The VMs and their hosts, one line per host: "pool1-01 (2): web1, web2"."""
    by_host: dict[str, list[str]] = {}
    for host, vm in vms:
        by_host.setdefault(host, []).append(vm.name)
    lines = [f"{plural(len(vms), 'VM')} on {plural(len(by_host), 'host')}:"]
    for host, names in by_host.items():
        head = f"  {host} ({len(names)}): "
        lines.append(head + _names(names, room.width - len(head)))
    return _limited(lines, room)


def ask_bulk_vms(
    app: App[None],
    view: FleetView,
    session: Session,
    kind: str,
    vms: Sequence[tuple[str, DomainFacts]],
    started: Callable[[], object] = lambda: None,
) -> None:
    """A VM action key with VMs marked: the action on each marked VM, one reason for all."""
    spec = VM_KINDS.get(kind)
    if spec is None:
        app.notify(
            f"{kind.replace('_', ' ')} acts on one VM at a time: esc clears the {plural(len(vms), 'mark')}",
            title="Not a bulk action", severity="warning",
        )  # fmt: skip
        return
    title = f"{spec.verb.capitalize()} {plural(len(vms), 'VM')}"
    if _refused_before_asking(app, session, title.lower()):
        return
    now = [
        f"  {why}" if vm.name in why else f"  {vm.name}: {why}"
        for host, vm in vms
        if (why := _vm_refusal(app, view, session, spec, host, vm))
    ]
    room, refused_room = Room.of(app, 3 if kind == "migrate" else 0).split(len(now) + 1 if now else 0)
    sections = [("what", spec.what), ("radius", vm_radius(vms, room))]
    if now:
        sections.append(("refused", _limited([f"Refused as things are now: {len(now)}", *now], refused_room)))
    asks: list[Ask] = []
    if kind == "migrate":
        realms = {view.records[h].realm for h, _ in vms if h in view.records}
        others = tuple(n for n, r in view.records.items() if r.realm in realms)
        asks.append(
            Ask("to", "target host (empty: the scheduler's best for each)", required=False,
                suggestions=others, label="target host", check=lambda v: _known(view, v["to"]))
        )  # fmt: skip

    def check(host: str, name: str) -> Callable[[], str | None]:
        def why() -> str | None:
            vm = next((d for d in view.domains(host) if d.name == name), None)
            if vm is None:
                return f"{name} is no longer on {host}"
            return _vm_refusal(app, view, session, spec, host, vm)

        return why

    def job(host: str, name: str, to: str | None) -> Callable[[str], ActionJob]:
        def make(reason: str) -> ActionJob:
            vm = next((d for d in view.domains(host) if d.name == name), None)
            assert vm is not None, "checked just before"  # check() ran on the same UI-loop turn
            return spec.job(host, vm, to, reason)

        return make

    def items(values: dict[str, str]) -> list[BulkItem]:
        to = values.get("to") or None
        return [
            BulkItem(f"{spec.verb} {vm.name}", host, vm.name, check(host, vm.name), job(host, vm.name, to))
            for host, vm in vms
        ]

    def question(values: dict[str, str]) -> str:
        _known(view, values.get("to", ""))
        where = f" to {values['to']}" if values.get("to") else ""
        hosts = len({h for h, _ in vms})
        return f"{spec.verb} {plural(len(vms), 'VM')} on {plural(hosts, 'host')}{where} because “{values['reason']}”"

    _confirm_and_run(app, title, sections, asks, question, items, started)


def _vm_refusal(
    app: App[None], view: FleetView, session: Session, spec: VmKind, host: str, vm: DomainFacts
) -> str | None:
    return refusal(view, session, host) or spec.refusal(vm) or busy(app, "vm", vm.name)


def _known(view: FleetView, target: str) -> None:
    if target and target not in view.records:
        raise ValueError(f"no host named {target!r}")


def job_refused(job: ActionJob, why: str) -> None:
    """The app refused to start `job` (busy, no store): a bulk run hears it as the item's outcome."""
    if job.done is not None:
        job.done(Outcome(job.what or job.label, job.vm or job.host or "", job.host, Result.REFUSED, why))
