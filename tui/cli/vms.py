"""`vmdeck vms …`: the VM lifecycle actions headless (list, start, stop, destroy, undefine, migrate,
scale; a VM's later life — power, console, snapshots, info — is in vmlife.py).

Each command loads the config (--config), opens the store (--db), polls the store's hosts once
(every connected host opened within a bound) and runs one action from tui/services/actions — the
same functions the console calls (the frame: deck.py). Exit codes: 0 done, 1 refused / failed /
timed out, 2 usage error.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli import vmlife
from tui.cli.deck import (
    action_options,
    guest_args,
    migration_args,
    open_deck,
    run_action,
    size_arg,
    vm_args,
)
from tui.cli.inputs import InputError
from tui.cli.options import add_timeout
from tui.cli.output import EXIT_PARTLY, emit, fail, table, warn
from tui.core.scheduling.request import RequestError, parse_device_counts
from tui.core.units import format_size
from tui.services.actions import StartRequest, destroy_vm, list_vms, migrate_vm, scale_vm, start_vm, stop_vm


def register(subparsers: Any) -> None:
    vms = subparsers.add_parser("vms", help="VMs on the live fleet: list, start, stop, migrate, scale")
    actions = vms.add_subparsers(dest="vms_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="every VM on every reachable host")
    action_options(ls, mutates=False)
    ls.add_argument("--host", help="only this host")
    ls.set_defaults(handler=run_list)

    start = actions.add_parser(
        "start", help="power on a defined VM; with --vcpus/--memory, create one where the scheduler says"
    )
    action_options(start)
    start.add_argument("name")
    start.add_argument("--vcpus", type=int, help="with --memory: create a new VM of this shape")
    start.add_argument("--memory", help="e.g. 4GiB (with --vcpus)")
    start.add_argument("--device", action="append", default=[], metavar="TYPE=N", help="PCI devices (repeat)")
    start.add_argument(
        "--disk", help="drive size (default: the image's size, else 10 GiB within the realm's bounds)"
    )
    start.add_argument(
        "--image", metavar="VOLUME", help="back the drive by this image of the realm's bricks pool"
    )
    start.add_argument("--host", help="start here instead of the scheduler's choice (still cost-checked)")
    start.add_argument("--realm", help="the realm (default: the config's only realm)")
    start.add_argument("--max-vcpus", type=int, help="vCPU ceiling for hot-add (default: the host's cores)")
    start.add_argument("--max-memory", help="memory ceiling for the balloon (default: --memory)")
    start.add_argument(
        "--network", help="attach a virtio NIC to this libvirt network (realm's filter applied)"
    )
    start.add_argument(
        "--pin", action="append", default=[], metavar="VCPU=CPUSET", help="pin a vCPU (repeat)"
    )
    start.add_argument("--emulator-pin", metavar="CPUSET")
    guest_args(start)
    start.set_defaults(handler=run_start)

    stop = actions.add_parser("stop", help="graceful shutdown; after --timeout, --force destroys it")
    action_options(stop)
    vm_args(stop)
    add_timeout(stop, 60.0, "seconds to wait for the guest to shut down")
    stop.add_argument("--force", action="store_true", help="destroy it if it has not stopped by then")
    stop.set_defaults(handler=run_stop)

    destroy = actions.add_parser("destroy", help="power off at once (definition and drive stay)")
    action_options(destroy)
    vm_args(destroy)
    destroy.set_defaults(handler=run_destroy)

    undefine = actions.add_parser("undefine", help="remove a shut-off VM's definition")
    action_options(undefine)
    vm_args(undefine)
    undefine.add_argument(
        "--remove-storage",
        "--delete-drives",
        dest="remove_storage",
        action="store_true",
        help="also delete its volumes in the realm's drives and snapshots pools (listed first)",
    )
    undefine.add_argument("--yes", action="store_true", help="do not ask before deleting volumes")
    undefine.set_defaults(handler=vmlife.run_undefine)

    migrate = actions.add_parser(
        "migrate", help="live-migrate to --to HOST or the scheduler's best other host"
    )
    action_options(migrate)
    vm_args(migrate)
    migrate.add_argument("--to", metavar="HOST")
    migration_args(migrate)
    migrate.set_defaults(handler=run_migrate)

    scale = actions.add_parser("scale", help="change vCPUs/memory live, within the VM's maximum")
    action_options(scale)
    vm_args(scale)
    scale.add_argument("--vcpus", type=int)
    scale.add_argument("--memory")
    scale.set_defaults(handler=run_scale)

    vmlife.register(actions)  # a VM's life after its start: power, console, snapshots, info


# --- vms ----------------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    try:
        deck = open_deck(args)
    except InputError as exc:
        return fail(str(exc), args.json)
    try:
        rows, statuses = list_vms(deck, args.host)
    finally:
        deck.close()
    data = {"vms": [r.to_json() for r in rows], "hosts": statuses}
    emit(data, args.json, _list_text)
    # Disabled hosts are not polled on purpose; any other host that did not answer is "partly done".
    down = sorted(h for h, s in statuses.items() if s not in ("connected", "disabled"))
    if down:
        warn(f"not listed (host not reachable): {', '.join(down)}")
        return EXIT_PARTLY
    return 0


def _list_text(data: dict[str, Any]) -> str:
    rows = [
        [
            v["name"],
            v["host"],
            v["state"],
            v["vcpus"],
            format_size(v["memory"]),
            ",".join(v["hostdevs"]) or "-",
            "yes" if v["managed"] else "no",
        ]
        for v in data["vms"]
    ]
    out = table(["name", "host", "state", "vcpus", "memory", "pci", "vmdeck"], rows)
    down = [f"{h}: {s}" for h, s in data["hosts"].items() if s != "connected"]
    return out + ("\n\nnot listed: " + "; ".join(down) if down else "")


def run_start(args: argparse.Namespace) -> int:
    if args.vcpus is None and args.memory is None:
        return vmlife.run_power_on(args)  # no shape: power on the defined VM of that name
    try:
        if args.vcpus is None or args.memory is None:
            raise InputError("--vcpus and --memory go together (neither: power on the existing VM)")
        try:
            devices = parse_device_counts(args.device)
        except RequestError as exc:
            raise InputError(str(exc)) from None
        pins = []
        for item in args.pin:
            vcpu, sep, cpuset = item.partition("=")
            if not sep or not vcpu.strip().isdigit() or not cpuset.strip():
                raise InputError(f"--pin {item!r}: expected VCPU=CPUSET, e.g. 0=2 or 1=4-5")
            pins.append((int(vcpu), cpuset.strip()))
        req = StartRequest(
            name=args.name,
            vcpus=args.vcpus,
            memory=size_arg(args.memory, "--memory"),
            devices=devices,
            disk=size_arg(args.disk, "--disk") if args.disk else None,
            image=args.image,
            host=args.host,
            realm=args.realm,
            max_vcpus=args.max_vcpus,
            max_memory=size_arg(args.max_memory, "--max-memory") if args.max_memory else None,
            network=args.network,
            vcpu_pins=tuple(pins),
            emulator_pin=args.emulator_pin,
            reason=args.reason,
        )
    except InputError as exc:
        return fail(str(exc), args.json)
    return run_action(args, lambda deck: start_vm(deck, req))


def run_stop(args: argparse.Namespace) -> int:
    return run_action(
        args,
        lambda deck: stop_vm(
            deck, args.name, host=args.host, timeout=args.timeout, force=args.force, reason=args.reason
        ),
    )


def run_destroy(args: argparse.Namespace) -> int:
    return run_action(args, lambda deck: destroy_vm(deck, args.name, host=args.host, reason=args.reason))


def run_migrate(args: argparse.Namespace) -> int:
    return run_action(
        args, lambda deck: migrate_vm(deck, args.name, to=args.to, host=args.host, reason=args.reason)
    )


def run_scale(args: argparse.Namespace) -> int:
    try:
        memory = size_arg(args.memory, "--memory") if args.memory else None
    except InputError as exc:
        return fail(str(exc), args.json)
    return run_action(
        args,
        lambda deck: scale_vm(
            deck, args.name, vcpus=args.vcpus, memory=memory, host=args.host, reason=args.reason
        ),
    )
