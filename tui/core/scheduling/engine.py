"""The cost policy's fast path: every host's cost for a request at once, and decisions.

The arithmetic is `CostFunction.explain`'s, term for term and in the same order (vms, vcpus, memory,
then device types in name order, summed left to right from 0.0, then scale × sum + offset, any
infinite term -> inf), only applied to arrays. Hosts that are not candidates (state, free devices)
cost inf. Because hosts are indexed in name order, `argmin` returns the lowest cost with ties going
to the name that sorts first: the documented rule.

During a replay only one host changes per event: `ShapeMatrix` keeps every shape's cost vector
current by copying that host's costs from a table by interned load, so a decision is one argmin over
a float array. The scalar path (`host_cost`) gives one host's cost with the same arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np

from tui.core.costs import CostFunction
from tui.core.curves import INF, Curve
from tui.core.scheduling.matrix import ShapeMatrix
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import BoolArray, FleetState, FloatArray, IntArray

_MEMO_LIMIT = 1_000_000


class _Plan:
    """Host i's cost function, ready for the scalar path: each curve with its value memo."""

    __slots__ = ("devices", "listed", "memory", "offset", "scale", "vcpus", "vms")

    def __init__(
        self,
        terms: list[tuple[Curve, dict[float, float]] | None],
        devices: list[tuple[str, Curve, dict[float, float]]],
        scale: float,
        offset: float,
    ) -> None:
        self.vms, self.vcpus, self.memory = terms
        self.devices = devices  # in the cost function's (type-name) order
        self.listed = frozenset(kind for kind, _, _ in devices)
        self.scale = scale
        self.offset = offset


# A term slot: the hosts sharing each distinct curve (equal curves are evaluated once, fleet-wide).
_Slot = list[tuple[Curve, "IntArray | slice"]]


