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

import numpy as np

from tui.core.costs import combine
from tui.core.curves import INF, Curve
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import BoolArray, FleetState, FloatArray, IntArray

_MEMO_LIMIT = 1_000_000


class _ShapeCache:
    __slots__ = ("costs", "memo", "seen")

    def __init__(self, costs: FloatArray, seen: int) -> None:
        self.costs = costs
        self.seen = seen
        self.memo: dict[tuple[object, ...], float] = {}  # host load key -> cost of this shape there


# A term slot: the hosts sharing each distinct curve (equal curves are evaluated once, fleet-wide).
_Slot = list[tuple[Curve, "IntArray | slice"]]


class CostEngine:
    """Evaluates the cost policy over a `FleetState`; the state may change between calls."""

    def __init__(self, state: FleetState) -> None:
        self.state = state
        cfs = state.cost_functions
        self._slots: list[_Slot] = [
            self._slot([cf.vms for cf in cfs]),
            self._slot([cf.vcpus for cf in cfs]),
            self._slot([cf.memory for cf in cfs]),
        ]
        listed = sorted({kind for cf in cfs for kind in cf.devices})
        # Type-name order across the fleet: a host whose cost function skips a type adds 0.0 there,
        # which leaves its running sum (never -0.0, it starts at +0.0) unchanged.
        self._device_slots: list[tuple[str, _Slot]] = [
            (kind, self._slot([cf.devices.get(kind) for cf in cfs])) for kind in listed
        ]
        self._unlisted: dict[str, BoolArray] = {
            kind: np.array([kind not in cf.devices for cf in cfs], dtype=np.bool_)
            for kind in {*state.device_types, *listed}
        }
        self._scale = np.array([cf.scale for cf in cfs], dtype=np.float64)
        self._offset = np.array([cf.offset for cf in cfs], dtype=np.float64)
        self._enabled: list[bool] = [bool(e) for e in state.enabled]
        self._caches: dict[Request, _ShapeCache] = {}
        self._terms: dict[tuple[Curve, float], float] = {}
        # A shape whose backlog of changed hosts passes this is recomputed whole: one vectorised pass
        # then costs less than that many host-by-host updates.
        self._refresh_limit = max(256, state.size // 10)

    def _slot(self, curves: list[Curve | None]) -> _Slot:
        members: dict[Curve, list[int]] = {}
        for i, curve in enumerate(curves):
            if curve is not None:
                members.setdefault(curve, []).append(i)
        size = self.state.size
        return [
            (curve, slice(None) if len(idx) == size else np.array(idx, dtype=np.int64))
            for curve, idx in members.items()
        ]

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
        size = state.size
        requested = request.device_map
        inputs: list[tuple[_Slot, FloatArray]] = [
            (self._slots[0], state.vms + float(copies)),
            (self._slots[1], state.vcpus + float(copies * request.vcpus)),
            (self._slots[2], state.memory + float(copies * request.memory)),
        ]
        for kind, slot in self._device_slots:
            used = state.in_use.get(kind)
            base = used if used is not None else np.zeros(size, dtype=np.float64)
            inputs.append((slot, base + float(copies * requested.get(kind, 0))))
        total = np.zeros(size, dtype=np.float64)  # +0.0, as `combine` starts
        infinite = np.zeros(size, dtype=np.bool_)
        for slot, xs in inputs:
            if not slot:
                continue
            if len(slot) == 1 and isinstance(slot[0][1], slice):
                values = slot[0][0].evaluate(xs)
            else:
                values = np.zeros(size, dtype=np.float64)  # hosts without this curve add 0.0
                for curve, idx in slot:
                    values[idx] = curve.evaluate(xs[idx])
            total += values
            infinite |= values == INF
        # A type the cost function does not list is `unavailable`: infinite as soon as one is used.
        for kind in {*self._unlisted, *requested}:
            unlisted = self._unlisted.get(kind)
            used = state.in_use.get(kind)
            after = (used if used is not None else 0.0) + float(copies * requested.get(kind, 0))
            infinite |= (after > 0) if unlisted is None else unlisted & (after > 0)
        with np.errstate(invalid="ignore", over="ignore"):
            result = self._scale * total + self._offset
        result[infinite | ~np.isfinite(result) | ~self.candidates(request, copies)] = INF
        return result

    # --- one host, exactly as the explanation computes it --------------------------------------------
    def host_cost(
        self, i: int, request: Request, memo: dict[tuple[object, ...], float] | None = None
    ) -> float:
        """Host i's total for this request (inf when refused); the arithmetic of `CostFunction.explain`.

        `memo` maps a host's load key (profile and load) to the cost: equal keys mean equal free
        devices and equal totals, so a refusal for missing devices is memoised as well."""
        if not self._enabled[i]:
            return INF
        key = self.state.load_keys[i]
        cost = memo.get(key) if memo is not None else None
        if cost is None:
            refused = request.devices and not self.state.has_devices(i, request)
            cost = INF if refused else self._scalar_total(i, request)
            if memo is not None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[key] = cost
        return cost

    def _scalar_total(self, i: int, request: Request) -> float:
        """`CostFunction.explain(load after request).total` without building the explanation: the same
        terms in the same order, each curve value memoised on (curve, input)."""
        state, cf = self.state, self.state.cost_functions[i]
        requested = request.device_map
        values = [
            self._term(cf.vms, state.vms[i] + 1.0),
            self._term(cf.vcpus, state.vcpus[i] + float(request.vcpus)),
            self._term(cf.memory, state.memory[i] + float(request.memory)),
        ]
        kinds = set(cf.devices)
        for kind in {*state.device_types, *requested}:
            if kind not in kinds:
                used = state.in_use.get(kind)
                if (0.0 if used is None else float(used[i])) + requested.get(kind, 0) > 0:
                    return INF  # an unlisted type in use is `unavailable`
        for kind, curve in cf.devices.items():  # type-name order
            used = state.in_use.get(kind)
            values.append(
                self._term(curve, (0.0 if used is None else float(used[i])) + requested.get(kind, 0))
            )
        total = combine(values, cf.scale, cf.offset)
        return total if math.isfinite(total) else INF

    def _term(self, curve: Curve | None, x: float) -> float:
        if curve is None:
            return 0.0
        key = (curve, float(x))
        value = self._terms.get(key)
        if value is None:
            if len(self._terms) >= _MEMO_LIMIT:
                self._terms.clear()
            value = self._terms[key] = curve(float(x))
        return value

    # --- cached vectors and decisions ---------------------------------------------------------------
    def costs(self, request: Request) -> FloatArray:
        """The exact cost vector for this shape at the current load (do not modify it)."""
        log = self.state.changes
        cache = self._caches.get(request)
        if cache is None or len(log) - cache.seen > self._refresh_limit:
            memo = cache.memo if cache is not None else {}
            cache = _ShapeCache(self.evaluate(request), len(log))
            cache.memo = memo
            self._caches[request] = cache
        elif cache.seen < len(log):
            costs, memo, keys, enabled = cache.costs, cache.memo, self.state.load_keys, self._enabled
            # The hot loop of a replay: equal loads have equal costs, so most hosts are a dict hit.
            for i in set(log[cache.seen :]):
                cost = memo.get(keys[i]) if enabled[i] else INF
                costs[i] = cost if cost is not None else self.host_cost(i, request, memo)
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
