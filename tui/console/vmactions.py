"""VM and host actions from the console: ask (fields, then confirm), then hand a job to the app.

Each `ask_*` first checks what the console already knows — read-only mode, the host's state and
reachability, an action already running (`refusal`, `busy`: actionchecks.py) — so a refusal comes
at once, not after typing a reason. The confirmed job runs in the app's thread worker
on the app's `Deck`, which checks everything again: the fleet may have changed in between. Shared by
the panes' keys and the command palette, so both follow the same rules.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.console.actionchecks import busy, refusal
from tui.console.actionjobs import destroy_job, drain_job, migrate_job, stop_job
from tui.console.dialogs import ActionScreen, Ask, reason_ask
from tui.console.fleetview import FleetView
from tui.console.messages import ActionJob, ActionRefused, ActionRequested, DrainPlanRequested
from tui.console.session import Session
from tui.core.costs import format_cost
from tui.core.fleet import Fleet
from tui.core.live import DomainFacts, DomainState
from tui.core.printable import printable
from tui.core.scheduling import CostEngine, FleetState, explain_request
from tui.core.scheduling.explain import rejection_reason
from tui.core.scheduling.request import REQUEST_EXAMPLE, parse_request
from tui.core.units import UnitError, format_size, parse_size
from tui.services.actions import (
    DrainPlan,
    Outcome,
    Result,
    StartRequest,
    scale_vm,
    start_vm,
)
from tui.services.actions.deck import READ_ONLY_MESSAGE

SHOWN_MOVES = 10


def _allowed(
    app: App[None], view: FleetView, session: Session, action: str, host: str, vm: str | None = None
) -> bool:
    """The checks that need no answer, made before any question: read-only, host, a running action."""
    why = refusal(view, session, host) or (busy(app, "vm", vm) if vm else busy(app, "host", host))
    if why is not None:
        app.post_message(ActionRefused(action, why, host))
    return why is None


def _refuse(app: App[None], action: str, why: str, host: str | None = None) -> None:
    app.post_message(ActionRefused(action, why, host))


def _submit(app: App[None], job: ActionJob) -> None:
    app.post_message(ActionRequested(job))


# --- VMs ------------------------------------------------------------------------------------------------
def _not_running(vm: DomainFacts) -> str | None:
    """The actions' own wording (tui/services/actions/stop.py) for a VM with nothing to stop."""
    return None if vm.state.holds_resources else f"{vm.name} is not running (already shut off)"


def ask_stop(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"stop {vm.name}", host, vm.name):
        return
    if (why := _not_running(vm)) is not None:
        _refuse(app, f"stop {vm.name}", why, host)
        return

    def done(values: dict[str, str] | None) -> None:
        if values:
            _submit(app, stop_job(host, vm.name, values["reason"]))

    what = (
        "Graceful shutdown: the guest is asked to power off (ACPI). If it has not stopped when the "
        "shutdown timeout runs out, you are offered to force it off."
    )
    app.push_screen(
        ActionScreen(
            f"Stop {vm.name} on {host} ({vm.state.value})",
            [("what", what)],
            [reason_ask()],
            lambda v: f"shut down {vm.name} on {host} because “{v['reason']}”",
        ),
        done,
    )


def ask_destroy(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"destroy {vm.name}", host, vm.name):
        return
    if (why := _not_running(vm)) is not None:
        _refuse(app, f"destroy {vm.name}", why, host)
        return
    what = (
        "Power off at once, like pulling the plug: unsaved guest data is lost. The definition and drive stay."
    )
    app.push_screen(
        ActionScreen(
            f"Destroy {vm.name} on {host} ({vm.state.value})",
            [("what", what)],
            [reason_ask()],
            lambda v: f"destroy (power off) {vm.name} on {host} because “{v['reason']}”",
        ),
        lambda values: _destroy(app, host, vm.name, values["reason"]) if values else None,
    )


def _destroy(app: App[None], host: str, vm: str, reason: str) -> None:
    _submit(app, destroy_job(host, vm, reason))


def ask_migrate(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"migrate {vm.name}", host, vm.name):
        return
    realm = view.records[host].realm
    others = tuple(n for n, r in view.records.items() if r.realm == realm and n != host)

    def confirm_target(target: str) -> None:
        if target and target not in view.records:
            raise ValueError(f"no host named {target!r}")

    def confirm(values: dict[str, str]) -> str:
        target = values["to"]
        confirm_target(target)
        where = target or "the scheduler's best other host"
        return f"live-migrate {vm.name} from {host} to {where} because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            _submit(app, migrate_job(host, vm.name, values["to"] or None, values["reason"]))

    what = (
        "Live migration: the target must be Enabled, reachable and keep a finite cost with this VM; "
        "VMs with PCI devices cannot live-migrate. Leave the target empty for the scheduler's choice."
    )
    asks = [
        Ask(
            "to",
            "target host (empty: the scheduler's best)",
            required=False,
            suggestions=others,
            label="target host",
            check=lambda v: confirm_target(v["to"]),
        ),
        reason_ask(),
    ]
    app.push_screen(ActionScreen(f"Migrate {vm.name} from {host}", [("what", what)], asks, confirm), done)