class CostEngine:
    """Evaluates the cost policy over a `FleetState`; the state may change between calls."""

    def __init__(self, state: FleetState) -> None:
        self.state = state
        cfs = state.cost_functions
        # Hosts by cost function object (100,000 hosts share a handful): every per-host table below is
        # built per group, not per host.
        groups: dict[int, tuple[CostFunction, list[int]]] = {}
        for i, cf in enumerate(cfs):
            entry = groups.get(id(cf))
            if entry is None:
                groups[id(cf)] = (cf, [i])
            else:
                entry[1].append(i)
        self._groups = list(groups.values())
        self._slots: list[_Slot] = [
            self._slot(lambda cf: cf.vms),
            self._slot(lambda cf: cf.vcpus),
            self._slot(lambda cf: cf.memory),
        ]
        listed = sorted({kind for cf, _ in self._groups for kind in cf.devices})
        # Type-name order across the fleet: a host whose cost function skips a type adds 0.0 there,
        # which leaves its running sum (never -0.0, it starts at +0.0) unchanged.
        self._device_slots: list[tuple[str, _Slot]] = [
            (kind, self._slot(partial(_device_curve, kind))) for kind in listed
        ]
        self._unlisted: dict[str, BoolArray] = {}
        for kind in {*state.device_types, *listed}:
            unlisted = np.zeros(state.size, dtype=np.bool_)
            for cf, idx in self._groups:
                if kind not in cf.devices:
                    unlisted[idx] = True
            self._unlisted[kind] = unlisted
        self._scale = np.zeros(state.size, dtype=np.float64)
        self._offset = np.zeros(state.size, dtype=np.float64)
        for cf, idx in self._groups:
            self._scale[idx] = cf.scale
            self._offset[idx] = cf.offset
        self._matrix = ShapeMatrix(state)
        memos: dict[Curve, dict[float, float]] = {}  # equal curves share one memo of their values

        def term(curve: Curve | None) -> tuple[Curve, dict[float, float]] | None:
            return None if curve is None else (curve, memos.setdefault(curve, {}))

        self._plans: list[_Plan] = [None] * state.size  # type: ignore[list-item]  # filled below
        for cf, idx in self._groups:
            devices = [(kind, curve, memos.setdefault(curve, {})) for kind, curve in cf.devices.items()]
            plan = _Plan([term(cf.vms), term(cf.vcpus), term(cf.memory)], devices, cf.scale, cf.offset)
            for i in idx:
                self._plans[i] = plan

    def _slot(self, curve_of: Callable[[CostFunction], Curve | None]) -> _Slot:
        """The hosts sharing each distinct curve of this term, equal curves (of different cost
        functions) merged; a curve's hosts in index order."""
        members: dict[Curve, list[int]] = {}
        for cf, idx in self._groups:
            curve = curve_of(cf)
            if curve is not None:
                members.setdefault(curve, []).extend(idx)
        size = self.state.size
        return [
            (curve, slice(None) if len(idx) == size else np.array(sorted(idx), dtype=np.int64))
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
        state = self.state
        if not state.enabled_l[i]:
            return INF
        key = state.load_keys[i]
        cost = memo.get(key) if memo is not None else None
        if cost is None:
            refused = request.devices and not state.has_devices(i, request)
            cost = INF if refused else self._scalar_total(i, request)
            if memo is not None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[key] = cost
        return cost

    def _scalar_total(self, i: int, request: Request) -> float:
        """`CostFunction.explain(load after request).total` without building the explanation: the same
        terms in the same order (vms, vcpus, memory, device types), summed from 0.0 left to right,
        each curve value memoised on its input. Written out flat: it is the replay's inner loop."""
        state, plan = self.state, self._plans[i]
        used = state.used_l[i]
        listed = plan.listed
        if request.devices or used:
            for kind, _count in request.devices:
                if kind not in listed:
                    return INF  # a type the cost function does not list is `unavailable` once used
            for kind in used:
                if kind not in listed:
                    return INF
        total = 0.0
        term = plan.vms
        if term is not None:
            x = float(state.vms_l[i]) + 1.0
            value = term[1].get(x)
            if value is None:
                value = _remember(term, x)
            if value == INF:
                return INF
            total = total + value
        term = plan.vcpus
        if term is not None:
            x = float(state.vcpus_l[i]) + float(request.vcpus)
            value = term[1].get(x)
            if value is None:
                value = _remember(term, x)
            if value == INF:
                return INF
            total = total + value
        term = plan.memory
        if term is not None:
            x = float(state.memory_l[i]) + float(request.memory)
            value = term[1].get(x)
            if value is None:
                value = _remember(term, x)
            if value == INF:
                return INF
            total = total + value
        if plan.devices:
            extra = dict(request.devices)
            for _kind, curve, values in plan.devices:
                x = float(used.get(_kind, 0)) + float(extra.get(_kind, 0))
                value = values.get(x)
                if value is None:
                    value = _remember((curve, values), x)
                if value == INF:
                    return INF
                total = total + value
        result = plan.scale * total + plan.offset
        return result if math.isfinite(result) else INF

    # --- cached vectors and decisions ---------------------------------------------------------------
    @property
    def matrix(self) -> ShapeMatrix:
        """The cost rows behind `decide` (a replay asks it directly: one call less per decision)."""
        return self._matrix

    def costs(self, request: Request) -> FloatArray:
        """The exact cost vector for this shape at the current load (a fresh array)."""
        vector = self._matrix.vector(request)
        return vector if vector is not None else self.evaluate(request)

    def decide(self, request: Request) -> tuple[int, float]:
        """(host index, cost) of the cost policy's choice, or (-1, inf) when no host is feasible."""
        if not self.state.size:
            return -1, INF
        best = self._matrix.best(request)
        if best is not None:
            return best
        costs = self.evaluate(request)  # more shapes than the matrix holds: evaluated whole
        i = int(costs.argmin())
        cost = float(costs[i])
        return (i, cost) if cost != INF else (-1, INF)


def _device_curve(kind: str, cf: CostFunction) -> Curve | None:
    return cf.devices.get(kind)


def _remember(term: tuple[Curve, dict[float, float]], x: float) -> float:
    """A curve value not memoised yet: compute and keep it (the memo is bounded)."""
    curve, values = term
    if len(values) >= _MEMO_LIMIT:
        values.clear()
    value = values[x] = curve(x)
    return value
