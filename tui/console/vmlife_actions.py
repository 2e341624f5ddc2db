"""The console's asks for a VM's life after its start: power on, reboot, suspend, resume, autostart,
undefine, cold migration, snapshots — and the serial console.

Same shape as tui/console/vmactions.py: first the checks that need no answer (read-only, the host's state,
and the VM's polled state through the actions' own rule, `power_refusal`), then the dialog (what it
does, a reason, y/n), then an `ActionJob` the app runs in a thread worker on its Deck, which checks
everything again against libvirt.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from tui.console.actionchecks import refusal
from tui.console.actionjobs import (
    cold_migrate_job,
    power_on_job,
    reboot_job,
    resume_job,
    suspend_job,
)
from tui.console.dialogs import ActionScreen, Ask, reason_ask
from tui.console.fleetview import FleetView
from tui.console.messages import ActionJob, ActionRefused, ActionRequested
from tui.console.session import Session
from tui.core.live import DomainFacts
from tui.services.actions import (
    Outcome,
    power_refusal,
    set_autostart,
    undefine_vm,
)
from tui.services.actions.coldmigrate import cold_refusal
from tui.services.actions.deck import Deck
from tui.services.actions.power import DoomedVolume
from tui.services.actions.snapshots import create_snapshot, delete_snapshot, revert_snapshot

Run = Callable[[Deck, str], Outcome]  # (deck, reason) -> outcome


def _precheck(
    app: App[None], view: FleetView, session: Session, label: str, host: str, why: str | None
) -> bool:
    why = refusal(view, session, host) or why
    if why is not None:
        app.post_message(ActionRefused(label, why, host))
    return why is None


def _job(label: str, vm: str, host: str, run: Run) -> Callable[[str], ActionJob]:
    """reason -> the job for an action without a builder of its own in tui/console/actionjobs.py."""
    return lambda reason: ActionJob(label, lambda deck, _report: run(deck, reason), vm, host, reason)


def _ask(app: App[None], title: str, what: str, question: str, job: Callable[[str], ActionJob]) -> None:
    def done(values: dict[str, str] | None) -> None:
        if values:
            app.post_message(ActionRequested(job(values["reason"])))

    app.push_screen(
        ActionScreen(
            title, [("what", what)], [reason_ask()], lambda v: f"{question} because “{v['reason']}”"
        ),
        done,
    )


def ask_power_on(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"power on {vm.name}"
    if not _precheck(app, view, session, label, host, power_refusal("start", vm.name, vm.state)):
        return
    what = (
        f"Start the defined VM {vm.name} on {host} again ({vm.vcpus} vCPU, memory as defined). The host's "
        "cost with it running is re-checked first; an infinite cost refuses."
    )
    _ask(
        app, f"Power on {vm.name} on {host} ({vm.state.value})", what, f"power on {vm.name} on {host}",
        lambda reason: power_on_job(host, vm.name, reason),
    )  # fmt: skip


def ask_reboot(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"reboot {vm.name}"
    if not _precheck(app, view, session, label, host, power_refusal("reboot", vm.name, vm.state)):
        return
    what = "Asks the guest to reboot (ACPI or its agent): a guest that ignores it keeps running."
    _ask(
        app, f"Reboot {vm.name} on {host}", what, f"reboot {vm.name}",
        lambda reason: reboot_job(host, vm.name, reason),
    )  # fmt: skip


def ask_suspend(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"suspend {vm.name}"
    if not _precheck(app, view, session, label, host, power_refusal("suspend", vm.name, vm.state)):
        return
    what = "Pauses the VM's vCPUs; its memory and devices stay held on the host. Resume with u."
    _ask(
        app, f"Suspend {vm.name} on {host}", what, f"suspend {vm.name}",
        lambda reason: suspend_job(host, vm.name, reason),
    )  # fmt: skip


def ask_resume(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"resume {vm.name}"
    if not _precheck(app, view, session, label, host, power_refusal("resume", vm.name, vm.state)):
        return
    _ask(
        app, f"Resume {vm.name} on {host}", "Lets the suspended VM's vCPUs run again.", f"resume {vm.name}",
        lambda reason: resume_job(host, vm.name, reason),
    )  # fmt: skip


def ask_autostart(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"autostart {vm.name}"
    if not _precheck(app, view, session, label, host, None):
        return

    def confirm(values: dict[str, str]) -> str:
        if values["setting"] not in ("on", "off"):
            raise ValueError(f"autostart: on or off, not {values['setting']!r}")
        return f"turn autostart {values['setting']} for {vm.name} because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            on, reason = values["setting"] == "on", values["reason"]
            run = lambda deck, _r: set_autostart(deck, vm.name, on, host=host, reason=reason)  # noqa: E731
            app.post_message(ActionRequested(ActionJob(label, run, vm.name, host, reason)))

    what = f"Whether {host}'s libvirtd starts {vm.name} when the host boots."
    asks = [Ask("setting", "on or off", "on", suggestions=("on", "off")), reason_ask()]
    app.push_screen(ActionScreen(f"Autostart of {vm.name}", [("what", what)], asks, confirm), done)


def ask_cold_migrate(app: App[None], view: FleetView, session: Session, host: str, vm: DomainFacts) -> None:
    label = f"cold-migrate {vm.name}"
    if not _precheck(app, view, session, label, host, cold_refusal(vm)):
        return
    realm = view.records[host].realm
    others = tuple(n for n, r in view.records.items() if r.realm == realm and n != host)

    def confirm(values: dict[str, str]) -> str:
        if values["to"] and values["to"] not in view.records:
            raise ValueError(f"no host named {values['to']!r}")
        where = values["to"] or "the scheduler's choice"
        return f"move {vm.name} cold from {host} to {where} because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            job = cold_migrate_job(host, vm.name, values["to"] or None, values["reason"])
            app.post_message(ActionRequested(job))

    what = (
        f"{vm.name} is shut off: its definition moves (defined on the target, undefined here); its drives "
        "stay on the shared storage, which the target must see. Empty target: the scheduler's choice."
    )
    asks = [
        Ask("to", "target host (empty: the scheduler's best)", required=False, suggestions=others),
        reason_ask(),
    ]
    app.push_screen(
        ActionScreen(f"Cold-migrate {vm.name} from {host}", [("what", what)], asks, confirm), done
    )


def confirm_undefine(app: App[None], host: str, vm: str, doomed: list[DoomedVolume]) -> None:
    """After the volumes were listed off the loop: the confirmation names each one it deletes."""
    label = f"undefine {vm}"
    lines = "\n".join(f"  {v.path} (pool {v.pool})" for v in doomed) or "  none in the realm's pools"
    what = f"Removes {vm}'s definition and its snapshots' metadata from {host}, and deletes:\n{lines}"

    def run(deck: Deck, reason: str) -> Outcome:
        return undefine_vm(deck, vm, host=host, remove_storage=bool(doomed), reason=reason)

    _ask(
        app, f"Undefine {vm} on {host}", what, f"undefine {vm} and delete {len(doomed)} volume(s)",
        _job(label, vm, host, run),
    )  # fmt: skip


def undefine_refusal(view: FleetView, session: Session, host: str, vm: DomainFacts) -> str | None:
    return refusal(view, session, host) or power_refusal("undefine", vm.name, vm.state)


# --- snapshots (from the VM detail screen) -------------------------------------------------------------
def ask_snapshot(app: App[None], session: Session, view: FleetView, host: str, vm: str) -> None:
    label = f"snapshot {vm}"
    if not _precheck(app, view, session, label, host, None):
        return

    def done(values: dict[str, str] | None) -> None:
        if values:
            snap, reason = values["name"] or None, values["reason"]
            run = lambda deck, _r: create_snapshot(deck, vm, snap, host=host, reason=reason)  # noqa: E731
            app.post_message(ActionRequested(ActionJob(label, run, vm, host, reason)))

    what = (
        "A disk-only snapshot into the realm's snapshots pool where the disks and libvirt allow it, else "
        "internal (inside the qcow2 volumes); the result says which kind was taken and why."
    )
    asks = [Ask("name", "snapshot name (empty: snap-DATE-TIME)", required=False), reason_ask()]
    app.push_screen(
        ActionScreen(
            f"Snapshot {vm} on {host}", [("what", what)], asks,
            lambda v: f"take snapshot {v['name'] or '(dated name)'} of {vm} because “{v['reason']}”",
        ),
        done,
    )  # fmt: skip


def ask_revert(app: App[None], session: Session, view: FleetView, host: str, vm: str, snap: str) -> None:
    label = f"revert {vm}"
    if not _precheck(app, view, session, label, host, None):
        return
    what = f"{vm} returns to snapshot {snap}: everything since is lost (its state too: running or shut off)."
    _ask(
        app, f"Revert {vm} to {snap}", what, f"revert {vm} to {snap}",
        _job(label, vm, host, lambda deck, reason: revert_snapshot(deck, vm, snap, host=host, reason=reason)),
    )  # fmt: skip


def ask_delete_snapshot(
    app: App[None], session: Session, view: FleetView, host: str, vm: str, snap: str
) -> None:
    label = f"delete snapshot {snap}"
    if not _precheck(app, view, session, label, host, None):
        return
    what = f"Deletes snapshot {snap} of {vm} (libvirt merges what it must); the VM keeps running as it is."
    _ask(
        app, f"Delete snapshot {snap} of {vm}", what, f"delete snapshot {snap}",
        _job(label, vm, host, lambda deck, reason: delete_snapshot(deck, vm, snap, host=host, reason=reason)),
    )  # fmt: skip
