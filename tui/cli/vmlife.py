"""`vmdeck vms …` for a VM's life after its start: power, console and display, snapshots, cold
migration, info and XML. Registered into the `vms` command by tui/cli/vms.py; every command runs
one function of tui/services/actions — the same the console calls — and exits 0 when it succeeded,
1 when it was refused or failed (unknown VM or snapshot, wrong state, a host that died), 2 on usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import libvirt

from tui.cli.deck import action_options, open_deck, run_action, vm_args
from tui.cli.inputs import InputError
from tui.cli.output import EXIT_USAGE, emit, fail, table
from tui.core.printable import printable
from tui.core.units import format_size
from tui.services.actions import (
    Failed,
    Refused,
    power_on_vm,
    reboot_vm,
    resume_vm,
    set_autostart,
    storage_of,
    suspend_vm,
    undefine_vm,
)
from tui.services.actions.coldmigrate import cold_migrate_vm


def _life_common(parser: argparse.ArgumentParser, mutates: bool = True) -> None:
    """The vms commands' common flags (a mutating one gets --read-only and --reason)."""
    action_options(parser, mutates=mutates)


def register(actions: Any) -> None:
    """Add the subcommands to the `vms` parser's subparsers."""
    for verb, text in (
        ("reboot", "ask the guest to reboot (--hard: reset at once)"),
        ("suspend", "pause a running VM (it keeps its memory and devices)"),
        ("resume", "resume a suspended VM"),
    ):
        p = actions.add_parser(verb, help=text)
        _life_common(p)
        vm_args(p)
        if verb == "reboot":
            p.add_argument("--hard", action="store_true", help="reset (like the reset button), not ACPI")
        p.set_defaults(handler=run_power, power=verb)

    auto = actions.add_parser("autostart", help="start the VM when its host boots: on|off")
    _life_common(auto)
    vm_args(auto)
    auto.add_argument("setting", choices=("on", "off"))
    auto.set_defaults(handler=run_autostart)

    cold = actions.add_parser(
        "cold-migrate", help="move a shut-off VM's definition to --to HOST or the scheduler's choice"
    )
    _life_common(cold)
    vm_args(cold)
    cold.add_argument("--to", metavar="HOST")
    cold.set_defaults(handler=run_cold_migrate)

    console = actions.add_parser("console", help="attach to the serial console (ctrl+] detaches)")
    _life_common(console)
    vm_args(console)
    console.set_defaults(handler=run_serial_console)

    display = actions.add_parser("display", help="print the virt-viewer / ssh-tunnel command for the display")
    _life_common(display, mutates=False)
    vm_args(display)
    display.set_defaults(handler=run_display)

    info = actions.add_parser("info", help="state, shape, disks, NICs, devices, snapshots, history")
    _life_common(info, mutates=False)
    vm_args(info)
    info.set_defaults(handler=run_info)

    xml = actions.add_parser("xml", help="the domain XML as libvirt has it")
    _life_common(xml, mutates=False)
    vm_args(xml)
    xml.add_argument("--inactive", action="store_true", help="the persistent definition, not the live XML")
    xml.set_defaults(handler=run_xml)

    snap = actions.add_parser("snapshot", help="snapshots: create [SNAP] | list | revert SNAP | delete SNAP")
    snap.add_argument("name", help="VM name or UUID")
    snap_actions = snap.add_subparsers(dest="snapshot_command", metavar="ACTION", required=True)
    create = snap_actions.add_parser("create", help="take a snapshot (the kind is chosen and explained)")
    _snap_common(create)
    create.add_argument("snapshot", nargs="?", help="its name (default snap-YYYYmmdd-HHMMSS, UTC)")
    create.add_argument(
        "--kind", choices=("auto", "disk-only", "internal", "memory"), default="auto", help="default: auto"
    )
    create.set_defaults(handler=run_snapshot_create)
    listing = snap_actions.add_parser("list", help="the VM's snapshots")
    _snap_common(listing, mutates=False)
    listing.set_defaults(handler=run_snapshot_list)
    revert = snap_actions.add_parser("revert", help="return the VM to a snapshot")
    _snap_common(revert)
    revert.add_argument("snapshot")
    revert.set_defaults(handler=run_snapshot_revert)
    delete = snap_actions.add_parser("delete", help="delete a snapshot")
    _snap_common(delete)
    delete.add_argument("snapshot")
    delete.add_argument(
        "--metadata-only", action="store_true", help="forget it, keep its disk overlays (external snapshots)"
    )
    delete.set_defaults(handler=run_snapshot_delete)


def _snap_common(parser: argparse.ArgumentParser, mutates: bool = True) -> None:
    _life_common(parser, mutates=mutates)
    parser.add_argument("--host", help="the VM's host, when the name is on several")