SCALABLE = (DomainState.RUNNING, DomainState.PAUSED, DomainState.BLOCKED)


def ask_scale(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"scale {vm.name}", host, vm.name):
        return
    if vm.state not in SCALABLE:  # the action's own rule and wording (services/actions/scale.py)
        _refuse(
            app, f"scale {vm.name}", f"{vm.name} is {vm.state.value}: live scaling needs a running VM", host
        )
        return

    def vcpus_of(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"vCPUs: expected a whole number of at least 1, got {text!r}")
        return int(text)

    def memory_of(text: str) -> int:
        try:
            memory = parse_size(text)
        except UnitError as exc:
            raise ValueError(f"memory: {exc}") from None
        if not 0 < memory <= vm.max_memory:
            raise ValueError(
                f"{vm.name} can have up to {format_size(vm.max_memory)} of memory (its maximum), "
                f"not {format_size(memory)}"
            )
        return memory

    def shape(values: dict[str, str]) -> tuple[int, int]:
        return vcpus_of(values["vcpus"]), memory_of(values["memory"])

    def confirm(values: dict[str, str]) -> str:
        vcpus, memory = shape(values)
        return (
            f"scale {vm.name} from {vm.vcpus} vCPUs, {format_size(vm.memory)} to {vcpus} vCPUs, "
            f"{format_size(memory)} because “{values['reason']}”"
        )

    def done(values: dict[str, str] | None) -> None:
        if values:
            vcpus, memory = shape(values)
            reason = values["reason"]
            run = lambda deck, _report: scale_vm(  # noqa: E731
                deck, vm.name, vcpus=vcpus, memory=memory, host=host, reason=reason
            )
            _submit(app, ActionJob(f"scale {vm.name}", run, vm.name, host, reason, "vm.scale"))

    what = (
        f"Live scaling within the VM's maximum (memory up to {format_size(vm.max_memory)}); growth the "
        "host's cost function makes infinite is refused."
    )
    asks = [
        Ask("vcpus", "vCPUs", str(vm.vcpus), label="vCPUs", check=lambda v: vcpus_of(v["vcpus"]) and None),
        Ask(
            "memory",
            "memory, e.g. 4GiB",
            format_size(vm.memory).replace(" ", ""),
            label=f"memory (max {format_size(vm.max_memory)})",
            check=lambda v: memory_of(v["memory"]) and None,
        ),
        reason_ask(),
    ]
    app.push_screen(ActionScreen(f"Scale {vm.name} on {host}", [("what", what)], asks, confirm), done)


def ask_start(app: App[None], view: FleetView, session: Session, realm: str | None) -> None:
    if session.read_only:
        app.post_message(ActionRefused("start a VM", READ_ONLY_MESSAGE))
        return
    realms = tuple(sorted(view.config.realms))
    device_types = view.config.device_types()

    def shape_of(values: dict[str, str]) -> Any:
        return parse_request(values["shape"], device_types)  # RequestError is a ValueError

    def placeable(values: dict[str, str]) -> None:
        """The realm exists and the scheduler finds a host for the shape on the fleet as last polled
        (the start checks again on the live fleet)."""
        realm = values["realm"]
        if realm not in view.config.realms:
            raise ValueError(f"no realm {realm!r} (realms: {', '.join(realms)})")
        if view.config.realms[realm].disabled:
            raise ValueError(f"realm {realm!r} is disabled: nothing is started in it")
        shape = shape_of(values)
        fleet = view.fleet()
        hosts = tuple(h for h in fleet.hosts if view.records[h.name].realm == realm)
        if not hosts:
            raise ValueError(f"realm {realm!r} has no hosts (vmdeck hosts add ...)")
        state = FleetState(view.config, Fleet(hosts))
        engine = CostEngine(state)
        if not explain_request(state, engine, shape).placed:
            raise ValueError(f"cannot be placed now: {rejection_reason(state, engine, shape)}")

    def request(values: dict[str, str]) -> StartRequest:
        placeable(values)
        shape = shape_of(values)
        devices = dict(shape.devices)
        return StartRequest(
            values["name"], shape.vcpus, shape.memory, devices, realm=values["realm"], reason=values["reason"]
        )

    def confirm(values: dict[str, str]) -> str:
        req = request(values)
        devices = "".join(f", {n}× {k}" for k, n in req.devices.items())
        return (
            f"start {req.name} ({req.vcpus} vCPU, {format_size(req.memory)}{devices}) in realm {req.realm} "
            f"where the scheduler places it, because “{req.reason}”"
        )

    def done(values: dict[str, str] | None) -> None:
        if values:
            req = request(values)
            run = lambda deck, _report: start_vm(deck, req)  # noqa: E731
            _submit(app, ActionJob(f"start {req.name}", run, req.name, None, req.reason, "vm.start"))

    what = (
        "The scheduler picks the host and PCI devices from the live fleet; vmdeck creates the drive in "
        "the realm's drives pool, defines and starts the VM and waits until it runs."
    )
    asks = [
        Ask("name", "VM name", label="VM name"),
        Ask("shape", f"shape: {REQUEST_EXAMPLE}", label="shape", check=lambda v: shape_of(v) and None),
        Ask(
            "realm",
            "realm",
            realm or (realms[0] if realms else ""),
            suggestions=realms,
            label="realm",
            check=placeable,
        ),
        reason_ask(),
    ]
    app.push_screen(ActionScreen("Start a VM through the scheduler", [("what", what)], asks, confirm), done)


