"""The mutable load of a fleet during placement and replay, laid out as numpy arrays.

Hosts are indexed in name order, so "lowest index" is "name sorts first": an argmin over any per-host
vector implements the documented tie-break for free. Every change is appended to a change log that
the cost matrix (`matrix.ShapeMatrix`) reads to copy only the changed hosts' costs.

The numpy arrays are what vectorised code reads; the replay's per-event work reads plain Python
mirrors of the same loads (a numpy scalar read costs several times a list read), and each host's
load is also interned as a small integer (`key_ids`): hosts with equal ids have equal costs for every
request, which is what lets a cost cache be a lookup table. Counts that explanations need (hosts not
Enabled, hosts per combination of free devices) are kept up to date rather than recounted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from tui.core.costs import CostFunction, Load
from tui.core.fleet import Fleet, FleetError, FleetHost, HostState
from tui.core.model import HardwareProfile, VmConfig
from tui.core.scheduling.changelog import ChangeLog
from tui.core.scheduling.request import Request

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# Distinct loads interned before the table starts afresh (bounds the state's and the engine's memory
# over very long replays; every cost table is dropped then and rebuilt on use).
INTERN_LIMIT = 2_000_000


class Allocation(NamedTuple):
    """Where a request went and which device addresses it took (to undo it on stop). A named tuple:
    a replay makes one per start."""

    host: int
    request: Request
    devices: tuple[str, ...]


# `Allocation(...)` without the named tuple's Python-level __new__ (a replay makes one per start).
_allocation = partial(tuple.__new__, Allocation)


class _Layout:
    """One profile's devices as `FleetState` reads them: computed once per profile."""

    __slots__ = ("addrs", "by_kind", "counts", "free", "kinds")

    def __init__(self, profile: HardwareProfile) -> None:
        self.addrs = {d.addr for d in profile.devices}
        self.kinds = {d.addr: d.type for d in profile.devices}  # device type by address
        self.counts = profile.device_counts()
        # Addresses by type, lowest first (allocation order).
        self.by_kind = [(kind, tuple(profile.addresses(kind))) for kind in self.counts]
        # Every address free: what each host of the profile shares until its first allocation.
        self.free: Mapping[str, Sequence[str]] = MappingProxyType(dict(self.by_kind))


# What a host with no device in use shares with the others (read-only: writes go to its own copy).
_NONE_USED: Set[str] = frozenset()
_NO_COUNTS: Mapping[str, int] = MappingProxyType({})
# A host's own device bookkeeping, once it has allocated: free addresses by type, addresses in use,
# counts in use by type.
_Devices = tuple[dict[str, list[str]], set[str], dict[str, int]]


