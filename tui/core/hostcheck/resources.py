"""Host-check rules for what a host offers beside its devices: capacity against its hardware profile,
the realm's four pools, libvirt/QEMU versions, and the realm-wide checks (migration to each peer)
that the service performs and these rules judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui.core.hostcheck.report import CheckItem, Verdict, clip
from tui.core.model import HardwareProfile
from tui.core.units import format_size

LOW_FREE_FRACTION = 0.05  # a pool with less free space than this of its capacity is a warning


# --- capacity ------------------------------------------------------------------------------------------
def check_capacity(profile: HardwareProfile, cpus: int, memory: int, memory_source: str) -> list[CheckItem]:
    """The node's CPUs and memory against what the profile promises the scheduler."""
    items = []
    if cpus < profile.cores:
        items.append(
            CheckItem(
                "cores",
                "cores",
                Verdict.FAIL,
                f"profile {profile.id!r} promises {profile.cores} cores; the node has {cpus} CPUs",
                f"lower `cores` of profile {profile.id!r} to {cpus}, or give the host another profile",
            )
        )
    else:
        items.append(
            CheckItem("cores", "cores", Verdict.PASS, f"{cpus} CPUs >= profile's {profile.cores} cores")
        )
    have, want = format_size(memory), format_size(profile.memory)
    if memory < profile.memory:
        items.append(
            CheckItem(
                "memory",
                "memory",
                Verdict.FAIL,
                f"profile {profile.id!r} promises {want}; the node has {have} ({memory_source})",
                f"lower `memory` of profile {profile.id!r} to at most {have}, or give the host another profile",
            )
        )
    else:
        items.append(
            CheckItem("memory", "memory", Verdict.PASS, f"{have} >= profile's {want} ({memory_source})")
        )
    return items


# --- pools -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolFacts:
    role: str
    name: str
    exists: bool
    active: bool = False
    autostart: bool = False
    capacity: int = 0
    available: int = 0
    path: str | None = None


def check_pool(pool: PoolFacts, host: str) -> CheckItem:
    fix = f"vmdeck pools create {host}"
    where = f"the {pool.role} pool"
    if not pool.exists:
        return CheckItem("pool", pool.name, Verdict.FAIL, f"{where} is not defined", fix)
    problems = [w for w, ok in (("not active", pool.active), ("not autostarted", pool.autostart)) if not ok]
    if problems:
        return CheckItem("pool", pool.name, Verdict.FAIL, f"{where} is {' and '.join(problems)}", fix)
    if pool.available <= 0:
        return CheckItem(
            "pool",
            pool.name,
            Verdict.FAIL,
            f"{where} has no free space",
            f"free space under {pool.path or 'its path'}",
        )
    free = f"{format_size(pool.available)} free of {format_size(pool.capacity)}"
    if pool.capacity > 0 and pool.available < LOW_FREE_FRACTION * pool.capacity:
        return CheckItem(
            "pool",
            pool.name,
            Verdict.WARN,
            f"{where}: only {free}",
            f"free space under {pool.path or 'its path'}",
        )
    return CheckItem("pool", pool.name, Verdict.PASS, f"{where}: defined, active, autostarted, {free}")


# --- versions --------------------------------------------------------------------------------------------
def version_text(number: int) -> str:
    """libvirt's packed version (major * 1,000,000 + minor * 1,000 + release) as 9.0.0."""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def check_versions(
    host: str, libvirt_version: int, qemu_version: int, peers: Mapping[str, tuple[int, int]]
) -> CheckItem:
    """libvirt and QEMU versions; a realm peer with a different QEMU is a warning (migrating to an
    older QEMU can fail)."""
    mine = f"libvirt {version_text(libvirt_version)}, QEMU {version_text(qemu_version)}"
    differ = sorted(p for p, (_lib, qemu) in peers.items() if qemu != qemu_version)
    if differ:
        shown = ", ".join(f"{p} (QEMU {version_text(peers[p][1])})" for p in differ)
        return CheckItem(
            "versions",
            "versions",
            Verdict.WARN,
            f"{mine}; realm hosts with another QEMU: {shown}",
            "run the same QEMU version on every host of a realm (live migration to an older QEMU can fail)",
        )
    return CheckItem("versions", "versions", Verdict.PASS, mine)


# --- realm-wide checks (done by the service, judged here) ------------------------------------------------
@dataclass(frozen=True)
class PeerResult:
    """The outcome of a check between this host and one peer (shared marker, migration probe)."""

    peer: str
    ok: bool
    detail: str


def check_peers(
    check: str, what: str, results: Sequence[PeerResult], fix: str, skipped: str | None = None
) -> CheckItem:
    if skipped is not None:
        return CheckItem(check, what, Verdict.WARN, f"not checked: {skipped}")
    if not results:
        return CheckItem(check, what, Verdict.WARN, "not checked: the realm has no other reachable host")
    bad = [r for r in results if not r.ok]
    if bad:
        shown = "; ".join(f"{r.peer}: {clip(r.detail)}" for r in bad)
        return CheckItem(check, what, Verdict.FAIL, shown, fix)
    return CheckItem(check, what, Verdict.PASS, "; ".join(f"{r.peer}: {r.detail}" for r in results))
