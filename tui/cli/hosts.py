"""`vmdeck hosts list|add|edit|remove|import|state` and `vmdeck audit`: the host inventory.

Every command takes --config FILE (profiles and realms to check against), --db DIR (the store) and
--json. Bad input is refused with one clear message and exit 1, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.cli import drain
from tui.cli.hostcheck import check_after_add, register_check, report_text
from tui.cli.inputs import InputError
from tui.cli.options import add_common, config_path, mutating
from tui.cli.output import emit, fail, table
from tui.core.fleet import HostState
from tui.core.hosts import (
    HostError,
    HostRecord,
    check_against_config,
    check_nat,
    missing_state_reason,
)
from tui.core.live import HostSnapshot
from tui.core.model import VmConfig
from tui.services.actions.hoststate import set_host_state
from tui.services.actions.outcome import Outcome
from tui.services.actions.path import ActionPath
from tui.services.config import ConfigFileError, load_config
from tui.services.hostadmin import add_host, edit_host, host_changes, host_record, recorded_on, remove_host
from tui.services.poller import Poller, PollerSettings
from tui.services.store import FleetStore, StoreError
from tui.services.store import open_store as open_store_at
from tui.services.store.imports import DEFAULT_URI_TEMPLATE, read_hosts_file


# --- shared by the live-fleet commands (tui/cli/fleet.py) -------------------------------------------
def add_common_options(parser: argparse.ArgumentParser) -> None:
    add_common(parser)


def open_db(args: argparse.Namespace) -> FleetStore:
    """The store --db names (or the default one)."""
    return open_store_at(args.db)


def load_vm_config(args: argparse.Namespace) -> VmConfig:
    """The configuration, or a refusal naming its first error (`vmdeck validate` shows them all)."""
    path = config_path(args)
    try:
        result = load_config(path)
    except (ConfigFileError, OSError) as exc:
        raise InputError(f"cannot read config {path}: {exc}") from None
    if not result.ok or result.config is None:
        first = result.errors[0] if result.errors else "no configuration"
        raise InputError(
            f"config {path} has {len(result.errors)} error(s), first: {first} (see `vmdeck validate`)"
        )
    return result.config


def run(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn refusals into exit 1 with the message (JSON on stdout with --json)."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (InputError, HostError, StoreError) as exc:
            return fail(str(exc), args.json)

    return wrapped


# --- registration ------------------------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    hosts = subparsers.add_parser(
        "hosts", help="the host inventory: list, add, edit, remove, import, state, drain, check"
    )
    sub = hosts.add_subparsers(dest="hosts_command", metavar="ACTION", parser_class=type(hosts))
    hosts.set_defaults(handler=lambda _args: (hosts.print_help(), 2)[1])

    p = sub.add_parser("list", help="registered hosts")
    add_common_options(p)
    p.set_defaults(handler=run(cmd_list))

    p = sub.add_parser("add", help="register a host")
    p.add_argument("name")
    _host_options(p, required=True)
    mutating(p, host="name")
    p.set_defaults(handler=run(cmd_add))

    p = sub.add_parser("edit", help="change a host's fields")
    p.add_argument("name")
    _host_options(p, required=False)
    p.add_argument("--no-nat", action="store_true", help="remove static address translation")
    mutating(p, host="name", reason_help="why (kept in the audit log; required when the state changes)")
    p.set_defaults(handler=run(cmd_edit))

    p = sub.add_parser("remove", help="forget a host")
    p.add_argument("name")
    mutating(p, host="name")
    add_common_options(p)
    p.set_defaults(handler=run(cmd_remove))

    p = sub.add_parser("import", help="add many hosts from a JSON file or virtdc's nodeinfo.xml")
    p.add_argument("file")
    p.add_argument("--profile", help="profile for entries that name none (required for nodeinfo.xml)")
    p.add_argument("--realm", help="realm for entries that name none")
    p.add_argument("--state", help="state for entries that name none (default enabled)")
    p.add_argument(
        "--uri-template",
        default=DEFAULT_URI_TEMPLATE,
        help="nodeinfo.xml: libvirt URI from {host} and {ip} (default %(default)s)",
    )
    mutating(p, target="file")
    add_common_options(p)
    p.set_defaults(handler=run(cmd_import))

    p = sub.add_parser("state", help="set a host's state: enabled, no-scheduling or disabled")
    p.add_argument("name")
    p.add_argument("state", help="enabled | no-scheduling | disabled")
    mutating(p, host="name", reason_help="why (required; kept in the audit log)")
    add_common_options(p)
    p.set_defaults(handler=run(cmd_state))

    drain.register(sub)
    register_check(sub)

    audit = subparsers.add_parser("audit", help="who changed what, when, from where and why")
    audit.add_argument("--host", metavar="NAME", help="only changes to this host")
    audit.add_argument("--vm", metavar="NAME", help="only entries about this VM")
    audit.add_argument("--actor", metavar="USER", help="only entries by this user (USER or USER@ADDRESS)")
    audit.add_argument(
        "--since", metavar="T", help="only entries since T: an ISO date/time or an age (12h, 7d)"
    )
    audit.add_argument("--limit", type=int, metavar="N", help="only the last N entries")
    add_common_options(audit)
    audit.set_defaults(handler=run(cmd_audit))


def _host_options(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--uri", required=required, help="libvirt URI, e.g. qemu+ssh://root@host/system")
    p.add_argument("--profile", required=required, help="hardware profile id")
    p.add_argument("--realm", help="realm id (default: the only realm, if there is one)")
    p.add_argument("--state", help="enabled | no-scheduling | disabled")
    p.add_argument("--nat-ip", metavar="IP", help="static address translation: address to connect to")
    p.add_argument("--nat-base-port", metavar="N", help="static address translation: base port")
    add_common_options(p)


# --- handlers ------------------------------------------------------------------------------------------------
def _state(text: str | None) -> HostState | None:
    if text is None:
        return None
    try:
        return HostState.parse(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _nat(args: argparse.Namespace) -> Any:
    if (args.nat_ip is None) != (args.nat_base_port is None):
        raise InputError("static address translation needs both --nat-ip and --nat-base-port")
    if args.nat_ip is None:
        return None
    return check_nat(args.nat_ip, args.nat_base_port, "--nat")


def _host_row(h: HostRecord) -> list[str]:
    nat = f"{h.nat.ip}:{h.nat.base_port}+" if h.nat else "-"
    return [h.name, h.state.label, h.profile, h.realm, h.uri, nat]


def cmd_list(args: argparse.Namespace) -> int:
    hosts = open_db(args).hosts()
    problems: dict[str, str] = {}
    if args.config:  # only then: listing must work even where no config can be read
        config = load_vm_config(args)
        for h in hosts:
            try:
                check_against_config(h, config)
            except HostError as exc:
                problems[h.name] = str(exc)
    data = {"hosts": [{**h.to_json(), "problem": problems.get(h.name)} for h in hosts]}

    def human(_: Any) -> str:
        if not hosts:
            return "no hosts (add one with `vmdeck hosts add NAME --uri URI --profile ID`)"
        rows = [_host_row(h) + ([problems.get(h.name, "")] if problems else []) for h in hosts]
        headers = ["NAME", "STATE", "PROFILE", "REALM", "URI", "NAT"] + (["PROBLEM"] if problems else [])
        return table(headers, rows)

    emit(data, args.json, human)
    return 0


def _outcome(outcome: Outcome) -> Outcome:
    if not outcome.ok:
        raise InputError(outcome.message)
    return outcome


def _path(args: argparse.Namespace, store: FleetStore) -> ActionPath:
    return ActionPath(store, read_only=getattr(args, "read_only", False))


def cmd_add(args: argparse.Namespace) -> int:
    config = load_vm_config(args)
    if (args.nat_ip is None) != (args.nat_base_port is None):
        raise InputError("static address translation needs both --nat-ip and --nat-base-port")
    host = host_record(
        config,
        name=args.name,
        uri=args.uri,
        profile=args.profile,
        realm=args.realm,
        state=args.state,
        nat_ip=args.nat_ip,
        nat_base_port=args.nat_base_port,
    )
    name = host.name
    store = open_db(args)
    _outcome(add_host(_path(args, store), host, args.reason))
    # The new host's own checks, quietly: reported, cached for the console, never failing the add.
    check = check_after_add(store, config, name)
    emit(
        {"ok": True, "host": host.to_json(), "check": check.to_json()},
        args.json,
        lambda _: f"added host {name} ({host.state.label})\n{report_text(check)}",
    )
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    config = load_vm_config(args)
    store = open_db(args)
    current = store.host(args.name)
    if current is None:
        raise InputError(f"no host named {args.name!r}")
    nat = _nat(args)
    if args.no_nat and nat is not None:
        raise InputError("--no-nat contradicts --nat-ip/--nat-base-port")
    given = [args.uri, args.profile, args.realm, args.state, nat]
    if all(v is None for v in given) and not args.no_nat:
        raise InputError("nothing to change: give --uri, --profile, --realm, --state or --nat-ip/--no-nat")
    _state(args.state)  # the CLI's own wording for an unknown state
    changes = host_changes(
        config,
        current,
        uri=args.uri,
        profile=args.profile,
        realm=args.realm,
        state=args.state,
        nat=nat,
        no_nat=args.no_nat,
    )
    if not changes:
        emit(
            {"ok": True, "host": current.to_json()}, args.json, lambda _: f"host {args.name}: nothing changed"
        )
        return 0
    _outcome(edit_host(_path(args, store), args.name, changes, args.reason))
    after = store.host(args.name)
    assert after is not None
    emit({"ok": True, "host": after.to_json()}, args.json, lambda _: f"updated host {args.name}")
    return 0


def _live_snapshot(args: argparse.Namespace, record: HostRecord) -> HostSnapshot:
    """One bounded, read-only poll of the host (only made when vmdeck has VMs recorded on it)."""
    poller = Poller([record], load_vm_config(args), PollerSettings(read_only=True))
    try:
        return poller.poll_once()[record.name]
    finally:
        poller.close()


def cmd_remove(args: argparse.Namespace) -> int:
    store = open_db(args)
    record = store.host(args.name)
    snapshot = None
    if record is not None and recorded_on(store.managed_vms(), record.name):
        snapshot = _live_snapshot(args, record)  # which of vmdeck's VMs there run, seen live
    outcome = _outcome(remove_host(_path(args, store), args.name, args.reason, snapshot))
    removed = outcome.details["removed"]
    emit({"ok": True, "removed": removed}, args.json, lambda _: f"removed host {args.name}")
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    state = _state(args.state)
    assert state is not None
    if why := missing_state_reason(args.name, args.reason):
        raise InputError(why)
    store = open_db(args)
    # The one action path (read-only check, the host's lease, audit); no host is connected for it.
    outcome = set_host_state(
        ActionPath(store, read_only=getattr(args, "read_only", False)), args.name, state, args.reason
    )
    if not outcome.ok:
        raise InputError(outcome.message)
    after = store.host(args.name)
    assert after is not None
    emit({"ok": True, "host": after.to_json()}, args.json, lambda _: f"host {args.name} is now {state.label}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    config = load_vm_config(args)
    defaults: dict[str, Any] = {}
    if args.profile:
        defaults["profile"] = args.profile
    if args.state:
        defaults["state"] = (_state(args.state) or HostState.ENABLED).value
    if args.realm:
        defaults["realm"] = args.realm
    elif len(config.realms) == 1:
        defaults["realm"] = next(iter(config.realms))
    result = read_hosts_file(Path(args.file), config, defaults, args.uri_template)
    if result.errors:
        shown = "\n  ".join(result.errors)
        raise InputError(f"nothing imported: {len(result.errors)} problem(s):\n  {shown}")
    if not result.hosts:
        raise InputError(f"nothing to import: {args.file} lists no hosts")
    open_db(args).add_hosts(result.hosts, reason=args.reason, what="host.import")
    data = {"ok": True, "imported": [h.name for h in result.hosts], "warnings": result.warnings}

    def human(_: Any) -> str:
        lines = [f"imported {len(result.hosts)} host(s): {', '.join(h.name for h in result.hosts)}"]
        lines += [f"warning: {w}" for w in result.warnings]
        return "\n".join(lines)

    emit(data, args.json, human)
    return 0


def _change(before: Any, after: Any) -> str:
    """What an audit entry did, for the text table: an action's real result (a failed migration is
    "failed: …", never "created"), or a record's changed fields."""
    if before is None and isinstance(after, dict) and "result" in after:
        target = f" {after['target']}" if after.get("target") else ""
        message = f": {after['message']}" if after.get("message") else ""
        return f"{after['result']}{target}{message}"
    if before is None:
        return "created"
    if after is None:
        return "removed"
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        return ", ".join(f"{k}: {json.dumps(before.get(k))} -> {json.dumps(after.get(k))}" for k in keys)
    return f"{before} -> {after}"


def cmd_audit(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise InputError("--limit must be >= 0")
    store = open_db(args)
    entries = store.audit(args.host, vm=args.vm, actor=args.actor, since=args.since)
    # Damaged lines are never skipped in silence: named with their line numbers.
    problems = store.audit_problems()
    if args.limit is not None:
        entries = entries[len(entries) - args.limit :] if args.limit else []
    data = {"entries": [e.to_json() for e in entries], "problems": problems}
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)

    def human(_: Any) -> str:
        if not entries:
            return "no audit entries" + (
                " matching the filters" if args.host or args.vm or args.actor or args.since else ""
            )
        rows = [
            [
                e.when[:19].replace("T", " "),
                str(e.who),
                e.what,
                e.host or "-",
                e.reason or "-",
                # An action's result (ok, failed, outcome unknown...) before what it changed.
                f"{e.result}: {_change(e.before, e.after)}" if e.result else _change(e.before, e.after),
            ]
            for e in entries
        ]
        return table(["WHEN (UTC)", "WHO", "WHAT", "HOST", "REASON", "CHANGE"], rows)

    emit(data, args.json, human)
    return 0
