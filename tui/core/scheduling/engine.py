"""The cost policy's fast path: every host's cost for a request at once, plus a cache per request shape.

The arithmetic is `CostFunction.explain`'s, term for term and in the same order (vms, vcpus, memory,
then device types in name order, summed left to right from 0.0, then scale × sum + offset, any
infinite term -> inf), only applied to arrays. Hosts that are not candidates (state, free devices)
cost inf. Because hosts are indexed in name order, `argmin` returns the lowest cost with ties going
to the name that sorts first: the documented rule.

During a replay only one host changes per event, so each shape keeps its exact cost vector and
recomputes just the hosts changed since it was last used (via `CostFunction.explain`, memoised on
the host's load): a decision is then one argmin over a float array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tui.core.costs import CostFunction
from tui.core.curves import INF
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import BoolArray, FleetState, FloatArray, IntArray

# A shape whose backlog of changed hosts exceeds this share of the fleet is recomputed whole:
# past that point one vectorised pass is cheaper than host-by-host updates.
_REFRESH_SHARE = 0.05
_MEMO_LIMIT = 1_000_000


@dataclass(frozen=True)
class _Group:
    """Hosts sharing one cost function (identical curves, so one vectorised pass serves them all)."""

    cost_function: CostFunction
    hosts: IntArray | slice


class _ShapeCache:
    __slots__ = ("costs", "seen")

    def __init__(self, costs: FloatArray, seen: int) -> None:
        self.costs = costs
        self.seen = seen


class CostEngine:
    """Evaluates the cost policy over a `FleetState`; the state may change between calls."""

    def __init__(self, state: FleetState) -> None:
        self.state = state
        members: dict[int, tuple[CostFunction, list[int]]] = {}
        for i, cf in enumerate(state.cost_functions):
            members.setdefault(id(cf), (cf, []))[1].append(i)
        self._groups: list[_Group] = []
        for cf, idx in members.values():
            # One group covering the whole fleet reads the arrays directly instead of gathering.
            hosts: IntArray | slice = slice(None) if len(idx) == state.size else np.array(idx, dtype=np.int64)
            self._groups.append(_Group(cf, hosts))
        self._enabled: list[bool] = [bool(e) for e in state.enabled]
        self._caches: dict[Request, _ShapeCache] = {}
        self._memo: dict[tuple[object, Request], float] = {}
        self._refresh_limit = max(16, int(state.size * _REFRESH_SHARE))

    # --- the vectorised evaluation ------------------------------------------------------------------
    def candidates(self, request: Request, copies: int = 1) -> BoolArray:
        """Hosts that may take `copies` more VMs of this shape: Enabled, with enough free devices."""
        mask = self.state.enabled.copy()
        for kind, count in request.devices:
            free = self.state.free.get(kind)
            if free is None:
                mask[:] = False
            else:
                mask &= free >= count * copies
        return mask

    def evaluate(self, request: Request, copies: int = 1) -> FloatArray:
        """Each host's total after adding `copies` VMs of this shape; inf where refused or infinite."""
        state = self.state
        out = np.full(state.size, INF, dtype=np.float64)
        for group in self._groups:
            out[group.hosts] = self._group_totals(group, request, copies)
        out[~self.candidates(request, copies)] = INF
        return out

    def _group_totals(self, group: _Group, request: Request, copies: int) -> FloatArray:
        state, cf, idx = self.state, group.cost_function, group.hosts
        infinite: BoolArray | None = None
        total: FloatArray | None = None
        inputs = (
            (cf.vms, state.vms[idx] + float(copies)),
            (cf.vcpus, state.vcpus[idx] + float(copies * request.vcpus)),
            (cf.memory, state.memory[idx] + float(copies * request.memory)),
        )
        requested = request.device_map
        for kind, curve in cf.devices.items():  # already in type-name order
            used = state.in_use.get(kind)
            base = used[idx] if used is not None else np.zeros(_length(idx, state.size))
            inputs += ((curve, base + float(copies * requested.get(kind, 0))),)
        for curve, xs in inputs:
            if curve is None:
                continue  # an unset curve adds 0.0, which leaves a sum started at +0.0 unchanged
            values = curve.evaluate(xs)
            total = 0.0 + values if total is None else total + values
            hit = values == INF
            infinite = hit if infinite is None else infinite | hit
        length = _length(idx, state.size)
        if total is None:
            total = np.zeros(length, dtype=np.float64)
            infinite = np.zeros(length, dtype=np.bool_)
        assert infinite is not None
        # A type the cost function does not list is `unavailable`: infinite as soon as one is used.
        for kind in {*state.device_types, *requested}:
            if kind in cf.devices:
                continue
            used = state.in_use.get(kind)
            after = (used[idx] if used is not None else 0.0) + float(copies * requested.get(kind, 0))
            infinite = infinite | (after > 0)
        with np.errstate(invalid="ignore", over="ignore"):
            result = np.where(infinite, INF, cf.scale * total + cf.offset)
        result[~np.isfinite(result)] = INF
        return np.asarray(result, dtype=np.float64)

    # --- one host, exactly as the explanation computes it --------------------------------------------
    def host_cost(self, i: int, request: Request) -> float:
        """Host i's total for this request (inf when refused), via `CostFunction.explain`, memoised."""
        if not self._enabled[i] or (request.devices and not self.state.has_devices(i, request)):
            return INF
        key = (self.state.load_keys[i], request)
        cost = self._memo.get(key)
        if cost is None:
            after = self.state.load(i).plus(request.vcpus, request.memory, request.device_map)
            cost = self.state.cost_functions[i].explain(after).total
            if not math.isfinite(cost):
                cost = INF
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = cost
        return cost

    # --- cached vectors and decisions ---------------------------------------------------------------
    def costs(self, request: Request) -> FloatArray:
        """The exact cost vector for this shape at the current load (do not modify it)."""
        log = self.state.changes
        cache = self._caches.get(request)
        if cache is None or len(log) - cache.seen > self._refresh_limit:
            cache = _ShapeCache(self.evaluate(request), len(log))
            self._caches[request] = cache
        elif cache.seen < len(log):
            costs = cache.costs
            for i in set(log[cache.seen :]):
                costs[i] = self.host_cost(i, request)
            cache.seen = len(log)
        if len(log) > 8 * self._refresh_limit + 4096:
            self._compact()
        return cache.costs

    def decide(self, request: Request) -> tuple[int, float]:
        """(host index, cost) of the cost policy's choice, or (-1, inf) when no host is feasible."""
        if not self.state.size:
            return -1, INF
        costs = self.costs(request)
        i = int(costs.argmin())
        cost = float(costs[i])
        return (i, cost) if cost != INF else (-1, INF)

    def _compact(self) -> None:
        # Forget the change log's prefix every cache has read; caches too far behind start afresh.
        log = self.state.changes
        keep = {r: c for r, c in self._caches.items() if len(log) - c.seen <= self._refresh_limit}
        start = min((c.seen for c in keep.values()), default=len(log))
        del log[:start]
        for cache in keep.values():
            cache.seen -= start
        self._caches = keep


def _length(idx: IntArray | slice, size: int) -> int:
    return size if isinstance(idx, slice) else len(idx)