class FleetState:
    """Per-host load arrays plus free device addresses; mutated only through `add` and `remove`."""

    def __init__(self, config: VmConfig, fleet: Fleet) -> None:
        self.config = config
        # Sorted as positions in the fleet, so that the inverse permutation is the fleet order (as the
        # FLEET file lists the hosts: what first-fit walks) without a lookup per host.
        listed = fleet.hosts
        by_name = sorted(range(len(listed)), key=[h.name for h in listed].__getitem__)
        hosts = [listed[j] for j in by_name]
        self.hosts: tuple[FleetHost, ...] = tuple(hosts)
        self.names: list[str] = [h.name for h in hosts]
        self.index: dict[str, int] = dict(zip(self.names, range(len(hosts)), strict=True))
        self.fleet_order: IntArray = np.empty(len(hosts), dtype=np.int64)
        self.fleet_order[by_name] = np.arange(len(hosts), dtype=np.int64)
        self.profiles: list[HardwareProfile] = []
        self.cost_functions: list[CostFunction] = []
        for host in hosts:
            profile = config.hardware_profiles.get(host.profile)
            if profile is None:
                known = ", ".join(sorted(config.hardware_profiles)) or "none"
                raise FleetError(f"host {host.name!r}: unknown profile {host.profile!r} (profiles: {known})")
            cost_function = config.cost_functions.get(profile.cost_function)
            if cost_function is None:
                raise FleetError(
                    f"host {host.name!r}: profile {profile.id!r} uses unknown cost function "
                    f"{profile.cost_function!r}"
                )
            self.profiles.append(profile)
            self.cost_functions.append(cost_function)
        n = len(hosts)
        self.size = n
        self.enabled_l: list[bool] = [h.state is HostState.ENABLED for h in hosts]
        self.enabled: BoolArray = np.array(self.enabled_l, dtype=np.bool_)
        self.states: list[HostState] = [h.state for h in hosts]
        # Why a host is not Enabled for the scheduler although its admin state is (unreachable).
        self.unavailable: list[str | None] = [h.unavailable for h in hosts]
        self._vms: FloatArray = np.array([h.vms for h in hosts], dtype=np.float64)
        self._vcpus: FloatArray = np.array([h.vcpus for h in hosts], dtype=np.float64)
        self._memory: FloatArray = np.array([h.memory for h in hosts], dtype=np.float64)
        self.cores: FloatArray = np.array([p.cores for p in self.profiles], dtype=np.float64)
        self.capacity: FloatArray = np.array([p.memory for p in self.profiles], dtype=np.float64)
        # Every device type any profile has or any cost function lists: the columns of the device arrays.
        profiles = {id(p): p for p in self.profiles}.values()  # each profile once, not once per host
        kinds = {d.type for p in profiles for d in p.devices}
        kinds.update(k for cf in {id(cf): cf for cf in self.cost_functions}.values() for k in cf.devices)
        self.device_types: list[str] = sorted(kinds)
        # Free addresses per host and type, lowest first: allocation pops from the front. A host with
        # no device in use shares its profile's read-only entries (and the empty ones below) until
        # its first allocation makes it its own (`_own_devices`): a dict of lists per host was half
        # the state's construction (0.2 s at 100,000 hosts), and most hosts never take a device.
        self.free_addrs: list[Mapping[str, Sequence[str]]] = []
        self.used_addrs: list[Set[str]] = []
        self.used_l: list[Mapping[str, int]] = []  # devices in use per type (> 0 only), plain
        self._own: dict[int, _Devices] = {}  # by host: its own device bookkeeping, once it has one
        # Each host's device type by address (one dict per profile, shared): what `remove` frees.
        self.device_kinds: list[dict[str, str]] = []
        # Per profile, computed once (100,000 hosts share a handful): its addresses, its device type
        # by address and its addresses by type.
        layouts: dict[int, _Layout] = {}
        busy: list[int] = []  # the hosts with devices in use (few): their counts go in the arrays
        for host, profile in zip(hosts, self.profiles, strict=True):
            layout = layouts.get(id(profile))
            if layout is None:
                layout = layouts[id(profile)] = _Layout(profile)
            self.device_kinds.append(layout.kinds)
            in_use = host.devices_in_use
            if not in_use:
                self.free_addrs.append(layout.free)
                self.used_addrs.append(_NONE_USED)
                self.used_l.append(_NO_COUNTS)
                continue
            stray = [a for a in in_use if a not in layout.addrs]
            if stray:
                raise FleetError(
                    f"host {host.name!r}: devices_in_use {', '.join(stray)} are not devices of "
                    f"profile {profile.id!r}"
                )
            used = set(in_use)
            free: dict[str, list[str]] = {}
            counts: dict[str, int] = {}
            for kind, addrs in layout.by_kind:
                free[kind] = [a for a in addrs if a not in used]
                taken = len(addrs) - len(free[kind])
                if taken:
                    counts[kind] = taken
            busy.append(len(self.free_addrs))
            self._own[len(self.free_addrs)] = (free, used, counts)
            self.free_addrs.append(free)
            self.used_addrs.append(used)
            self.used_l.append(counts)
        # Devices each host has of each type, free or not (fixed by its profile), in use and free.
        # Per type, each profile's count taken by each host's profile number: numpy work, not a
        # lookup per host and type.
        numbers = {key: number for number, key in enumerate(layouts)}
        profile_numbers = np.array([numbers[id(p)] for p in self.profiles], dtype=np.int64)
        per_profile = {
            k: np.array([layout.counts.get(k, 0) for layout in layouts.values()], dtype=np.float64)
            for k in self.device_types
        }
        self.device_totals: dict[str, FloatArray] = {
            k: per_profile[k][profile_numbers] for k in self.device_types
        }
        self._in_use: dict[str, FloatArray] = {k: np.zeros(n, dtype=np.float64) for k in self.device_types}
        for i in busy:
            for kind, taken in self.used_l[i].items():
                self._in_use[kind][i] = taken
        self._free: dict[str, FloatArray] = {
            k: self.device_totals[k] - self._in_use[k] for k in self.device_types
        }
        self.refused_state = self.enabled_l.count(False)  # hosts whose state is not Enabled
        self.unreachable = sum(1 for why in self.unavailable if why is not None)
        # Plain mirrors for the per-event path (kept equal to the arrays by add/remove).
        self.vms_l: list[int] = [h.vms for h in hosts]
        self.vcpus_l: list[int] = [h.vcpus for h in hosts]
        self.memory_l: list[int] = [h.memory for h in hosts]
        self._profile_ids = [id(p) for p in self.profiles]
        # Each host's load key: everything a request's cost depends on, the profile (its cost function
        # and how many devices of each type it has) and the load. Equal keys have equal costs and equal
        # free devices. Built in one comprehension (a method call per host was a fifth of this
        # constructor); `_changed` builds one host's the same way.
        self.load_keys: list[tuple[object, ...]] = [
            (profile_id, vms, vcpus, memory, tuple(sorted(used.items())) if used else ())
            for profile_id, vms, vcpus, memory, used in zip(
                self._profile_ids, self.vms_l, self.vcpus_l, self.memory_l, self.used_l, strict=True
            )
        ]
        self._interned: dict[tuple[object, ...], int] = {}
        # Each id's (enabled, load key) and a host that had it (for its profile and cost function).
        self.key_loads: list[tuple[bool, tuple[Any, ...]]] = []
        self.key_hosts: list[int] = []
        self.key_epoch = 0  # bumped when the interned loads start afresh: key ids change meaning
        # A plain list: the per-event path writes one and the matrix reads one or two per decision.
        self.key_ids: list[int] = [self._intern(i) for i in range(n)]
        self._key_ids: IntArray = np.array(self.key_ids, dtype=np.int64)  # their array (`key_id_array`)
        # Enabled hosts per combination of free device counts (in `device_types` order): how many
        # lack the devices of a request is a sum over a handful of combinations, not over hosts.
        # Hosts of a profile with no device in use share one combination (computed once per profile).
        idle: dict[int, tuple[int, ...]] = {}
        combos: list[tuple[int, ...]] = []
        for i in range(n):
            if not self.enabled_l[i]:
                continue
            if self.used_addrs[i]:
                combos.append(self._free_combo(i))
                continue
            combo = idle.get(self._profile_ids[i])
            if combo is None:
                combo = idle[self._profile_ids[i]] = self._free_combo(i)
            combos.append(combo)
        self.free_combos: Counter[tuple[int, ...]] = Counter(combos)
        self.log = ChangeLog()
        self._synced = 0  # log position up to which the arrays reflect the mirrors

    # --- the arrays, brought up to date with the mirrors when vectorised code reads them -------------
    # The per-event path changes only the plain mirrors; an array read copies the hosts changed since
    # the last read (from the change log), so a replay that mostly hits its caches never pays for it.
    @property
    def vms(self) -> FloatArray:
        self._sync()
        return self._vms

    @property
    def vcpus(self) -> FloatArray:
        self._sync()
        return self._vcpus

    @property
    def memory(self) -> FloatArray:
        self._sync()
        return self._memory

    @property
    def in_use(self) -> dict[str, FloatArray]:
        """Devices in use per type (arrays over hosts)."""
        self._sync()
        return self._in_use

    @property
    def free(self) -> dict[str, FloatArray]:
        """Free devices per type (arrays over hosts)."""
        self._sync()
        return self._free

    @property
    def key_id_array(self) -> IntArray:
        """`key_ids` as an array (what a whole-fleet gather indexes with)."""
        self._sync()
        return self._key_ids

    def _sync(self) -> None:
        end = self.log.end
        if self._synced == end:
            return
        since = self.log.since(self._synced)
        self._synced = end
        if len(since) >= self.size:
            # As many changes as hosts (a replay's end): every host copied, no set of the changes.
            self._vms[:], self._vcpus[:], self._memory[:] = self.vms_l, self.vcpus_l, self.memory_l
            self._key_ids[:] = self.key_ids
            changed: list[int] | range = range(self.size)
            idx: IntArray | slice = slice(None)
        else:
            changed = list(set(since))  # each host once; the order does not matter
            idx = np.array(changed, dtype=np.int64)
            self._vms[idx] = [self.vms_l[i] for i in changed]
            self._vcpus[idx] = [self.vcpus_l[i] for i in changed]
            self._memory[idx] = [self.memory_l[i] for i in changed]
            self._key_ids[idx] = [self.key_ids[i] for i in changed]
        for kind in self.device_types:
            used = [self.used_l[i].get(kind, 0) for i in changed]
            self._in_use[kind][idx] = used
            self._free[kind][idx] = [len(self.free_addrs[i].get(kind, ())) for i in changed]

    def sync_arrays(self) -> None:
        """Bring the arrays up to date now (before the change log forgets its prefix)."""
        self._sync()

    # --- reading ------------------------------------------------------------------------------------
    def load(self, i: int) -> Load:
        return Load(self.vms_l[i], self.vcpus_l[i], self.memory_l[i], dict(sorted(self.used_l[i].items())))

    def _intern(self, i: int) -> int:
        """The small integer naming host i's (enabled, load key): equal ids, equal costs."""
        # An Enabled host's key is its load key itself (the common case: one tuple less to build and
        # hash); a 2-tuple can never equal a load key (5 items).
        load = self.load_keys[i]
        enabled = self.enabled_l[i]
        key = load if enabled else (False, load)
        kid = self._interned.get(key)
        if kid is None:
            kid = self._interned[key] = len(self.key_loads)
            self.key_loads.append((enabled, load))
            self.key_hosts.append(i)
        return kid

    def restart_keys(self) -> None:
        """Intern the hosts' loads afresh (bounds the memory of long replays): every id changes."""
        self._interned.clear()
        self.key_loads.clear()
        self.key_hosts.clear()
        self.key_epoch += 1
        self.key_ids[:] = [self._intern(j) for j in range(self.size)]
        self._key_ids[:] = self.key_ids

    @property
    def key_count(self) -> int:
        return len(self._interned)

    @property
    def interned(self) -> dict[tuple[object, ...], int]:
        """Interned loads to their ids (the same dict for the state's lifetime; read-only outside)."""
        return self._interned

    def _free_combo(self, i: int) -> tuple[int, ...]:
        free = self.free_addrs[i]
        return tuple([len(free.get(k, ())) for k in self.device_types])  # a list: no generator to run

    def lacking_devices(self, request: Request) -> int:
        """How many Enabled hosts lack the free devices this request needs (no walk over hosts)."""
        if not request.devices:
            return 0
        where = {k: j for j, k in enumerate(self.device_types)}
        need = [(where.get(kind), count) for kind, count in request.devices]
        lacking = 0
        for combo, hosts in self.free_combos.items():
            if any(j is None or combo[j] < count for j, count in need):
                lacking += hosts
        return lacking

    def refusal(self, i: int) -> str | None:
        """Why host i takes no new VM whatever the request (its state, or that it is unreachable)."""
        if self.states[i] is HostState.ENABLED:
            return None
        why = self.unavailable[i]
        return f"host is {why}" if why is not None else f"host is {self.states[i].label}"

    def has_devices(self, i: int, request: Request) -> bool:
        free = self.free_addrs[i]
        return all(len(free.get(kind, ())) >= count for kind, count in request.devices)

    def devices_in_use(self, i: int) -> list[str]:
        used = self.used_addrs[i]
        return sorted(used) if used else []

    # --- changing -----------------------------------------------------------------------------------
    def add(self, i: int, request: Request) -> Allocation:
        """Put one VM of this shape on host i, taking the lowest free addresses of each device type."""
        taken: list[str] = []
        if request.devices:
            for kind, count in request.devices:
                have = len(self.free_addrs[i].get(kind, ()))
                if have < count:
                    raise ValueError(f"host {self.names[i]!r} has {have} free {kind}, {count} requested")
            combo = self._free_combo(i)
            free, in_use, used = self._own.get(i) or self._own_devices(i)
            for kind, count in request.devices:
                addrs = free[kind]
                taken.extend(addrs[:count])
                del addrs[:count]
                used[kind] = used.get(kind, 0) + count
            in_use.update(taken)
            self._recombo(i, combo)
        self.vms_l[i] += 1
        self.vcpus_l[i] += request.vcpus
        self.memory_l[i] += request.memory
        self._changed(i)
        return _allocation((i, request, tuple(taken) if taken else ()))

    def remove(self, allocation: Allocation) -> None:
        """Undo `add`: the VM stops and its devices become free again."""
        i, request = allocation.host, allocation.request
        if allocation.devices:
            combo = self._free_combo(i)
            kinds = self.device_kinds[i]
            free, in_use, used = self._own.get(i) or self._own_devices(i)
            for addr in allocation.devices:
                in_use.discard(addr)
                kind = kinds[addr]
                addrs = free[kind]
                addrs.append(addr)
                addrs.sort()
                left = used[kind] - 1
                if left:
                    used[kind] = left
                else:
                    del used[kind]
            self._recombo(i, combo)
        self.vms_l[i] -= 1
        self.vcpus_l[i] -= request.vcpus
        self.memory_l[i] -= request.memory
        self._changed(i)

    def _own_devices(self, i: int) -> _Devices:
        """Host i's own device bookkeeping in place of the shared read-only entries (see __init__)."""
        own = self._own[i] = (
            {kind: list(addrs) for kind, addrs in self.free_addrs[i].items()},
            set(self.used_addrs[i]),
            dict(self.used_l[i]),
        )
        self.free_addrs[i], self.used_addrs[i], self.used_l[i] = own
        return own

    def _recombo(self, i: int, before: tuple[int, ...]) -> None:
        if self.enabled_l[i]:
            self.free_combos[before] -= 1
            if not self.free_combos[before]:
                del self.free_combos[before]
            self.free_combos[self._free_combo(i)] += 1

    def _changed(self, i: int) -> None:
        # Host i's load key (as __init__ builds them) and `_intern`, written out: this runs once per
        # replayed event.
        used = self.used_l[i]
        load = self.load_keys[i] = (
            self._profile_ids[i],
            self.vms_l[i],
            self.vcpus_l[i],
            self.memory_l[i],
            tuple(sorted(used.items())) if used else (),
        )
        kid = self._interned.get(load if self.enabled_l[i] else (False, load))
        self.key_ids[i] = kid if kid is not None else self.new_key(i)
        log = self.log
        log.items.append(i)
        log.end += 1

    def new_key(self, i: int) -> int:
        """The id of host i's load key, just set in `load_keys` and not interned yet (the replay's
        written-out `add` and `remove` call this too)."""
        if len(self._interned) >= INTERN_LIMIT:
            self.restart_keys()  # interns host i afresh too
        return self._intern(i)

    def hosts_json(self, order: list[int]) -> list[dict[str, object]]:
        """These hosts as JSON, in one comprehension (a replay's result lists every host)."""
        names, profiles, states, used = self.names, self.profiles, self.states, self.used_addrs
        vms, vcpus, memory = self.vms_l, self.vcpus_l, self.memory_l
        return [
            {
                "name": names[i],
                "profile": profiles[i].id,
                "state": states[i].value,
                "vms": vms[i],
                "vcpus": vcpus[i],
                "memory": memory[i],
                "devices_in_use": sorted(used[i]) if used[i] else [],
            }
            for i in order
        ]