def offer_force(app: App[None], job: ActionJob, outcome: Outcome) -> None:
    """A graceful stop timed out: offer to force the VM off (destroy), with the stop's reason."""
    if outcome.result is not Result.TIMED_OUT or outcome.action != "vm.stop" or job.vm is None:
        return
    host, vm, reason = outcome.host or job.host, job.vm, job.reason or "graceful stop timed out"
    if host is None:
        return
    if isinstance(app.screen, ModalScreen):  # never over another dialog: say it instead
        app.notify(f"{vm} did not shut down: press k on it to force it off", severity="warning")
        return
    app.push_screen(
        ActionScreen(
            f"{vm} did not shut down",
            [("what", outcome.message)],
            [],
            lambda _v: f"force {vm} off (destroy) on {host} — or n to leave it running",
        ),
        lambda values: _destroy(app, host, vm, reason) if values is not None else None,
    )


# --- hosts ----------------------------------------------------------------------------------------------
def ask_drain(app: App[None], view: FleetView, session: Session, host: str) -> None:
    """The dialog opens at once (the reason can be typed while the scheduler plans, and keys typed
    meanwhile never reach the pane); the app plans off the loop and hands the plan to it."""
    if not _allowed(app, view, session, f"drain {host}", host):
        return

    def done(values: dict[str, str] | None) -> None:
        if values:
            _submit(app, drain_job(host, values["reason"]))

    app.push_screen(DrainScreen(host), done)
    app.post_message(DrainPlanRequested(host))


def plan_lines(plan: DrainPlan) -> tuple[str, str]:
    moves = [
        f"  {m.vm} → {m.to}{' cold (shut off)' if m.cold else ''} (cost there {format_cost(m.cost)})"
        for m in plan.moves[:SHOWN_MOVES]
    ]
    if len(plan.moves) > SHOWN_MOVES:
        moves.append(f"  … and {len(plan.moves) - SHOWN_MOVES} more")
    stuck = [f"  {u.vm}: {u.reason}" for u in plan.unmovable[:SHOWN_MOVES]]
    if len(plan.unmovable) > SHOWN_MOVES:
        stuck.append(f"  … and {len(plan.unmovable) - SHOWN_MOVES} more")
    head = f"Plan: {len(plan.moves)} VM(s) to migrate" + (":" if moves else "")
    return "\n".join([head, *moves]), "\n".join([f"Cannot move: {len(plan.unmovable)}", *stuck])


class DrainScreen(ActionScreen):
    """Drain a host: the plan (filled in by `planned` when the scheduler has it), a reason, confirm."""

    def __init__(self, host: str) -> None:
        what = (
            f"{host} is set to No Scheduling, then its VMs migrate (a few at a time), each result reported."
        )
        super().__init__(
            f"Drain {host}",
            [("what", what), ("plan", "Planning: the scheduler is placing each VM …"), ("unmovable", "")],
            [reason_ask()],
            self._question,
        )
        self.host = host
        self.plan: DrainPlan | None = None

    def _question(self, values: dict[str, str]) -> str:
        if self.plan is None:
            raise ValueError("the plan is still being computed: press enter again in a moment")
        return f"drain {self.host} ({len(self.plan.moves)} to migrate) because “{values['reason']}”"

    def planned(self, plan: DrainPlan) -> None:
        self.plan = plan
        moves, stuck = plan_lines(plan)
        self.query_one("#action-plan", Static).update(printable(moves, keep_newlines=True))
        self.query_one("#action-unmovable", Static).update(printable(stuck, keep_newlines=True))