def _reason(args: argparse.Namespace) -> str | None:
    return getattr(args, "reason", None)


# --- power ---------------------------------------------------------------------------------------------
def run_power_on(args: argparse.Namespace) -> int:
    """`vms start NAME` without shape flags (called by tui.cli.vms.run_start)."""
    shape_only = (
        "device",
        "disk",
        "image",
        "realm",
        "max_vcpus",
        "max_memory",
        "network",
        "pin",
        "emulator_pin",
    )
    given = [f"--{k.replace('_', '-')}" for k in shape_only if getattr(args, k, None)]
    if given:
        return fail(
            f"{', '.join(given)} describe a new VM: give --vcpus and --memory too (without them, "
            "`vms start NAME` powers on the existing VM)",
            args.json,
        )
    return run_action(args, lambda deck: power_on_vm(deck, args.name, host=args.host, reason=_reason(args)))


def run_power(args: argparse.Namespace) -> int:
    if args.power == "reboot":
        return run_action(
            args,
            lambda deck: reboot_vm(deck, args.name, host=args.host, hard=args.hard, reason=_reason(args)),
        )
    fn = suspend_vm if args.power == "suspend" else resume_vm
    return run_action(args, lambda deck: fn(deck, args.name, host=args.host, reason=_reason(args)))


def run_autostart(args: argparse.Namespace) -> int:
    on = args.setting == "on"
    return run_action(
        args, lambda deck: set_autostart(deck, args.name, on, host=args.host, reason=_reason(args))
    )


def run_undefine(args: argparse.Namespace) -> int:
    """`vms undefine NAME [--remove-storage]`: on a terminal, the volumes to delete are listed and
    confirmed first (unless --yes); a script gets the list of what was deleted in the result."""

    def act(deck: Any) -> Any:
        if args.remove_storage and not args.yes and not args.json and sys.stdin.isatty():
            try:
                where, doomed = storage_of(deck, args.name, args.host)
            except Refused as exc:
                raise InputError(str(exc)) from None
            lines = [f"  {v.path}  (pool {v.pool})" for v in doomed] or ["  (none in the realm's pools)"]
            sys.stdout.write(f"undefine {args.name} on {where} and delete:\n" + "\n".join(lines) + "\n")
            sys.stdout.write("proceed? [y/N] ")
            sys.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                raise InputError("nothing changed (not confirmed)")
        return undefine_vm(
            deck, args.name, host=args.host, remove_storage=args.remove_storage, reason=_reason(args)
        )

    return run_action(args, act)


def run_cold_migrate(args: argparse.Namespace) -> int:
    return run_action(
        args, lambda deck: cold_migrate_vm(deck, args.name, to=args.to, host=args.host, reason=_reason(args))
    )


# --- console and display -----------------------------------------------------------------------------
def run_serial_console(args: argparse.Namespace) -> int:
    # lazy: +3 modules, 2 ms CPU on every vmdeck start
    from tui.services.actions.serialconsole import attach_console

    if args.json:
        return fail("the console is interactive: --json does not apply", True, code=EXIT_USAGE)
    return run_action(
        args,
        lambda deck: attach_console(
            deck,
            args.name,
            host=args.host,
            in_fd=sys.stdin.fileno(),
            out_fd=sys.stdout.fileno(),
            reason=_reason(args),
        ),
    )


def _read(args: argparse.Namespace, fn: Any) -> tuple[int, Any]:
    """Run a read-only service call on a fresh Deck: (0, value) or (1, None) after printing why."""
    try:
        deck = open_deck(args)
    except InputError as exc:
        return fail(str(exc), args.json), None
    try:
        return 0, fn(deck)
    except (Refused, Failed) as exc:
        return fail(str(exc), args.json), None
    except libvirt.libvirtError as exc:  # a host that died mid-read
        return fail(f"libvirt: {exc.get_error_message() or exc}", args.json), None
    finally:
        deck.close()


def run_display(args: argparse.Namespace) -> int:
    # lazy: +3 modules, 2 ms CPU on every vmdeck start
    from tui.services.actions.serialconsole import display_command

    # lazy: +2 modules, 7 ms CPU on every vmdeck start
    from tui.services.actions.vminfo import domain_xml

    def lines(deck: Any) -> list[str]:
        where, xml = domain_xml(deck, args.name, args.host)
        return display_command(deck.host(where), args.name, xml)

    code, out = _read(args, lines)
    if code == 0:
        emit({"ok": True, "commands": out}, args.json, lambda d: "\n".join(d["commands"]))
    return code


def run_xml(args: argparse.Namespace) -> int:
    # lazy: +2 modules, 7 ms CPU on every vmdeck start
    from tui.services.actions.vminfo import domain_xml

    code, out = _read(args, lambda deck: domain_xml(deck, args.name, args.host, inactive=args.inactive))
    if code == 0:
        host, xml = out
        emit({"ok": True, "host": host, "xml": xml}, args.json, lambda d: d["xml"])
    return code


