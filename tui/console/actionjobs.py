"""The job each confirmed VM or host action runs: one builder per action, shared by the single-item
dialogs (tui/console/vmactions.py, tui/console/vmlife_actions.py) and the bulk actions (tui/console/bulk/).

A bulk action on ten VMs is ten of exactly the jobs the key would run on one: the same service call
on the app's Deck (read-only check, the object's lease, intent and outcome in the audit log), the
same label on the status line, the same audit name.
"""

from __future__ import annotations

from tui.console.messages import ActionJob, Report
from tui.core.fleet import HostState
from tui.services.actions import (
    Deck,
    MoveResult,
    Outcome,
    destroy_vm,
    drain_host,
    migrate_vm,
    power_on_vm,
    reboot_vm,
    resume_vm,
    stop_vm,
    suspend_vm,
)
from tui.services.actions.coldmigrate import cold_migrate_vm
from tui.services.actions.hoststate import set_host_state


def stop_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: stop_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"stop {vm}", run, vm, host, reason, "vm.stop")


def destroy_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: destroy_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"destroy {vm}", run, vm, host, reason, "vm.destroy")


def migrate_job(host: str, vm: str, to: str | None, reason: str) -> ActionJob:
    """Live migration to `to` (None: the scheduler's best other host)."""
    run = lambda deck, _report: migrate_vm(deck, vm, to=to, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"migrate {vm}", run, vm, host, reason, "vm.migrate")


def cold_migrate_job(host: str, vm: str, to: str | None, reason: str) -> ActionJob:
    run = lambda deck, _report: cold_migrate_vm(deck, vm, to=to, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"cold-migrate {vm}", run, vm, host, reason, "vm.cold-migrate")


def power_on_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: power_on_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"power on {vm}", run, vm, host, reason, "vm.power-on")


def reboot_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: reboot_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"reboot {vm}", run, vm, host, reason, "vm.reboot")


def suspend_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: suspend_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"suspend {vm}", run, vm, host, reason, "vm.suspend")


def resume_job(host: str, vm: str, reason: str) -> ActionJob:
    run = lambda deck, _report: resume_vm(deck, vm, host=host, reason=reason)  # noqa: E731
    return ActionJob(f"resume {vm}", run, vm, host, reason, "vm.resume")


def host_state_job(host: str, state: HostState, reason: str) -> ActionJob:
    """A host's state change on the Deck (the path the CLI and a drain take: `set_host_state`)."""
    run = lambda deck, _report: set_host_state(deck, host, state, reason)  # noqa: E731
    return ActionJob(f"set {host} {state.label}", run, None, host, reason, "host.state")


def drain_job(host: str, reason: str) -> ActionJob:
    run = lambda deck, report: _drain(deck, host, reason, report)  # noqa: E731
    return ActionJob(f"drain {host}", run, None, host, reason, "host.drain")


def _drain(deck: Deck, host: str, reason: str, report: Report) -> Outcome:
    """Worker thread: the drain, reporting each migration as it lands."""

    def landed(result: MoveResult) -> None:
        word = "ok" if result.ok else "FAILED"
        report(f"drain {host}: {word} {result.move.vm} → {result.move.to}: {result.message}", result.ok)

    return drain_host(deck, host, reason, on_result=landed)
