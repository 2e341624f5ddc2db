"""`vmdeck hosts check [NAME ...|--all] [--json]`: is each host ready for its profile and realm?

Checks through libvirt (tui/services/hostcheck): KVM, IOMMU, the profile's PCI devices, cores and
memory, the realm's four pools, versions, shared storage (a marker volume) and live migration (a
paused probe VM) between the realm's hosts. Prints every item PASS / WARN / FAIL with its fix and
keeps the result for the console (hostchecks.json in the store directory). Exit 0 when nothing
failed (warnings allowed), 1 when an item failed or a host could not be checked, 2 usage error.
`hosts add` runs the host's own checks quietly through `check_after_add`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

import filelock

from tui.cli.deck import action_options, guest_args, migration_args, open_deck
from tui.cli.inputs import InputError
from tui.cli.output import EXIT_USAGE, emit, fail
from tui.core.hostcheck import HostCheckReport, Verdict, exit_code
from tui.core.printable import printable
from tui.services.actions import ActionSettings, Deck
from tui.services.poller import Poller, PollerSettings
from tui.services.store import StoreError

_MARK = {Verdict.PASS: "PASS", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL"}


def register_check(hosts_actions: Any) -> None:
    """`vmdeck hosts check`, added by tui.cli.hosts to its own sub-command set (as `hosts drain`)."""
    p = hosts_actions.add_parser(
        "check", help="is the host ready? KVM, IOMMU, devices, capacity, pools, storage, migration"
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="hosts to check")
    p.add_argument("--all", action="store_true", help="every registered host")
    p.add_argument("--parallel", type=int, default=4, help="hosts checked at once (default 4)")
    # Not `mutating`: read-only mode does not refuse the check, it skips the two items that write.
    action_options(p, mutates=False)
    p.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="skip the two checks that write for a moment (marker volume, probe VM)",
    )
    migration_args(p)
    guest_args(p)  # the probe VM is built like a VM start (domain type, firmware, CPU model)
    p.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    # lazy: tui.services.hostcheck is +12 modules, 12 ms CPU on every vmdeck start
    from tui.services.hostcheck import CheckCache, check_hosts

    if bool(args.names) == bool(args.all):
        return fail("name the hosts to check, or give --all (not both)", args.json, code=EXIT_USAGE)
    if args.parallel < 1:
        return fail("--parallel must be at least 1", args.json, code=EXIT_USAGE)
    try:
        deck = open_deck(args)
    except InputError as exc:
        return fail(str(exc), args.json)
    try:
        records = deck.store.hosts()
        known = [h.name for h in records]
        # --all leaves Disabled hosts out (they are not connected by design); naming one is refused.
        skipped = [h.name for h in records if not h.connected] if args.all else []
        names = [n for n in known if n not in skipped] if args.all else list(args.names)
        if not names and not skipped:
            return fail("no hosts registered (add one with `vmdeck hosts add`)", args.json)
        reports = check_hosts(deck, names, args.parallel)
    finally:
        deck.close()
    # Unknown names are not cached: the cache holds what is known about registered hosts.
    try:
        CheckCache.of_store(deck.store).save(r for r in reports if r.host in known)
    except (OSError, StoreError, filelock.Timeout) as exc:
        sys.stderr.write(f"vmdeck: warning: the results are not kept for the console: {exc}\n")
    data = {"ok": exit_code(reports) == 0, "hosts": [r.to_json() for r in reports], "skipped": skipped}

    def human(_: Any) -> str:
        text = "\n\n".join(report_text(r) for r in reports)
        if skipped:
            text += f"\n\nnot checked (Disabled): {', '.join(printable(n) for n in skipped)}"
        return text.strip()

    emit(data, args.json, human)
    return exit_code(reports)


def report_text(report: HostCheckReport) -> str:
    """A host's report for a terminal: a summary line, then one line per item and its fix."""
    took = f" ({report.seconds:.1f} s)" if report.seconds is not None else ""
    if report.refused is not None:
        return f"host {printable(report.host)}: NOT CHECKED: {printable(report.refused)}"
    head = f"host {printable(report.host)}: {_MARK[report.verdict]} — {printable(report.summary())}{took}"
    lines = [head]
    width = max((len(i.check) for i in report.items), default=0)
    for item in report.items:
        subject = "" if item.subject == item.check else f" {printable(item.subject)}:"
        lines.append(
            f"  {_MARK[item.verdict]}  {item.check.ljust(width)} {subject} {printable(item.detail)}".rstrip()
        )
        if item.fix and item.verdict is not Verdict.PASS:
            lines.append(f"        fix: {printable(item.fix)}")
    return "\n".join(lines)


def check_after_add(store: Any, config: Any, name: str, open_timeout: float = 10.0) -> HostCheckReport:
    """`hosts add`: the new host's own checks (no marker volume, no probe VM: those need the realm's
    other hosts and `vmdeck hosts check`), cached like any check. Never raises for the host's sake:
    a host that cannot be reached gets a report saying so."""
    # lazy: tui.services.hostcheck is +12 modules, 12 ms CPU on every vmdeck start
    from tui.services.hostcheck import CheckCache, check_host

    record = store.host(name)
    poller = Poller([record] if record else [], config, PollerSettings(open_timeout=open_timeout))
    try:
        poller.poll_once()
        report = check_host(
            Deck(config, store, poller, ActionSettings(read_only=True)), name, peers_checks=False
        )
    finally:
        poller.close(wait=0)
    with contextlib.suppress(
        OSError, StoreError, filelock.Timeout
    ):  # a cache that cannot be written loses nothing
        CheckCache.of_store(store).save([report])
    return report
