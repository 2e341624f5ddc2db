"""`vmdeck poll`, `vmdeck fleet export` and `vmdeck reconcile`: the live fleet from the command line.

These commands only read from the hosts, so they open every connection read-only. They poll with the
same Poller the console uses; a host that hangs is reported unreachable after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tui.cli.hosts import add_common_options, load_vm_config, open_db, run
from tui.cli.inputs import InputError
from tui.cli.options import add_open_timeout, add_timeout, mutating
from tui.cli.output import EXIT_PARTLY, emit, jsonable, say, table, warn
from tui.core.costs import format_cost
from tui.core.fleet import Fleet
from tui.core.hosts import HostError, HostRecord, check_against_config
from tui.core.live import (
    HostSnapshot,
    allocation,
    live_fleet,
)
from tui.core.live.reconcile import reconcile
from tui.core.model import VmConfig
from tui.core.units import format_size
from tui.services.hostadmin import reconcile_changes
from tui.services.loadhistory import WINDOW_S, LoadHistory
from tui.services.poller import Poller, PollerSettings

log = logging.getLogger("vmdeck.poll")

RECENT_SAMPLES = 60  # in `poll --json`: the newest samples of the hour (10 minutes at 10 s)


def register(subparsers: Any) -> None:
    poll = subparsers.add_parser("poll", help="poll the hosts and print the live fleet")
    poll.add_argument("--once", action="store_true", help="one poll of every host, then exit")
    poll.add_argument("--summary", action="store_true", help="one line per host, no domains")
    _poll_options(poll)
    poll.set_defaults(handler=run(cmd_poll))

    fleet = subparsers.add_parser("fleet", help="the live fleet as the scheduler sees it")
    sub = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", parser_class=type(fleet))
    fleet.set_defaults(handler=lambda _args: (fleet.print_help(), 2)[1])
    export = sub.add_parser(
        "export", help="FLEET.json from live state (usable wherever the scheduler takes one)"
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    _poll_options(export)
    export.set_defaults(handler=run(cmd_export))

    rec = subparsers.add_parser(
        "reconcile", help="domains vmdeck did not start, VMs it started that are gone"
    )
    rec.add_argument(
        "--adopt", metavar="UUID", action="append", help="record an unmanaged domain as vmdeck's"
    )
    rec.add_argument("--forget", metavar="UUID", action="append", help="drop the record of a missing VM")
    mutating(rec, when=lambda args: bool(args.adopt or args.forget))
    _poll_options(rec)
    rec.set_defaults(handler=run(cmd_reconcile))


def _poll_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", action="append", metavar="NAME", help="only this host (repeatable)")
    add_timeout(p, 10.0, "bound on each host's poll")
    add_open_timeout(p, default=None)
    add_common_options(p)


# --- polling -------------------------------------------------------------------------------------------------
def _inventory(args: argparse.Namespace, config: VmConfig) -> list[HostRecord]:
    hosts = open_db(args).hosts()
    wanted = getattr(args, "host", None)
    if wanted:
        unknown = sorted(set(wanted) - {h.name for h in hosts})
        if unknown:
            raise InputError(f"no host named {', '.join(map(repr, unknown))}")
        hosts = [h for h in hosts if h.name in wanted]
    for h in hosts:
        try:
            check_against_config(h, config)
        except HostError as exc:
            raise InputError(f"{exc}: fix it with `vmdeck hosts edit` or use the right --config") from None
    return hosts


def _settings(args: argparse.Namespace) -> PollerSettings:
    open_timeout = args.timeout if args.open_timeout is None else args.open_timeout
    if not args.timeout > 0 or not open_timeout > 0:
        raise InputError("--timeout and --open-timeout must be > 0")
    return PollerSettings(read_only=True, open_timeout=open_timeout, call_timeout=args.timeout)


def poll_fleet(args: argparse.Namespace) -> tuple[VmConfig, list[HostRecord], dict[str, HostSnapshot], float]:
    config = load_vm_config(args)
    hosts = _inventory(args, config)
    poller = Poller(hosts, config, _settings(args))
    try:
        snaps = poller.poll_once()
    finally:
        poller.close()
    for name, snap in sorted(snaps.items()):
        log.debug("polled %s: %s%s", name, snap.status.value, f" ({snap.error})" if snap.error else "")
    return config, hosts, snaps, poller.stats.last_cycle_s or 0.0


def _host_json(host: HostRecord, snap: HostSnapshot | None, config: VmConfig) -> dict[str, Any]:
    data: dict[str, Any] = (
        snap.to_json() if snap else {"host": host.name, "uri": host.uri, "status": "not polled"}
    )
    data.update(state=host.state.value, profile=host.profile, realm=host.realm)
    data["allocation"] = allocation(host, snap, config).to_json()
    return data


def _load_json(history: LoadHistory, name: str) -> dict[str, Any]:
    """The host's recent load (the poller's last hour, the newest RECENT_SAMPLES samples): times,
    CPU use and memory use (0..1; null where unknown, e.g. CPU on a first poll)."""
    rows = history.host(name)[-RECENT_SAMPLES:]

    def known(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 4)

    return {
        "window_seconds": WINDOW_S,
        "at": [r[0] for r in rows],
        "cpu": [known(r[1]) for r in rows],
        "memory": [known(r[2]) for r in rows],
    }


def _host_line(host: HostRecord, snap: HostSnapshot | None, config: VmConfig) -> list[str]:
    alloc = allocation(host, snap, config)
    status = snap.status.value if snap else "not polled"
    node = f"{snap.node.cpus} CPU {format_size(snap.node.memory)}" if snap and snap.node else "-"
    return [
        host.name,
        host.state.label,
        status,
        node,
        f"{alloc.vms}/{len(snap.domains) if snap else 0}",
        f"{alloc.vcpus}/{alloc.cores}",
        f"{format_size(alloc.memory)}/{format_size(alloc.memory_capacity)}",
        format_cost(alloc.cost.total if alloc.cost else None),
        (snap.error if snap and snap.error else "; ".join(alloc.over())),
    ]


HOST_HEADERS = ["HOST", "STATE", "STATUS", "NODE", "VMS", "VCPUS", "MEMORY", "COST", "ERROR / OVER CAPACITY"]


def _render(hosts: list[HostRecord], snaps: dict[str, HostSnapshot], config: VmConfig, summary: bool) -> str:
    if not hosts:
        return "no hosts (add one with `vmdeck hosts add`)"
    out = [table(HOST_HEADERS, [_host_line(h, snaps.get(h.name), config) for h in hosts])]
    if not summary:
        for h in hosts:
            snap = snaps.get(h.name)
            if not snap or not snap.domains:
                continue
            rows = [
                [
                    d.name,
                    d.uuid,
                    d.state.value,
                    d.vcpus,
                    format_size(d.memory),
                    ",".join(d.hostdevs) or "-",
                    f"{d.cpu_time_ns / 1e9:.1f}s",
                    "-" if d.cpu_rate is None else f"{d.cpu_rate:.2f}",
                ]
                for d in snap.domains
            ]
            stale = "" if snap.live else f" (last known; host {snap.status.value})"
            headers = ["DOMAIN", "UUID", "STATE", "VCPUS", "MEMORY", "PCI", "CPU TIME", "CPU RATE"]
            out.append(f"\n{h.name}{stale}\n" + table(headers, rows))
    return "\n".join(out)


def cmd_poll(args: argparse.Namespace) -> int:
    if not args.once:
        return _poll_forever(args)
    config, hosts, snaps, took = poll_fleet(args)
    history = LoadHistory()  # one poll: one sample per host (the continuous mode keeps the hour)
    for snap in snaps.values():
        history.record(snap)
    data = {
        "hosts": [
            {**_host_json(h, snaps.get(h.name), config), "load": _load_json(history, h.name)} for h in hosts
        ],
        "cycle_seconds": took,
    }
    emit(data, args.json, lambda _: _render(hosts, snaps, config, args.summary))
    missing = not_polled(hosts, snaps)
    if missing:
        warn("partly done: " + "; ".join(f"{name}: {why}" for name, why in missing.items()))
        return EXIT_PARTLY
    return 0


def not_polled(hosts: list[HostRecord], snaps: dict[str, HostSnapshot]) -> dict[str, str]:
    """{host: why} for each host that should have answered and did not (Disabled hosts are not
    polled on purpose and are not counted): the hosts that make a command "partly done"."""
    missing: dict[str, str] = {}
    for h in hosts:
        if not h.connected:
            continue
        snap = snaps.get(h.name)
        if snap is None:
            missing[h.name] = "not polled"
        elif not snap.live:
            missing[h.name] = f"{snap.status.value}" + (f" ({snap.error})" if snap.error else "")
    return missing


def _poll_forever(args: argparse.Namespace) -> int:
    """Print each snapshot as it arrives (one line, or one JSON object per line) until interrupted."""
    config = load_vm_config(args)
    hosts = {h.name: h for h in _inventory(args, config)}
    poller = Poller(hosts.values(), config, _settings(args))
    lock = threading.Lock()

    def show(snap: HostSnapshot) -> None:
        host = hosts[snap.host]
        with lock:
            if args.json:
                data = {**_host_json(host, snap, config), "load": _load_json(poller.history, snap.host)}
                sys.stdout.write(json.dumps(jsonable(data)) + "\n")
            else:
                say("  ".join(str(c) for c in _host_line(host, snap, config)).rstrip())
            sys.stdout.flush()

    poller.subscribe(show)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    poller.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        poller.close()
    return 0


# --- export and reconcile ------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    config, hosts, snaps, _ = poll_fleet(args)
    fleet = live_fleet(hosts, snaps, config)
    document = fleet.to_json()
    Fleet.from_json(document, config)  # the export must load wherever a FLEET.json is taken
    missing = not_polled(hosts, snaps)
    for name, why in missing.items():
        warn(f"{name} is {why}: exported as no-scheduling")
    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {args.output}: {exc.strerror}") from None
        if args.json:
            emit({"ok": True, "output": args.output, "hosts": len(fleet.hosts)}, True, str)
    else:
        sys.stdout.write(text)
    return EXIT_PARTLY if missing else 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    config, hosts, snaps, _ = poll_fleet(args)
    store = open_db(args)
    changed: list[str] = []
    if args.adopt or args.forget:
        changed = _apply(store, snaps, args)
    findings = reconcile(store.managed_vms(), snaps)
    data = {"findings": [f.to_json() for f in findings], "changed": changed}

    def human(_: Any) -> str:
        lines = [f"{c}" for c in changed]
        if not findings:
            lines.append("nothing to reconcile: every domain is vmdeck's and every VM it started is present")
        else:
            rows = [[f.kind.value, f.host, f.name, f.uuid, f.action] for f in findings]
            lines.append(table(["KIND", "HOST", "NAME", "UUID", "WHAT TO DO"], rows))
        return "\n".join(lines)

    emit(data, args.json, human)
    missing = not_polled(hosts, snaps)
    if missing:
        warn("partly done: not reconciled: " + "; ".join(f"{n}: {why}" for n, why in missing.items()))
        return EXIT_PARTLY
    return 0


def _apply(store: Any, snaps: dict[str, HostSnapshot], args: argparse.Namespace) -> list[str]:
    """Adopt/forget (tui/services/hostadmin.py, shared with the console), all checked first."""
    try:
        return reconcile_changes(store, snaps, args.adopt or [], args.forget or [], args.reason)
    except HostError as exc:
        raise InputError(str(exc)) from None
