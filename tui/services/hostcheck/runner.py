"""Running the readiness check of one host, or of several at once, through libvirt (remote, like
every other call): the sections of the host itself (sections.py), then the realm-wide checks against
its peers (realm.py), each guarded so that what goes wrong becomes that section's FAIL item
(calls.py). The rules that judge the facts are in tui/core/hostcheck/.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import libvirt

from tui.core.hostcheck import CheckItem, HostCheckReport, Verdict, access_hint
from tui.core.hostcheck.hardware import check_iommu, check_kvm, parse_capabilities
from tui.core.hostcheck.report import clip
from tui.services.actions.deck import Deck
from tui.services.actions.outcome import Refused
from tui.services.hostcheck.calls import HostCalls, guard
from tui.services.hostcheck.realm import migration_item, realm_peers, shared_storage_item
from tui.services.hostcheck.sections import (
    any_iommu_group,
    capacity_items,
    device_items,
    pool_items,
    versions_item,
)

SHARED_ROLES = ("drives", "bricks")  # the pools VM drives and images live in: these must be shared


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- one host ------------------------------------------------------------------------------------------
def check_host(deck: Deck, name: str, *, peers_checks: bool = True) -> HostCheckReport:
    """Every check of one host. A host vmdeck cannot act on (unknown, Disabled, unreachable, unknown
    profile) gets a report with `refused` saying why and no items."""
    began = time.perf_counter()
    try:
        record, conn = deck.connect(name)
    except Refused as exc:
        hint = access_hint(str(exc))
        why = clip(str(exc)) + (f" — {hint}" if hint else "")
        return HostCheckReport(name, _now(), refused=why, seconds=time.perf_counter() - began)
    profile = deck.config.hardware_profiles.get(record.profile)
    if profile is None:
        why = f"host {name!r} has hardware profile {record.profile!r}, which the config does not define"
        return HostCheckReport(name, _now(), refused=why, seconds=time.perf_counter() - began)
    realm = deck.config.realms.get(record.realm)
    call = HostCalls(deck, name, conn)
    items: list[CheckItem] = []
    devices: list[CheckItem] = []
    groups_seen = [False]

    def kvm() -> list[CheckItem]:
        caps = parse_capabilities(call(conn.getCapabilities, what="capabilities"))
        error = None
        try:
            call(conn.getDomainCapabilities, None, None, None, "kvm", 0, what="domain capabilities")
        except libvirt.libvirtError as exc:
            # A read-only connection may not ask; the capabilities have answered already.
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_DENIED:
                error = exc.get_error_message() or str(exc)
        devices.extend(device_items(call, profile, groups_seen))
        if not profile.devices:
            groups_seen[0] = any_iommu_group(call)
        return [check_kvm(caps, error), check_iommu(caps, groups_seen[0], bool(profile.devices))]

    guard(items, "kvm", "kvm", kvm)
    items.extend(devices)
    guard(items, "capacity", "capacity", lambda: capacity_items(call, profile))
    if realm is None:
        items.append(
            CheckItem("pool", record.realm, Verdict.FAIL, f"realm {record.realm!r} is not in the config")
        )
    else:
        for role, pool in realm.pools().items():
            guard(
                items,
                "pool",
                pool,
                functools.partial(pool_items, call, role, pool, name),
            )
    peers = realm_peers(deck, record) if realm is not None else {}
    guard(items, "versions", "versions", lambda: [versions_item(call, name, peers)])
    if realm is not None and peers_checks:
        for role in SHARED_ROLES:
            pool = realm.pools()[role]
            guard(
                items,
                "shared-storage",
                pool,
                functools.partial(shared_storage_item, deck, call, name, pool, peers),
            )
        guard(items, "migration", "migration", lambda: [migration_item(deck, call, record, peers)])
    return HostCheckReport(name, _now(), tuple(items), seconds=time.perf_counter() - began)


def check_hosts(deck: Deck, names: Iterable[str], parallel: int = 4) -> list[HostCheckReport]:
    """Check several hosts, `parallel` at a time; reports in the order of `names`."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(parallel, len(wanted))), thread_name_prefix="hostcheck"
    ) as pool:
        return list(pool.map(lambda n: _check_or_report(deck, n), wanted))


def _check_or_report(deck: Deck, name: str) -> HostCheckReport:
    """check_host, with anything unexpected (an unreadable store, a bug) reported for that host
    instead of ending the whole run with a traceback."""
    try:
        return check_host(deck, name)
    except Exception as exc:
        return HostCheckReport(
            name, _now(), refused=f"the check itself failed: {type(exc).__name__}: {clip(str(exc))}"
        )