def run_info(args: argparse.Namespace) -> int:
    # lazy: +2 modules, 7 ms CPU on every vmdeck start
    from tui.services.actions.vminfo import vm_info

    code, info = _read(args, lambda deck: vm_info(deck, args.name, args.host))
    if code == 0:
        data = info.to_json()
        if not args.json:
            data.pop("xml")
        emit(data, args.json, info_text)
    return code


def info_text(d: dict[str, Any]) -> str:
    p = printable
    lines = [
        f"{p(d['name'])} ({d['uuid']}) on {p(d['host'])}: {d['state']}",
        f"vCPUs {d['vcpus']} of {d['max_vcpus']}, memory {format_size(d['memory'])} of {format_size(d['max_memory'])}",
        f"autostart {'on' if d['autostart'] else 'off'}, {'persistent' if d['persistent'] else 'transient'}, "
        f"serial console {'yes' if d['console'] else 'no'}, display "
        + (", ".join(f"{g['type']} {g['listen']}:{g['port']}" for g in d["graphics"]) or "none"),
        "",
        table(
            ["disk", "pool", "volume", "size", "cache", "format"],
            [
                [
                    x["target"],
                    p(x["pool"] or "-"),
                    p(x["volume"] or x["path"] or "-"),
                    format_size(x["capacity"]) if x["capacity"] is not None else "-",
                    x["cache"],
                    x["format"],
                ]
                for x in d["disks"]
            ],
        )
        if d["disks"]
        else "no disks",
        "",
        table(
            ["nic", "mac", "network", "address", "endpoint"],
            [
                [str(i), n["mac"], p(n["network"] or "-"), n["address"] or "-", n["endpoint"] or "-"]
                for i, n in enumerate(d["nics"])
            ],
        )
        if d["nics"]
        else "no NICs",
        f"PCI devices: {', '.join(d['pci']) or 'none'}",
        "",
        snapshot_table(d["snapshots"]) if d["snapshots"] else "no snapshots",
        "",
        f"history ({len(d['history'])} audit entries):",
        *[
            f"  {h['when']}  {h['what']}  {h['after'].get('result', '') if isinstance(h['after'], dict) else ''}"
            f"  {p(h.get('reason') or '')}"
            for h in d["history"][-20:]
        ],
    ]
    return "\n".join(lines)


def snapshot_table(snaps: list[dict[str, Any]]) -> str:
    rows = [
        [
            printable(s["name"]) + (" *" if s["current"] else ""),
            s["kind"],
            s["state"],
            dt.datetime.fromtimestamp(s["created"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            printable(s["parent"] or "-"),
            printable(s["description"]),
        ]
        for s in snaps
    ]
    return table(["snapshot", "kind", "vm state", "created (UTC)", "parent", "description"], rows)


# --- snapshots -------------------------------------------------------------------------------------------
def run_snapshot_create(args: argparse.Namespace) -> int:
    # lazy: +1 module, 4 ms CPU on every vmdeck start
    from tui.services.actions.snapshots import SnapshotKind, create_snapshot

    kind = SnapshotKind(args.kind)
    return run_action(
        args,
        lambda deck: create_snapshot(
            deck, args.name, args.snapshot, kind=kind, host=args.host, reason=_reason(args)
        ),
    )


def run_snapshot_list(args: argparse.Namespace) -> int:
    # lazy: +1 module, 4 ms CPU on every vmdeck start
    from tui.services.actions.snapshots import list_snapshots

    code, out = _read(args, lambda deck: list_snapshots(deck, args.name, args.host))
    if code == 0:
        host, snaps = out
        data = {"ok": True, "vm": args.name, "host": host, "snapshots": [s.to_json() for s in snaps]}
        emit(data, args.json, lambda d: snapshot_table(d["snapshots"]) if d["snapshots"] else "no snapshots")
    return code


def run_snapshot_revert(args: argparse.Namespace) -> int:
    # lazy: +1 module, 4 ms CPU on every vmdeck start
    from tui.services.actions.snapshots import revert_snapshot

    return run_action(
        args,
        lambda deck: revert_snapshot(deck, args.name, args.snapshot, host=args.host, reason=_reason(args)),
    )


def run_snapshot_delete(args: argparse.Namespace) -> int:
    # lazy: +1 module, 4 ms CPU on every vmdeck start
    from tui.services.actions.snapshots import delete_snapshot

    return run_action(
        args,
        lambda deck: delete_snapshot(
            deck,
            args.name,
            args.snapshot,
            host=args.host,
            metadata_only=args.metadata_only,
            reason=_reason(args),
        ),
    )
