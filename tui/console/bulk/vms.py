"""Bulk VM actions: stop, destroy, migrate, power on, reboot, suspend or resume every marked VM.

`VM_KINDS` says, per action, what the confirmation tells, the action's own rule on a VM's polled
state and the job the key builds for one VM; an action not in it (scale, console, …) acts on one VM
at a time and says so. One reason for all (and for a migration one optional target), one
confirmation listing the VMs by host and those refused as things are now, then one item per VM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual.app import App

from tui.console import actionjobs
from tui.console.actionchecks import busy, refusal
from tui.console.bulk.confirm import confirm_and_run, refused_before_asking
from tui.console.bulk.radius import vm_radius
from tui.console.bulk.room import Room, limited
from tui.console.bulk.run import BulkItem
from tui.console.dialogs import Ask
from tui.console.fleetview import FleetView
from tui.console.messages import ActionJob
from tui.console.session import Session
from tui.console.text import plural
from tui.core.live import DomainFacts
from tui.services.actions import power_refusal
from tui.services.actions.coldmigrate import cold_refusal


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
    if refused_before_asking(app, session, title.lower()):
        return
    now = [
        f"  {why}" if vm.name in why else f"  {vm.name}: {why}"
        for host, vm in vms
        if (why := _vm_refusal(app, view, session, spec, host, vm))
    ]
    room, refused_room = Room.of(app, 3 if kind == "migrate" else 0).split(len(now) + 1 if now else 0)
    sections = [("what", spec.what), ("radius", vm_radius(vms, room))]
    if now:
        sections.append(("refused", limited([f"Refused as things are now: {len(now)}", *now], refused_room)))
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

    confirm_and_run(app, title, sections, asks, question, items, started)


def _vm_refusal(
    app: App[None], view: FleetView, session: Session, spec: VmKind, host: str, vm: DomainFacts
) -> str | None:
    return refusal(view, session, host) or spec.refusal(vm) or busy(app, "vm", vm.name)


def _known(view: FleetView, target: str) -> None:
    if target and target not in view.records:
        raise ValueError(f"no host named {target!r}")
