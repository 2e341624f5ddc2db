"""Checks beyond syntax: configurations that load but will not schedule the way the admin expects.

Each finding names the config key path it is about; the config loader turns the path into a file
and line. The curve lab reuses `lint_curve` to validate edits as they are typed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui.core.curves import Curve, HardSoft, Piecewise
from tui.core.diagnostics import Severity
from tui.core.model import HardwareProfile, VmConfig
from tui.core.units import format_size

KeyPath = tuple[str | int, ...]
ROOT: KeyPath = ("ticrypt", "vm")
MIN_REGISTRATION_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: KeyPath
    message: str


def _err(path: KeyPath, message: str) -> Finding:
    return Finding(Severity.ERROR, path, message)


def _warn(path: KeyPath, message: str) -> Finding:
    return Finding(Severity.WARNING, path, message)


def lint_curve(curve: Curve, path: KeyPath) -> list[Finding]:
    found: list[Finding] = []
    if isinstance(curve, HardSoft):
        if curve.soft <= 0:
            found.append(_err(path + ("soft",), f"soft must be more than 0 (got {curve.soft:g})"))
        if curve.soft >= curve.hard:
            found.append(_err(path + ("soft",), f"soft ({curve.soft:g}) must be below hard ({curve.hard:g})"))
        if curve.hard_amt < curve.soft_amt:
            found.append(
                _warn(
                    path + ("hardAmt",),
                    f"hardAmt ({curve.hard_amt:g}) is below softAmt ({curve.soft_amt:g}): the cost falls "
                    "as the host fills up, so the scheduler will prefer fuller hosts",
                )
            )
    if isinstance(curve, Piecewise):
        if curve.max is not None and curve.max < curve.cutoff:
            found.append(
                _warn(
                    path + ("max",),
                    f"max ({curve.max:g}) is below cutoff ({curve.cutoff:g}): the high branch can never be reached",
                )
            )
        found += lint_curve(curve.low, path + ("low",))
        found += lint_curve(curve.high, path + ("high",))
    if curve.scale < 0:
        found.append(_warn(path + ("scale",), f"negative scale ({curve.scale:g}) turns costs into rewards"))
    return found


def _resource_limit(curve: Curve | None) -> float:
    return math.inf if curve is None else curve.finite_limit()


def _overcommit(
    cf_id: str, profile: HardwareProfile, resource: str, limit: float, capacity: float
) -> Finding | None:
    path = ROOT + ("cost-functions", cf_id, resource)
    fmt = format_size if resource == "memory" else (lambda v: f"{v:g} vCPUs")
    have = fmt(capacity) if resource == "memory" else f"{capacity:g} cores"
    if math.isinf(limit) and limit > 0:
        return _warn(
            path,
            f"cost function {cf_id!r} never refuses on {resource}: profile {profile.id!r} ({have}) "
            "can be given any amount (unbounded overcommit)",
        )
    if limit > capacity:
        return _warn(
            path,
            f"cost function {cf_id!r} admits up to {fmt(limit)} on profile {profile.id!r}, which has {have} "
            f"(overcommit {limit / capacity:.2g}x)",
        )
    return None


def lint_config(config: VmConfig) -> list[Finding]:
    found: list[Finding] = []
    for cid, cf in config.cost_functions.items():
        base = ROOT + ("cost-functions", cid)
        for key in ("vms", "vcpus", "memory"):
            curve = getattr(cf, key)
            if curve is not None:
                found += lint_curve(curve, base + (key,))
        for kind, curve in cf.devices.items():
            found += lint_curve(curve, base + ("devices", kind))
        if not cf.has_resource_curve:
            found.append(
                _warn(
                    base,
                    f"cost function {cid!r} has no vms, vcpus or memory curve: VMs without devices are never "
                    "refused on its hosts, which exhausts them quickly (seed 002 danger note)",
                )
            )
        if not config.profiles_using(cid):
            found.append(_warn(base, f"cost function {cid!r} is not used by any hardware profile"))

    for pid, profile in config.hardware_profiles.items():
        ppath = ROOT + ("hardware-profiles", pid)
        profile_cf = config.cost_functions.get(profile.cost_function)
        seen: set[str] = set()
        for i, device in enumerate(profile.devices):
            if device.addr in seen:
                found.append(
                    _err(
                        ppath + ("devices", i, "addr"), f"PCI address {device.addr} is listed more than once"
                    )
                )
            seen.add(device.addr)
        if profile_cf is None:
            continue
        for kind in sorted({d.type for d in profile.devices}):
            if kind not in profile_cf.devices:
                index = next(i for i, d in enumerate(profile.devices) if d.type == kind)
                found.append(
                    _warn(
                        ppath + ("devices", index, "type"),
                        f"cost function {profile_cf.id!r} has no curve for device type {kind!r}: it counts as "
                        f"'unavailable', so these devices can never be used (add devices.{kind} to {profile_cf.id!r})",
                    )
                )
        for resource, capacity in (("vcpus", float(profile.cores)), ("memory", float(profile.memory))):
            finding = _overcommit(
                profile_cf.id, profile, resource, _resource_limit(getattr(profile_cf, resource)), capacity
            )
            if finding is not None:
                found.append(finding)

    for rid, realm in config.realms.items():
        rpath = ROOT + ("realms", rid)
        if realm.registration_timeout_s < MIN_REGISTRATION_TIMEOUT_S:
            found.append(
                _warn(
                    rpath + ("registration-timeout",),
                    f"registration-timeout of {realm.registration_timeout_s:g} s is under 60 s: VMs may not boot "
                    "and register in time and would fail (seed 000 danger note)",
                )
            )
        lo, hi = realm.drives.min_size, realm.drives.max_size
        if lo is not None and hi is not None and lo > hi:
            found.append(
                _err(
                    rpath + ("drives", "min-size"),
                    f"drives.min-size ({format_size(lo)}) is larger than drives.max-size ({format_size(hi)})",
                )
            )
    return found
