"""One cost function's terms over the known request shapes, memoised on their inputs: what a row of
`LoadCosts`' table is summed from.

A row is one new load's cost for every shape (a replay meets a new load about once every 14
events). Its terms depend on a part of the load each (vms, vCPUs, memory, devices in use), and loads
share those parts, so each term vector is kept by its input.

Most cost functions only ever yield terms that are >= 0 or +inf, with a positive finite scale and a
finite offset ("plain"). Their sums can then be neither NaN nor -inf, so a row needs no pass that
turns non-finite costs into inf, and two more steps can be memoised without changing a bit:
- the vms and vCPU terms' partial sum (`head`), by (vms, vCPUs): the first two additions of the row;
- the device terms to add after memory (`tail`), by (profile, devices in use): a device vector that
  is all zeros is left out (x + 0.0 is x for any x but -0.0, and a sum from +0.0 is never -0.0), and
  the profile's refusals are folded into the last one as +inf (x + inf is inf for any x >= 0, and inf
  stays inf through a positive scale and a finite offset).
A row of a plain cost function is thus two to four numpy operations instead of about ten. The first
term that is negative or NaN makes the cost function not plain for good: its rows take the checked
path (`LoadCosts`), which reads the same memoised term vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from tui.core.costs import CostFunction
from tui.core.curves import INF, Curve
from tui.core.scheduling.state import BoolArray, FloatArray

# Memoised vectors per cost function and kind before that memo starts afresh.
_MEMO_LIMIT = 20_000
_K = TypeVar("_K")
_V = TypeVar("_V")


class TermMemo:
    """One cost function's term vectors over the first `n` shapes (dropped when a shape is added)."""

    __slots__ = (
        "cf",
        "devices",
        "heads",
        "memory",
        "n",
        "need",
        "plain",
        "shape_memory",
        "shape_vcpus",
        "tails",
        "vcpus",
        "vms",
    )

    def __init__(
        self,
        cf: CostFunction,
        shape_vcpus: FloatArray,
        shape_memory: FloatArray,
        need: dict[str, FloatArray],
    ) -> None:
        self.cf = cf
        self.n = len(shape_vcpus)
        self.shape_vcpus, self.shape_memory, self.need = shape_vcpus, shape_memory, need
        self.vms: dict[int, float] = {}
        self.vcpus: dict[int, FloatArray] = {}
        self.memory: dict[int, FloatArray] = {}
        self.devices: dict[tuple[str, int], FloatArray] = {}
        self.heads: dict[tuple[int, int], FloatArray] = {}
        self.tails: dict[tuple[object, ...], list[FloatArray]] = {}
        self.plain = cf.scale > 0.0 and math.isfinite(cf.scale) and math.isfinite(cf.offset)

    # --- the raw terms (both paths) ------------------------------------------------------------------
    # Each is checked for plainness once, when first computed.
    def vms_term(self, vms: int) -> float:
        value = self.vms.get(vms)
        if value is None:
            assert self.cf.vms is not None
            value = remember(self.vms, vms, self.cf.vms(float(vms) + 1.0))
            if not value >= 0.0:
                self.plain = False
        return value

    def vcpus_term(self, vcpus: int) -> FloatArray:
        vector = self.vcpus.get(vcpus)
        if vector is None:
            vector = self._new(self.vcpus, vcpus, vcpus, self.cf.vcpus, self.shape_vcpus)
        return vector

    def memory_term(self, memory: int) -> FloatArray:
        vector = self.memory.get(memory)
        if vector is None:
            vector = self._new(self.memory, memory, memory, self.cf.memory, self.shape_memory)
        return vector

    def device_term(self, kind: str, count: int) -> FloatArray:
        vector = self.devices.get((kind, count))
        if vector is None:
            added = self.need.get(kind)
            if added is None:
                added = np.zeros(self.n, dtype=np.float64)
            vector = self._new(self.devices, (kind, count), count, self.cf.devices[kind], added)
        return vector

    def _new(
        self, memo: dict[_K, FloatArray], key: _K, amount: int, curve: Curve | None, added: FloatArray
    ) -> FloatArray:
        """A term vector not memoised yet: the curve at the load's amount plus each shape's."""
        assert curve is not None
        vector = remember(memo, key, curve.evaluate(float(amount) + added))
        self._check(vector)
        return vector

    def _check(self, vector: FloatArray) -> None:
        # NaN fails too (the minimum of a vector with a NaN is NaN).
        if self.plain and not np.minimum.reduce(vector) >= 0.0:
            self.plain = False

    # --- the plain path ------------------------------------------------------------------------------
    def fill_plain(
        self,
        total: FloatArray,
        vms: int,
        vcpus: int,
        memory: int,
        tail_key: tuple[object, ...],
        used: tuple[tuple[str, int], ...],
        refused: Callable[[], BoolArray],
    ) -> bool:
        """Write this load's row into `total` if the cost function is plain (see the module
        docstring); False, with `total` untouched, if it is not (or just stopped being)."""
        cf = self.cf
        head = self.heads.get((vms, vcpus))
        if head is None:
            head = np.full(self.n, 0.0 + self.vms_term(vms) if cf.vms is not None else 0.0)
            if cf.vcpus is not None:
                head += self.vcpus_term(vcpus)
            head = remember(self.heads, (vms, vcpus), head)
        tail = self.tails.get(tail_key)
        if tail is None:
            tail = remember(self.tails, tail_key, self._tail(used, refused()))
        memory_vector = self.memory_term(memory) if cf.memory is not None else None
        if not self.plain:
            return False
        if memory_vector is not None:
            np.add(head, memory_vector, out=total)
        else:
            total[...] = head
        for vector in tail:
            total += vector
        if cf.scale != 1.0:
            total *= cf.scale
            total += cf.offset
        elif cf.offset != 0.0:
            total += cf.offset
        return True

    def _tail(self, used: tuple[tuple[str, int], ...], refused: BoolArray) -> list[FloatArray]:
        counts = dict(used)
        vectors = []
        for kind in self.cf.devices:
            vector = self.device_term(kind, counts.get(kind, 0))
            if vector.any():
                vectors.append(vector)
        if refused.any():
            bar = np.where(refused, INF, 0.0)
            if vectors:
                vectors[-1] = vectors[-1] + bar
            else:
                vectors.append(bar)
        return vectors


def remember(memo: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value
