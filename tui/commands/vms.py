"""`vmdeck vms …`, `vmdeck hosts drain` and `vmdeck pools …`: the VM lifecycle actions headless.

Each command loads the config (--config), opens the store (--db), polls the store's hosts once
(every connected host opened within a bound) and runs one action from tui/services/actions — the
same functions the console calls. Exit codes: 0 done, 1 refused / failed / timed out, 2 usage error.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.commands.options import add_common, add_open_timeout, add_timeout, config_path, mutating
from tui.commands.output import EXIT_PARTLY, emit, fail, say, table, warn
from tui.core.costs import format_cost
from tui.core.units import UnitError, format_size, parse_size


def register(subparsers: Any) -> None:
    vms = subparsers.add_parser("vms", help="VMs on the live fleet: list, start, stop, migrate, scale")
    actions = vms.add_subparsers(dest="vms_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="every VM on every reachable host")
    _common(ls, mutates=False)
    ls.add_argument("--host", help="only this host")
    ls.set_defaults(handler=run_list)

    start = actions.add_parser(
        "start", help="power on a defined VM; with --vcpus/--memory, create one where the scheduler says"
    )
    _common(start)
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
    _guest_args(start)
    start.set_defaults(handler=run_start)

    stop = actions.add_parser("stop", help="graceful shutdown; after --timeout, --force destroys it")
    _common(stop)
    _vm_args(stop)
    add_timeout(stop, 60.0, "seconds to wait for the guest to shut down")
    stop.add_argument("--force", action="store_true", help="destroy it if it has not stopped by then")
    stop.set_defaults(handler=run_stop)

    destroy = actions.add_parser("destroy", help="power off at once (definition and drive stay)")
    _common(destroy)
    _vm_args(destroy)
    destroy.set_defaults(handler=run_destroy)

    undefine = actions.add_parser("undefine", help="remove a shut-off VM's definition")
    _common(undefine)
    _vm_args(undefine)
    undefine.add_argument(
        "--remove-storage",
        "--delete-drives",
        dest="remove_storage",
        action="store_true",
        help="also delete its volumes in the realm's drives and snapshots pools (listed first)",
    )
    undefine.add_argument("--yes", action="store_true", help="do not ask before deleting volumes")
    undefine.set_defaults(handler=run_undefine)

    migrate = actions.add_parser(
        "migrate", help="live-migrate to --to HOST or the scheduler's best other host"
    )
    _common(migrate)
    _vm_args(migrate)
    migrate.add_argument("--to", metavar="HOST")
    _migration_args(migrate)
    migrate.set_defaults(handler=run_migrate)

    scale = actions.add_parser("scale", help="change vCPUs/memory live, within the VM's maximum")
    _common(scale)
    _vm_args(scale)
    scale.add_argument("--vcpus", type=int)
    scale.add_argument("--memory")
    scale.set_defaults(handler=run_scale)

    pools = subparsers.add_parser("pools", help="the realm's four storage pools on a host")
    pool_actions = pools.add_subparsers(dest="pools_command", metavar="ACTION", required=True)
    check = pool_actions.add_parser("check", help="do the pools exist, run and autostart?")
    _common(check, mutates=False)
    check.add_argument("host")
    check.set_defaults(handler=run_pools_check)
    create = pool_actions.add_parser(
        "create", help="define/build/start/autostart what is missing (dir pools)"
    )
    _common(create, target=None)
    create.add_argument("host")
    create.add_argument(
        "--path", default=None, help="base directory on the host (default /var/lib/libvirt/ticrypt)"
    )
    create.set_defaults(handler=run_pools_create)

    # Imported here: tui.commands.vmlife builds on this module's helpers (a module-level import loops).
    from tui.commands import vmlife  # a VM's life after its start: power, console, snapshots, info

    vmlife.register(actions)


def register_drain(hosts_actions: Any) -> None:
    """`vmdeck hosts drain`, added by tui.commands.hosts to its own sub-command set (the code is here,
    beside the other actions that migrate VMs)."""
    drain = hosts_actions.add_parser("drain", help="No Scheduling + migrate every VM away (plan shown first)")
    _common(drain, mutates=False)
    mutating(
        drain,
        when=lambda args: not args.dry_run,
        host="name",
        reason_required=True,
        reason_help="why (required; recorded with the state change)",
    )
    drain.add_argument("name", metavar="NAME")
    drain.add_argument("--dry-run", action="store_true", help="show the plan only; change nothing")
    drain.add_argument("--parallel", type=int, default=4, help="migrations in flight at once (default 4)")
    _migration_args(drain)
    drain.set_defaults(handler=run_drain)


def _common(parser: argparse.ArgumentParser, mutates: bool = True, target: str | None = "name") -> None:
    add_common(parser)
    add_open_timeout(parser)
    if mutates:
        mutating(parser, host="host", target=target)


def _vm_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="VM name or UUID")
    parser.add_argument("--host", help="the VM's host, when the name is on several")


def _guest_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("guest hardware (defaults suit real hosts)")
    group.add_argument("--domain-type", default="kvm", choices=("kvm", "qemu"))
    group.add_argument("--machine", help="machine type (default: libvirt's)")
    group.add_argument("--firmware", metavar="ROM", help="load this ROM instead of SeaBIOS")
    group.add_argument("--cpu-model", help="a named CPU model instead of host-passthrough")
    group.add_argument(
        "--cpu-disable", action="append", default=[], metavar="FEATURE", help="with --cpu-model"
    )


def _migration_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--migrate-uri",
        action="append",
        default=[],
        metavar="[HOST=]URI",
        help="migration data URI (tcp://ADDR[:PORT]) for a destination host, or for all (repeat)",
    )
    parser.add_argument(
        "--assume-shared-storage",
        action="store_true",
        help="the drives are on storage every host sees, which libvirt cannot detect (VIR_MIGRATE_UNSAFE)",
    )


class _InputError(Exception):
    pass


def _size(text: str, flag: str) -> int:
    try:
        return parse_size(text)
    except UnitError as exc:
        raise _InputError(f"{flag}: {exc}") from None


def _settings(args: argparse.Namespace) -> Any:
    from tui.services.actions import ActionSettings, CpuSpec

    uris: dict[str, str] = {}
    for item in getattr(args, "migrate_uri", []):
        host, sep, uri = item.partition("=")
        if sep and "://" not in host:
            uris[host] = uri
        else:
            uris["*"] = item
    cpu = CpuSpec()
    if getattr(args, "cpu_model", None):
        cpu = CpuSpec.custom(args.cpu_model, tuple(args.cpu_disable))
    elif getattr(args, "cpu_disable", None):
        raise _InputError("--cpu-disable needs --cpu-model")
    return ActionSettings(
        read_only=getattr(args, "read_only", False),
        shutdown_timeout=getattr(args, "timeout", None) or 60.0,
        migrate_uris=uris,
        assume_shared_storage=getattr(args, "assume_shared_storage", False),
        domain_type=getattr(args, "domain_type", "kvm"),
        machine=getattr(args, "machine", None),
        firmware=getattr(args, "firmware", None),
        cpu=cpu,
    )


def _deck(args: argparse.Namespace) -> Any:
    from tui.commands.scheduling import _InputError as ConfigInputError
    from tui.commands.scheduling import _load_config
    from tui.services.actions import Deck
    from tui.services.poller import PollerSettings
    from tui.services.store import StoreError, open_store

    try:
        config = _load_config(str(config_path(args)))
    except ConfigInputError as exc:
        raise _InputError(str(exc)) from None
    settings = _settings(args)
    try:
        store = open_store(args.db)
    except StoreError as exc:
        raise _InputError(str(exc)) from None
    poller = PollerSettings(read_only=settings.read_only, open_timeout=args.open_timeout)
    return Deck.open(config, store, settings, poller)


def _run(args: argparse.Namespace, action: Any) -> int:
    """Open a Deck, run `action(deck)` -> Outcome, print it; exit 0 only when it succeeded."""
    try:
        deck = _deck(args)
    except _InputError as exc:
        return fail(str(exc), args.json)
    try:
        outcome = action(deck)
    except _InputError as exc:
        return fail(str(exc), args.json)
    finally:
        deck.close()
    emit(outcome.to_json(), args.json, _outcome_text)
    if outcome.ok:
        return 0
    if args.json:
        warn(_outcome_text(outcome.to_json()))  # the JSON is on stdout; the person sees the line too
    return 1


def _outcome_text(data: dict[str, Any]) -> str:
    mark = "ok" if data["ok"] else data["result"].upper()
    return f"{mark}: {data['message']}"


# --- vms ----------------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    from tui.services.actions import list_vms

    try:
        deck = _deck(args)
    except _InputError as exc:
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
    from tui.core.scheduling.request import RequestError, parse_device_counts
    from tui.services.actions import StartRequest, start_vm

    if args.vcpus is None and args.memory is None:
        from tui.commands.vmlife import run_power_on

        return run_power_on(args)  # no shape: power on the defined VM of that name
    try:
        if args.vcpus is None or args.memory is None:
            raise _InputError("--vcpus and --memory go together (neither: power on the existing VM)")
        try:
            devices = parse_device_counts(args.device)
        except RequestError as exc:
            raise _InputError(str(exc)) from None
        pins = []
        for item in args.pin:
            vcpu, sep, cpuset = item.partition("=")
            if not sep or not vcpu.strip().isdigit() or not cpuset.strip():
                raise _InputError(f"--pin {item!r}: expected VCPU=CPUSET, e.g. 0=2 or 1=4-5")
            pins.append((int(vcpu), cpuset.strip()))
        req = StartRequest(
            name=args.name,
            vcpus=args.vcpus,
            memory=_size(args.memory, "--memory"),
            devices=devices,
            disk=_size(args.disk, "--disk") if args.disk else None,
            image=args.image,
            host=args.host,
            realm=args.realm,
            max_vcpus=args.max_vcpus,
            max_memory=_size(args.max_memory, "--max-memory") if args.max_memory else None,
            network=args.network,
            vcpu_pins=tuple(pins),
            emulator_pin=args.emulator_pin,
            reason=args.reason,
        )
    except _InputError as exc:
        return fail(str(exc), args.json)
    return _run(args, lambda deck: start_vm(deck, req))


def run_stop(args: argparse.Namespace) -> int:
    from tui.services.actions import stop_vm

    return _run(
        args,
        lambda deck: stop_vm(
            deck, args.name, host=args.host, timeout=args.timeout, force=args.force, reason=args.reason
        ),
    )


def run_destroy(args: argparse.Namespace) -> int:
    from tui.services.actions import destroy_vm

    return _run(args, lambda deck: destroy_vm(deck, args.name, host=args.host, reason=args.reason))


def run_undefine(args: argparse.Namespace) -> int:
    from tui.commands.vmlife import run_undefine as undefine

    return undefine(args)


def run_migrate(args: argparse.Namespace) -> int:
    from tui.services.actions import migrate_vm

    return _run(
        args, lambda deck: migrate_vm(deck, args.name, to=args.to, host=args.host, reason=args.reason)
    )


def run_scale(args: argparse.Namespace) -> int:
    from tui.services.actions import scale_vm

    try:
        memory = _size(args.memory, "--memory") if args.memory else None
    except _InputError as exc:
        return fail(str(exc), args.json)
    return _run(
        args,
        lambda deck: scale_vm(
            deck, args.name, vcpus=args.vcpus, memory=memory, host=args.host, reason=args.reason
        ),
    )


# --- hosts drain --------------------------------------------------------------------------------------
def run_drain(args: argparse.Namespace) -> int:
    from tui.services.actions import drain_host

    def show_plan(plan: Any) -> None:
        if args.json:
            return  # the plan is part of the JSON result
        rows = [[m.vm, m.to, format_cost(m.cost), "cold" if m.cold else "live"] for m in plan.moves]
        text = f"plan for {plan.host}: {len(plan.moves)} to move\n" + table(
            ["vm", "to", "cost there", "how"], rows
        )
        if plan.unmovable:
            text += "\n\ncannot move:\n" + "\n".join(f"  {u.vm}: {u.reason}" for u in plan.unmovable)
        say(text + "\n")

    def show_result(result: Any) -> None:
        if not args.json:
            mark = "ok  " if result.ok else "FAIL"
            say(
                f"{mark} {result.move.vm} -> {result.move.to} ({result.seconds:.2f} s) {'' if result.ok else result.message}"
            )

    return _run(
        args,
        lambda deck: drain_host(
            deck,
            args.name,
            args.reason,
            dry_run=args.dry_run,
            parallel=args.parallel,
            on_plan=show_plan,
            on_result=show_result,
        ),
    )


# --- pools --------------------------------------------------------------------------------------------
def run_pools_check(args: argparse.Namespace) -> int:
    from tui.services.actions import check_pools

    return _run(args, lambda deck: check_pools(deck, args.host))


def run_pools_create(args: argparse.Namespace) -> int:
    from tui.services.actions import create_pools
    from tui.services.actions.pools import DEFAULT_POOL_BASE

    return _run(args, lambda deck: create_pools(deck, args.host, args.path or DEFAULT_POOL_BASE, args.reason))
