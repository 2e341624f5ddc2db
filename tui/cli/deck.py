"""The frame every command that acts on the live fleet shares (`vms`, `pools`, `hosts drain`,
`hosts check`): their options, the action settings they build, opening a `Deck` (config, store, one
bounded poll), running one action and printing its `Outcome` (exit 0 only when it succeeded).
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.inputs import InputError
from tui.cli.options import add_common, add_open_timeout, config_path, mutating
from tui.cli.output import emit, fail, warn
from tui.cli.scheduling import load_checked_config
from tui.core.units import UnitError, parse_size
from tui.services.actions import ActionSettings, CpuSpec, Deck
from tui.services.poller import PollerSettings
from tui.services.store import StoreError, open_store


def action_options(
    parser: argparse.ArgumentParser, mutates: bool = True, target: str | None = "name"
) -> None:
    add_common(parser)
    add_open_timeout(parser)
    if mutates:
        mutating(parser, host="host", target=target)


def vm_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="VM name or UUID")
    parser.add_argument("--host", help="the VM's host, when the name is on several")


def guest_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("guest hardware (defaults suit real hosts)")
    group.add_argument("--domain-type", default="kvm", choices=("kvm", "qemu"))
    group.add_argument("--machine", help="machine type (default: libvirt's)")
    group.add_argument("--firmware", metavar="ROM", help="load this ROM instead of SeaBIOS")
    group.add_argument("--cpu-model", help="a named CPU model instead of host-passthrough")
    group.add_argument(
        "--cpu-disable", action="append", default=[], metavar="FEATURE", help="with --cpu-model"
    )


def migration_args(parser: argparse.ArgumentParser) -> None:
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


def size_arg(text: str, flag: str) -> int:
    try:
        return parse_size(text)
    except UnitError as exc:
        raise InputError(f"{flag}: {exc}") from None


def action_settings(args: argparse.Namespace) -> ActionSettings:
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
        raise InputError("--cpu-disable needs --cpu-model")
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


def open_deck(args: argparse.Namespace) -> Deck:
    config = load_checked_config(str(config_path(args)))  # its InputError is the one input error
    settings = action_settings(args)
    try:
        store = open_store(args.db)
    except StoreError as exc:
        raise InputError(str(exc)) from None
    poller = PollerSettings(read_only=settings.read_only, open_timeout=args.open_timeout)
    return Deck.open(config, store, settings, poller)


def run_action(args: argparse.Namespace, action: Any) -> int:
    """Open a Deck, run `action(deck)` -> Outcome, print it; exit 0 only when it succeeded."""
    try:
        deck = open_deck(args)
    except InputError as exc:
        return fail(str(exc), args.json)
    try:
        outcome = action(deck)
    except InputError as exc:
        return fail(str(exc), args.json)
    finally:
        deck.close()
    emit(outcome.to_json(), args.json, outcome_text)
    if outcome.ok:
        return 0
    if args.json:
        warn(outcome_text(outcome.to_json()))  # the JSON is on stdout; the person sees the line too
    return 1


def outcome_text(data: dict[str, Any]) -> str:
    mark = "ok" if data["ok"] else data["result"].upper()
    return f"{mark}: {data['message']}"
