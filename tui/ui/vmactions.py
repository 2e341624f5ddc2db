"""VM and host actions from the console: ask (fields, then confirm), then hand a job to the app.

Each `ask_*` first checks what the console already knows — read-only mode, the host's state and
reachability, with the rule the actions themselves apply (`tui.core.live.not_actionable`) — so a
refusal comes at once, not after typing a reason. The confirmed job runs in the app's thread worker
on the app's `Deck`, which checks everything again: the fleet may have changed in between. Shared by
the panes' keys and the command palette, so both follow the same rules.
"""

from __future__ import annotations

from textual.app import App

from tui.core.costs import format_cost
from tui.core.live import DomainFacts, not_actionable
from tui.core.units import format_size, parse_size
from tui.services.actions import (
    Deck,
    DrainPlan,
    MoveResult,
    Outcome,
    Result,
    StartRequest,
    destroy_vm,
    drain_host,
    migrate_vm,
    scale_vm,
    start_vm,
    stop_vm,
)
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.ui.dialogs import ActionScreen, Ask, reason_ask
from tui.ui.fleetview import FleetView
from tui.ui.messages import ActionJob, ActionRefused, ActionRequested, DrainPlanRequested, Report
from tui.ui.panes.sim import EXAMPLE, parse_request
from tui.ui.session import Session

SHOWN_MOVES = 10


def refusal(view: FleetView, session: Session, host: str) -> str | None:
    """Why no change can be made on `host` now, or None."""
    if session.read_only:
        return READ_ONLY_MESSAGE
    record = view.records.get(host)
    if record is None:
        return f"no host named {host!r}"
    realm = view.config.realms.get(record.realm)
    return not_actionable(record, view.snapshots.get(host), realm is not None and realm.disabled)


def _allowed(app: App[None], view: FleetView, session: Session, action: str, host: str) -> bool:
    why = refusal(view, session, host)
    if why is not None:
        app.post_message(ActionRefused(action, why))
    return why is None


def _submit(app: App[None], job: ActionJob) -> None:
    app.post_message(ActionRequested(job))


# --- VMs ------------------------------------------------------------------------------------------------
def ask_stop(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"stop {vm.name}", host):
        return

    def done(values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            run = lambda deck, _report: stop_vm(deck, vm.name, host=host, reason=reason)  # noqa: E731
            _submit(app, ActionJob(f"stop {vm.name}", run, vm.name, host, reason))

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
    if not _allowed(app, view, session, f"destroy {vm.name}", host):
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
    run = lambda deck, _report: destroy_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    _submit(app, ActionJob(f"destroy {vm}", run, vm, host, reason))


def ask_migrate(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"migrate {vm.name}", host):
        return
    realm = view.records[host].realm
    others = tuple(n for n, r in view.records.items() if r.realm == realm and n != host)

    def confirm(values: dict[str, str]) -> str:
        target = values["to"]
        if target and target not in view.records:
            raise ValueError(f"no host named {target!r}")
        where = target or "the scheduler's best other host"
        return f"live-migrate {vm.name} from {host} to {where} because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            to, reason = values["to"] or None, values["reason"]
            run = lambda deck, _report: migrate_vm(deck, vm.name, to=to, host=host, reason=reason)  # noqa: E731
            _submit(app, ActionJob(f"migrate {vm.name}", run, vm.name, host, reason))

    what = (
        "Live migration: the target must be Enabled, reachable and keep a finite cost with this VM; "
        "VMs with PCI devices cannot live-migrate. Leave the target empty for the scheduler's choice."
    )
    asks = [
        Ask("to", "target host (empty: the scheduler's best)", required=False, suggestions=others),
        reason_ask(),
    ]
    app.push_screen(ActionScreen(f"Migrate {vm.name} from {host}", [("what", what)], asks, confirm), done)


def ask_scale(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    if not _allowed(app, view, session, f"scale {vm.name}", host):
        return

    def shape(values: dict[str, str]) -> tuple[int, int]:
        if not values["vcpus"].isdigit():
            raise ValueError(f"vCPUs: expected a whole number, got {values['vcpus']!r}")
        return int(values["vcpus"]), parse_size(values["memory"])  # UnitError is a ValueError

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
            _submit(app, ActionJob(f"scale {vm.name}", run, vm.name, host, reason))

    what = (
        f"Live scaling within the VM's maximum (memory up to {format_size(vm.max_memory)}); growth the "
        "host's cost function makes infinite is refused."
    )
    asks = [
        Ask("vcpus", "vCPUs", str(vm.vcpus)),
        Ask("memory", "memory, e.g. 4GiB", format_size(vm.memory).replace(" ", "")),
        reason_ask(),
    ]
    app.push_screen(ActionScreen(f"Scale {vm.name} on {host}", [("what", what)], asks, confirm), done)


def ask_start(app: App[None], view: FleetView, session: Session, realm: str | None) -> None:
    if session.read_only:
        app.post_message(ActionRefused("start a VM", READ_ONLY_MESSAGE))
        return
    realms = tuple(sorted(view.config.realms))

    def request(values: dict[str, str]) -> StartRequest:
        if values["realm"] not in view.config.realms:
            raise ValueError(f"no realm {values['realm']!r} (realms: {', '.join(realms)})")
        shape = parse_request(values["shape"])  # RequestError is a ValueError
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
            _submit(app, ActionJob(f"start {req.name}", run, req.name, None, req.reason))

    what = (
        "The scheduler picks the host and PCI devices from the live fleet; vmdeck creates the drive in "
        "the realm's drives pool, defines and starts the VM and waits until it runs."
    )
    asks = [
        Ask("name", "VM name"),
        Ask("shape", f"shape: {EXAMPLE}"),
        Ask("realm", "realm", realm or (realms[0] if realms else ""), suggestions=realms),
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
    """Plan first (the app does it off the loop and answers with DrainPlanned → `confirm_drain`)."""
    if _allowed(app, view, session, f"drain {host}", host):
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


def confirm_drain(app: App[None], plan: DrainPlan) -> None:
    host = plan.host

    def done(values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            _submit(
                app,
                ActionJob(
                    f"drain {host}",
                    lambda deck, report: _drain(deck, host, reason, report),
                    None,
                    host,
                    reason,
                ),
            )

    moves, stuck = plan_lines(plan)
    what = f"{host} is set to No Scheduling, then its VMs migrate (a few at a time), each result reported."
    app.push_screen(
        ActionScreen(
            f"Drain {host}",
            [("what", what), ("plan", moves), ("unmovable", stuck)],
            [reason_ask()],
            lambda v: f"drain {host} ({len(plan.moves)} to migrate) because “{v['reason']}”",
        ),
        done,
    )


def _drain(deck: Deck, host: str, reason: str, report: Report) -> Outcome:
    """Worker thread: the drain, reporting each migration as it lands."""

    def landed(result: MoveResult) -> None:
        word = "ok" if result.ok else "FAILED"
        report(f"drain {host}: {word} {result.move.vm} → {result.move.to}: {result.message}", result.ok)

    return drain_host(deck, host, reason, on_result=landed)
