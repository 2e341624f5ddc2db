"""`vmdeck store copy|check`: move a fleet between a directory and a PostgreSQL server; check a store.

    vmdeck store copy --from DIR --to postgresql://vmdeck@db.example/vmdeck   (and back)
    vmdeck store check [--db DIR|URL] [--json]

Locations are shown with any password redacted. Exit 1 when a store cannot be opened or has problems.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.output import emit, fail
from tui.services.store import ENV_VAR, StoreError, open_store
from tui.services.store.copy import copy_store


def register(subparsers: Any) -> None:
    store = subparsers.add_parser("store", help="the store: copy between backends, check")
    sub = store.add_subparsers(dest="store_command", metavar="ACTION", parser_class=type(store))
    store.set_defaults(handler=lambda _args: (store.print_help(), 2)[1])

    p = sub.add_parser(
        "copy", help="copy hosts, VMs and the audit log from one store to another (idempotent)"
    )
    p.add_argument("--from", dest="source", required=True, metavar="DIR|URL", help="the store to read")
    p.add_argument("--to", dest="dest", required=True, metavar="DIR|URL", help="the store to add to")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_copy)

    p = sub.add_parser("check", help="connectivity, schema version and counts of a store")
    p.add_argument(
        "--db", metavar="DIR|URL", help=f"the store (default: ${ENV_VAR}, then the default directory)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_check)


def cmd_copy(args: argparse.Namespace) -> int:
    try:
        source = open_store(args.source)
        dest = open_store(args.dest)
        if source.location == dest.location:
            return fail(f"--from and --to are the same store ({source.location})", args.json)
        result = copy_store(source, dest)
    except StoreError as exc:
        return fail(str(exc), args.json)
    data = {
        "ok": True,
        "from": source.location,
        "to": dest.location,
        "added": result.added,
        "conflicts": result.conflicts,
    }

    def human(_: Any) -> str:
        a = result.added
        lines = [
            f"copied {source.location} -> {dest.location}: "
            f"{a['hosts']} host(s), {a['vms']} VM(s), {a['audit']} audit entr{'y' if a['audit'] == 1 else 'ies'} added"
        ]
        lines += [f"warning: {c}" for c in result.conflicts]
        return "\n".join(lines)

    emit(data, args.json, human)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db)
        backend = "postgresql" if hasattr(store, "schema_version") else "local"
        counts_of = getattr(store, "counts", None)
        if callable(counts_of):
            counts = dict(counts_of())
        else:
            counts = {
                "hosts": len(store.hosts()),
                "vms": len(store.managed_vms()),
                "audit": len(store.audit()),
            }
            leases = getattr(store, "leases", None)
            if callable(leases):
                counts["leases"] = len(leases())
        version = counts.pop("schema_version", None)
        problems = store.audit_problems() if hasattr(store, "audit_problems") else []
    except StoreError as exc:
        return fail(str(exc), args.json)
    data = {
        "ok": not problems,
        "backend": backend,
        "location": store.location,
        "reachable": True,
        "schema_version": version,
        "counts": counts,
        "problems": problems,
    }

    def human(_: Any) -> str:
        lines = [
            f"{backend} store {store.location}: reachable"
            + (f", schema version {version}" if version is not None else ""),
            "  " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        ]
        lines += [f"  problem: {p}" for p in problems]
        return "\n".join(lines)

    emit(data, args.json, human)
    return 0 if not problems else 1
