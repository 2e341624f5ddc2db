"""From a parsed `ticrypt.vm` tree to the immutable core objects, reporting every schema problem.

The parameters and defaults are those the tiCrypt documentation gives (seeds 000-002). Reading goes
on after an error so that one run reports every mistake in the file, not just the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.core import limits
from tui.core.costs import CostFunction
from tui.core.curves import CURVE_TYPES, Constant, Curve, HardSoft, Invalid, Linear, Piecewise, Unavailable
from tui.core.diagnostics import Severity
from tui.core.model import (
    DEFAULT_POLL_FREQUENCY_S,
    DEFAULT_REGISTRATION_TIMEOUT_S,
    Device,
    DriveCache,
    DrivesPolicy,
    Graphics,
    HardwareProfile,
    LicensingDriver,
    Realm,
    ServiceSettings,
    VmConfig,
)
from tui.core.pci import normalize_pci
from tui.services.config.reader import Reader, did_you_mean
from tui.services.config.sourceindex import KeyPath

ROOT: KeyPath = ("ticrypt", "vm")

SERVICE_KEYS = (
    "mongodb",
    "cost-functions",
    "hardware-profiles",
    "realms",
    "licensing-server-driver",
    "reload-freq",
    "firewalld",
    "akka",
)
COMMON_CURVE_KEYS = ("curve", "scale", "max")
CURVE_KEYS: dict[type[Curve], tuple[str, ...]] = {
    Constant: ("value",),
    Invalid: (),
    Linear: ("slope", "base"),
    HardSoft: ("soft", "hard", "softAmt", "hardAmt"),
    Unavailable: (),
    Piecewise: ("cutoff", "low", "high"),
}
COST_FUNCTION_KEYS = ("name", "description", "vms", "vcpus", "memory", "devices", "scale", "offset")
PROFILE_KEYS = ("name", "description", "cores", "memory", "devices", "cost-function")
DEVICE_KEYS = ("type", "addr")
REALM_KEYS = (
    "disabled",
    "driver",
    "name",
    "volumes-pool",
    "drives-pool",
    "bricks-pool",
    "snapshots-pool",
    "log-scheduling",
    "registration-timeout",
    "poll-frequency",
    "network-filter",
    "graphics",
    "drives",
    "uploads",
    "scaling",
)
DRIVES_KEYS = ("lazy-allocation", "cache", "min-size", "max-size")
REALM_DRIVERS = ("libvirt",)


def build_curve(reader: Reader, value: Any, path: KeyPath) -> Curve | None:
    """One curve object (nested piecewise curves included); None when it cannot be built."""
    if not isinstance(value, Mapping):
        reader.error(path, "expected a curve object such as { curve: linear, slope: 1, base: 0 }")
        return None
    kind = reader.string(value, path, "curve")
    if kind is None:
        reader.error(path, f"missing 'curve' (one of: {', '.join(CURVE_TYPES)})")
        return None
    cls = CURVE_TYPES.get(kind)
    if cls is None:
        head = kind.split()[0] if kind.split() else kind
        if ":" in kind and head in CURVE_TYPES:
            reader.error(
                path + ("curve",),
                f"curve type reads as {kind!r}: keys on one line need commas between them "
                f"(e.g. {{ curve: {head}, cutoff: 1, ... }})",
            )
        else:
            reader.error(
                path + ("curve",),
                f"unknown curve type {kind!r}{did_you_mean(kind, CURVE_TYPES)}; "
                f"expected one of: {', '.join(CURVE_TYPES)}",
            )
        return None
    reader.check_keys(value, path, COMMON_CURVE_KEYS + CURVE_KEYS[cls], f"a {kind} curve")
    scale = reader.real(value, path, "scale", 1.0)
    limit = reader.real_or_size(value, path, "max")
    common: dict[str, Any] = {"kind": kind, "scale": 1.0 if scale is None else scale, "max": limit}
    if cls is Constant:
        number = reader.real(value, path, "value", required=True)
        return None if number is None else Constant(value=number, **common)
    if cls is Linear:
        slope = reader.real_or_size(value, path, "slope", required=True)
        base = reader.real_or_size(value, path, "base", required=True)
        if slope is None or base is None:
            return None
        return Linear(slope=slope, base=base, **common)
    if cls is HardSoft:
        soft = reader.real_or_size(value, path, "soft", required=True)
        hard = reader.real_or_size(value, path, "hard", required=True)
        soft_amt = reader.real(value, path, "softAmt", 1.0)
        hard_amt = reader.real(value, path, "hardAmt", 10.0)
        if soft is None or hard is None or soft_amt is None or hard_amt is None:
            return None
        return HardSoft(soft=soft, hard=hard, soft_amt=soft_amt, hard_amt=hard_amt, **common)
    if cls is Piecewise:
        cutoff = reader.real_or_size(value, path, "cutoff", required=True)
        branches = {}
        for branch in ("low", "high"):
            if branch not in value:
                reader.error(path + (branch,), f"missing required {branch!r} (a curve)")
                continue
            branches[branch] = build_curve(reader, value[branch], path + (branch,))
        low, high = branches.get("low"), branches.get("high")
        if cutoff is None or low is None or high is None:
            return None
        return Piecewise(cutoff=cutoff, low=low, high=high, **common)
    return cls(**common)


def _build_cost_function(reader: Reader, cid: str, obj: Any, path: KeyPath) -> CostFunction | None:
    if not isinstance(obj, Mapping):
        reader.error(path, f"cost function {cid!r} must be a section {{ ... }}")
        return None
    reader.check_keys(obj, path, COST_FUNCTION_KEYS, f"cost function {cid!r}")
    ok = True
    curves: dict[str, Curve | None] = {}
    for key in ("vms", "vcpus", "memory"):
        if key in obj and obj[key] is not None:
            curves[key] = build_curve(reader, obj[key], path + (key,))
            ok = ok and curves[key] is not None
    devices: dict[str, Curve] = {}
    raw_devices = reader.section(obj, path, "devices", required=False)
    for kind, spec in (raw_devices or {}).items():
        curve = build_curve(reader, spec, path + ("devices", kind))
        if curve is None:
            ok = False
        else:
            devices[kind] = curve
    # A negative scale turns every cost into a reward (the fullest host wins); a negative offset only
    # shifts the cost of all hosts of this function against the others, which is a sound preference.
    scale = reader.real(obj, path, "scale", 1.0, minimum=0.0)
    offset = reader.real(obj, path, "offset", 0.0)
    if not ok or scale is None or offset is None:
        return None
    return CostFunction(
        id=cid,
        name=reader.string(obj, path, "name", cid) or cid,
        description=reader.string(obj, path, "description", "") or "",
        vms=curves.get("vms"),
        vcpus=curves.get("vcpus"),
        memory=curves.get("memory"),
        devices=devices,
        scale=scale,
        offset=offset,
    )


def _build_devices(reader: Reader, value: Any, path: KeyPath) -> tuple[Device, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.error(path, '\'devices\' must be a list such as [ {type: "gpu", addr: "02:03.4"} ]')
        return None
    devices: list[Device] = []
    ok = True
    for i, item in enumerate(value):
        where = path + (i,)
        if not isinstance(item, Mapping):
            reader.error(where, 'each device must be an object {type: "...", addr: "BB:SS.F"}')
            ok = False
            continue
        reader.check_keys(item, where, DEVICE_KEYS, "a device")
        kind = reader.string(item, where, "type", required=True)
        addr = reader.string(item, where, "addr", required=True)
        if kind is None or addr is None:
            ok = False
            continue
        try:
            devices.append(Device(kind, normalize_pci(addr)))
        except ValueError as exc:
            reader.error(where + ("addr",), str(exc))
            ok = False
    return tuple(devices) if ok else None


def _build_profile(
    reader: Reader, pid: str, obj: Any, path: KeyPath, cost_functions: Mapping[str, Any]
) -> HardwareProfile | None:
    if not isinstance(obj, Mapping):
        reader.error(path, f"hardware profile {pid!r} must be a section {{ ... }}")
        return None
    reader.check_keys(obj, path, PROFILE_KEYS, f"hardware profile {pid!r}")
    cores = reader.integer(obj, path, "cores", required=True, minimum=1, maximum=limits.MAX_CORES)
    memory = reader.size(obj, path, "memory", required=True)
    if memory is not None and memory <= 0:
        reader.error(path + ("memory",), "'memory' must be more than 0 bytes")
        memory = None
    devices = _build_devices(reader, obj.get("devices"), path + ("devices",))
    cost_function = reader.string(obj, path, "cost-function", required=True)
    if cost_function is not None and cost_function not in cost_functions:
        known = ", ".join(sorted(cost_functions)) or "none defined"
        reader.error(
            path + ("cost-function",),
            f"cost function {cost_function!r} does not exist{did_you_mean(cost_function, cost_functions)}; "
            f"defined: {known}",
        )
        cost_function = None
    if cores is None or memory is None or devices is None or cost_function is None:
        return None
    return HardwareProfile(
        id=pid,
        name=reader.string(obj, path, "name", pid) or pid,
        description=reader.string(obj, path, "description", "") or "",
        cores=cores,
        memory=memory,
        devices=devices,
        cost_function=cost_function,
    )


def _build_realm(reader: Reader, rid: str, obj: Any, path: KeyPath, source: str | None) -> Realm | None:
    if not isinstance(obj, Mapping):
        reader.error(path, f'realm {rid!r} must be a section, e.g. {rid} = {{ include "realms/{rid}.conf" }}')
        return None
    if not obj:
        # A missing or empty include is already reported at the include line.
        if not any(i.path == path and (not i.exists or i.empty) for i in reader.index.includes):
            reader.error(path, f"realm {rid!r} is empty: it has no parameters")
        return None
    unknown = reader.check_keys(obj, path, REALM_KEYS, f"realm {rid!r}")
    for key in unknown:
        nested = obj[key]
        if isinstance(nested, Mapping) and any(k in REALM_KEYS or k == "drives" for k in nested):
            reader.error(
                path + (key,),
                f"realm parameters are nested inside section {key!r}; the service reads them only at the "
                "top level of the realm's file (seed 000: they must not be part of sections)",
            )
    drives_obj = reader.section(obj, path, "drives", required=False) or {}
    dpath = path + ("drives",)
    reader.check_keys(drives_obj, dpath, DRIVES_KEYS, "drives")
    drives = DrivesPolicy(
        lazy_allocation=reader.boolean(drives_obj, dpath, "lazy-allocation", True),
        cache=DriveCache(reader.choice(drives_obj, dpath, "cache", [c.value for c in DriveCache], "default")),
        min_size=reader.size(drives_obj, dpath, "min-size"),
        max_size=reader.size(drives_obj, dpath, "max-size"),
    )
    reserved = tuple(k for k in ("uploads", "scaling") if k in obj)
    for key in reserved:
        reader.warn(path + (key,), f"{key!r} is reserved for future use by the VM service; vmdeck ignores it")
    return Realm(
        id=rid,
        name=reader.string(obj, path, "name", rid) or rid,
        disabled=reader.boolean(obj, path, "disabled", False),
        driver=reader.choice(obj, path, "driver", REALM_DRIVERS, "libvirt"),
        volumes_pool=reader.string(obj, path, "volumes-pool", "ticrypt-vm") or "ticrypt-vm",
        drives_pool=reader.string(obj, path, "drives-pool", "ticrypt-vm-drives") or "ticrypt-vm-drives",
        bricks_pool=reader.string(obj, path, "bricks-pool", "ticrypt-bricks") or "ticrypt-bricks",
        snapshots_pool=reader.string(obj, path, "snapshots-pool", "") or "",  # "": named after volumes-pool
        log_scheduling=reader.boolean(obj, path, "log-scheduling", False),
        registration_timeout_s=reader.duration(
            obj, path, "registration-timeout", DEFAULT_REGISTRATION_TIMEOUT_S, positive=True
        )
        or DEFAULT_REGISTRATION_TIMEOUT_S,
        poll_frequency_s=reader.duration(obj, path, "poll-frequency", DEFAULT_POLL_FREQUENCY_S, positive=True)
        or DEFAULT_POLL_FREQUENCY_S,
        network_filter=reader.string(obj, path, "network-filter"),
        # vmdeck's own realm setting: the display of the VMs it creates (serial console always).
        graphics=Graphics(reader.choice(obj, path, "graphics", [g.value for g in Graphics], "vnc")),
        drives=drives,
        reserved_sections=reserved,
        source_file=source,
    )


def _build_service(reader: Reader, vm: Mapping[str, Any]) -> ServiceSettings:
    mongodb = reader.section(vm, ROOT, "mongodb", required=True) or {}
    driver = reader.choice(vm, ROOT, "licensing-server-driver", [d.value for d in LicensingDriver], "none")
    firewalld = reader.section(vm, ROOT, "firewalld", required=False) or {}
    reader.check_keys(firewalld, ROOT + ("firewalld",), ("file-access",), "firewalld")
    file_access = reader.string(firewalld, ROOT + ("firewalld",), "file-access")
    if driver == LicensingDriver.FIREWALLD and not file_access:
        reader.error(
            ROOT + ("licensing-server-driver",),
            "licensing-server-driver is firewalld but firewalld.file-access is not set "
            "(the file where firewall rules are written, e.g. /etc/ticrypt/allowedlist.txt)",
        )
    tcp_path = ROOT + ("akka", "remote", "netty", "tcp")
    tcp: Mapping[str, Any] = {}
    node: Any = vm
    for key in ("akka", "remote", "netty", "tcp"):
        node = node.get(key) if isinstance(node, Mapping) else None
    if isinstance(node, Mapping):
        tcp = node
    port = reader.integer(tcp, tcp_path, "port", minimum=0, maximum=65535)
    return ServiceSettings(
        mongodb=dict(mongodb),
        licensing_server_driver=LicensingDriver(driver),
        reload_freq_s=reader.duration(vm, ROOT, "reload-freq", positive=True),
        firewalld_file_access=file_access,
        akka_hostname=reader.string(tcp, tcp_path, "hostname"),
        akka_port=port,
    )


def build_config(reader: Reader, tree: Mapping[str, Any], source: str) -> VmConfig | None:
    """The whole `ticrypt.vm` section (what could be built); None without a ticrypt.vm section."""
    top = tree.get("ticrypt")
    vm = top.get("vm") if isinstance(top, Mapping) else None
    if not isinstance(vm, Mapping):
        reader.error(ROOT, "no 'ticrypt.vm' section: every setting of the VM service sits under ticrypt.vm")
        return None
    reader.check_keys(vm, ROOT, SERVICE_KEYS, "ticrypt.vm", severity=Severity.WARNING)
    service = _build_service(reader, vm)

    cost_functions: dict[str, CostFunction] = {}
    raw_cfs = reader.section(vm, ROOT, "cost-functions", required=True) or {}
    for cid, obj in raw_cfs.items():
        built = _build_cost_function(reader, cid, obj, ROOT + ("cost-functions", cid))
        if built is not None:
            cost_functions[cid] = built

    profiles: dict[str, HardwareProfile] = {}
    raw_profiles = reader.section(vm, ROOT, "hardware-profiles", required=True) or {}
    for pid, obj in raw_profiles.items():
        built_profile = _build_profile(reader, pid, obj, ROOT + ("hardware-profiles", pid), raw_cfs)
        if built_profile is not None:
            profiles[pid] = built_profile

    realms: dict[str, Realm] = {}
    raw_realms = reader.section(vm, ROOT, "realms", required=True) or {}
    for rid, obj in raw_realms.items():
        rpath = ROOT + ("realms", rid)
        src = next((str(i.resolved) for i in reader.index.includes if i.path == rpath and i.exists), None)
        built_realm = _build_realm(reader, rid, obj, rpath, src)
        if built_realm is not None:
            realms[rid] = built_realm

    # Returned even when some parts had errors, so lint can still check what was built; the loader
    # withholds a config with errors from its callers.
    return VmConfig(cost_functions, profiles, realms, service, source)
