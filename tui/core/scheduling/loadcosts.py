"""Costs by interned host load and request shape: the table behind the cost matrix.

`table[k, s]` is the cost of shape s on a host whose interned load is k (`FleetState.key_ids`; equal
ids, equal costs). A row is filled when a load is first met, vectorised over the shapes, each term's
vector memoised on its input (loads share their vCPU, memory and device counts); a column is filled
when a shape is first met, vectorised over the loads.

The arithmetic is `CostFunction.explain`'s on arrays, in its order: vms, vcpus, memory, then the
cost function's device types in name order, summed left to right from +0.0 (in-place adds, exactly as
`CostEngine.evaluate`), then scale × sum + offset; a result that is not finite (any infinite term,
an overflow) is inf. A host not Enabled, with too few free devices of a requested type, using or asked
for a device type its cost function does not list (`unavailable` once used) costs inf.

`exact32` says whether every cost filled so far is exactly a float32 (sums of curves with whole or
binary-fraction parameters are): the cost matrix then keeps its rows in float32, half the bytes to
scan per decision, with the same argmin and the same values; the first cost that is not makes the
matrix float64 for good. Meanwhile `table32` holds the same costs as float32 (each row written as it
is checked): the matrix copies a changed host's costs from it without a cast per copy (a third of a
copy's time, and a replay copies one or two rows per decision).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from tui.core.costs import CostFunction
from tui.core.curves import INF
from tui.core.scheduling.loadterms import TermMemo
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import BoolArray, FleetState, FloatArray

# Entries (8 bytes each) the table may hold before the state interns its loads afresh (or twice the
# hosts' loads, whichever is more).
TABLE_LIMIT = 16_000_000
# Shapes the table (and the cost matrix) grow by when full: a fixed step, not doubling, because a
# decision copies a changed host's whole row over every column, unused ones included (each its own
# cache line in the matrix); a workload's shapes all appear early, so the few regrowths are cheap.
_SHAPE_STEP = 8


class LoadCosts:
    """The table over one `FleetState`, for up to `limit` shapes (numbered in order of first use)."""

    def __init__(self, state: FleetState, limit: int) -> None:
        self.state = state
        self.limit = limit
        self.index: dict[Request, int] = {}
        cap = min(8, limit)
        # Per shape: vCPUs and memory, and the count of every device type any shape asks for.
        self._vcpus = np.zeros(cap, dtype=np.float64)
        self._memory = np.zeros(cap, dtype=np.float64)
        self._needs: dict[str, FloatArray] = {}
        # Zeros, not garbage, in columns no shape uses yet: the matrix copies whole rows, and garbage
        # cast to float32 could overflow (a warning outside a replay's errstate).
        self.table = np.zeros((1024, cap), dtype=np.float64)
        self.table32 = np.zeros((1024, cap), dtype=np.float32)  # see the module docstring
        self.exact32 = True  # see the module docstring
        self.rows = 0  # interned loads whose table row is filled
        self.epoch = state.key_epoch  # the state's key epoch the rows belong to
        self._memos: dict[int, TermMemo] = {}  # by id() of the cost function
        self._refused: dict[tuple[object, ...], BoolArray] = {}  # by (profile id, devices in use)
        # Per interned load, for column fills (see `_describe`).
        self._described = 0
        self._cf_numbers: dict[int, int] = {}
        self._cf_objects: dict[int, CostFunction] = {}
        self._load_cf = np.zeros(0, dtype=np.int64)
        self._load_refused = np.zeros(0, dtype=np.bool_)
        self._load_vms = np.zeros(0, dtype=np.float64)
        self._load_vcpus = np.zeros(0, dtype=np.float64)
        self._load_memory = np.zeros(0, dtype=np.float64)
        self._load_used: dict[str, FloatArray] = {}
        self._load_free: dict[str, FloatArray] = {}
        # Set while the caller holds np.errstate(invalid="ignore", over="ignore") (a replay): a row
        # fill then skips its own (1.5 µs; a replay fills a row for every new load, one in ~13 events).
        self.errors_ignored = False

    @property
    def capacity(self) -> int:
        """Shapes the arrays have room for (the table's columns)."""
        return len(self._vcpus)

    def current(self) -> bool:
        """Fill the rows of loads interned since the last call; False when every id changed meanwhile
        (the state interned afresh, or had to because the table is at its limit): then every row and
        column was filled again and every reader must gather afresh."""
        state = self.state
        if self.epoch == state.key_epoch and self.rows == state.key_count:
            return True
        if self.epoch == state.key_epoch:
            # Room for twice the fleet's hosts at least: right after a restart every host may have a
            # load of its own, and a limit below that would restart on every new load.
            if state.key_count <= max(TABLE_LIMIT // self.table.shape[1], 2 * state.size):
                self._fill_rows(self.rows, state.key_count)
                return True
            state.restart_keys()  # bounds the table; every id changes
        self._rebuild()
        return False

    def _rebuild(self) -> None:
        state = self.state
        self.epoch = state.key_epoch
        self.rows = 0
        self._grow_table(state.key_count)
        self._described = 0
        self._fill_columns(range(len(self.index)), state.key_count)
        self.rows = state.key_count

    def _grow_table(self, loads: int) -> None:
        rows, cols = self.table.shape
        if loads > rows:
            grown = np.zeros((max(loads, 2 * rows), cols), dtype=np.float64)
            grown[:rows] = self.table
            self.table = grown
            grown32 = np.zeros(grown.shape, dtype=np.float32)
            grown32[:rows] = self.table32
            self.table32 = grown32

    def add_shape(self, request: Request) -> int:
        """Number a new shape and fill its column (call `current()` first; at most `limit`)."""
        s = len(self.index)
        if s == len(self._vcpus):
            self._grow_shapes(min(s + _SHAPE_STEP, self.limit))
        self.index[request] = s
        self._vcpus[s] = float(request.vcpus)
        self._memory[s] = float(request.memory)
        for kind, count in request.devices:
            if kind not in self._needs:
                self._needs[kind] = np.zeros(len(self._vcpus), dtype=np.float64)
            self._needs[kind][s] = float(count)
        # Memoised term vectors and refusals cover the shapes before this one only.
        self._memos.clear()
        self._refused.clear()
        self._fill_columns(range(s, s + 1), self.rows)
        return s

    def _grow_shapes(self, cap: int) -> None:
        old = len(self._vcpus)

        def grown(values: FloatArray) -> FloatArray:
            out = np.zeros(cap, dtype=np.float64)
            out[:old] = values
            return out

        self._vcpus, self._memory = grown(self._vcpus), grown(self._memory)
        self._needs = {kind: grown(counts) for kind, counts in self._needs.items()}
        table = np.zeros((self.table.shape[0], cap), dtype=np.float64)
        table[:, :old] = self.table
        self.table = table
        table32 = np.zeros(table.shape, dtype=np.float32)
        table32[:, :old] = self.table32
        self.table32 = table32

    # --- the arithmetic ------------------------------------------------------------------------------
    def _fill_rows(self, first: int, end: int) -> None:
        """Table rows of the loads interned from `first` on: one load, every shape at once."""
        if self.errors_ignored:
            self._fill_rows_quietly(first, end)
            return
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and 0 × inf: inf below
            self._fill_rows_quietly(first, end)

    def _fill_rows_quietly(self, first: int, end: int) -> None:
        """`_fill_rows` inside the caller's np.errstate(invalid="ignore", over="ignore")."""
        self._grow_table(end)
        state, n = self.state, len(self.index)
        loads, hosts = state.key_loads, state.key_hosts
        for k in range(first, end):
            enabled, (profile_id, vms, vcpus, memory, used) = loads[k]
            if not enabled or not n:
                self.table[k, :n] = INF
                continue
            i = hosts[k]
            cf = state.cost_functions[i]
            memo = self._memos.get(id(cf))
            if memo is None:
                # Each device type's needs as arrays, not a bound method: a memo referring back to the
                # table would make a reference cycle, and a replay's state then waits for the collector.
                needs = {kind: counts[:n] for kind, counts in self._needs.items()}
                memo = self._memos[id(cf)] = TermMemo(cf, self._vcpus[:n], self._memory[:n], needs)
            total = self.table[k, :n]
            key = (profile_id, used)
            if memo.plain and memo.fill_plain(
                total, vms, vcpus, memory, key, used, partial(self._refused_of, i, key)
            ):
                continue
            # Summed in place in the table's row (no temporaries), from +0.0 as `combine` starts:
            # filling with 0.0 + the vms term is the first two steps of that sum.
            total.fill(0.0 + memo.vms_term(vms) if cf.vms is not None else 0.0)
            if cf.vcpus is not None:
                total += memo.vcpus_term(vcpus)
            if cf.memory is not None:
                total += memo.memory_term(memory)
            if cf.devices:
                counts = dict(used)
                for kind in cf.devices:
                    total += memo.device_term(kind, counts.get(kind, 0))
            # x × 1.0 is x, and x + 0.0 is x unless x is -0.0, which a sum from +0.0 never is (a
            # scaled one can be): a whole-row operation or two fewer for most cost functions.
            if cf.scale != 1.0:
                total *= cf.scale
                total += cf.offset
            elif cf.offset != 0.0:
                total += cf.offset
            bad = ~np.isfinite(total)
            bad |= self._refused_of(i, key)
            total[bad] = INF
        if self.exact32 and end > first:
            self.exact32 = _mirror32(self.table[first:end, :n], self.table32[first:end, :n])
        self.rows = max(self.rows, end)

    def _describe(self, first: int, end: int) -> None:
        """Per-load columns (cost function, load, free devices) for loads `first`..`end`: what a
        column fill reads, so that it is numpy work over the loads, not a walk."""
        state = self.state
        cap = len(self._load_cf)
        if end > cap:
            size = max(end, 2 * cap, 1024)

            def grown(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
                out = np.zeros(size, dtype=values.dtype)
                out[: len(values)] = values
                return out

            self._load_cf, self._load_refused = grown(self._load_cf), grown(self._load_refused)
            self._load_vms, self._load_vcpus = grown(self._load_vms), grown(self._load_vcpus)
            self._load_memory = grown(self._load_memory)
            self._load_used = {kind: grown(v) for kind, v in self._load_used.items()}
            self._load_free = {kind: grown(v) for kind, v in self._load_free.items()}
        for k in range(first, end):
            enabled, (_, vms, vcpus, memory, used) = state.key_loads[k]
            i = state.key_hosts[k]
            cf = state.cost_functions[i]
            self._load_cf[k] = self._cf_numbers.setdefault(id(cf), len(self._cf_numbers))
            self._cf_objects.setdefault(id(cf), cf)
            # Not Enabled, or a device type in use that the cost function does not list.
            self._load_refused[k] = not enabled or any(kind not in cf.devices for kind, _ in used)
            self._load_vms[k], self._load_vcpus[k], self._load_memory[k] = vms, vcpus, memory
            counts = dict(used)
            for kind in state.device_types:
                if kind not in self._load_used:
                    self._load_used[kind] = np.zeros(len(self._load_cf), dtype=np.float64)
                    self._load_free[kind] = np.zeros(len(self._load_cf), dtype=np.float64)
                self._load_used[kind][k] = counts.get(kind, 0)
                self._load_free[kind][k] = state.device_totals[kind][i] - counts.get(kind, 0)
        self._described = max(self._described, end)

    @np.errstate(invalid="ignore", over="ignore")
    def _fill_columns(self, shapes: range, loads: int) -> None:
        """These shapes' costs for every load interned so far: vectorised over the loads, per cost
        function."""
        if not loads or not shapes:
            return
        self._describe(self._described, loads)
        numbers = self._load_cf[:loads]
        for cf_id, number in self._cf_numbers.items():
            cf = self._cf_objects[cf_id]
            idx = np.flatnonzero(numbers == number)
            if not idx.size:
                continue
            vms = self._load_vms[idx] + 1.0
            vcpus, memory = self._load_vcpus[idx], self._load_memory[idx]
            used = {kind: values[idx] for kind, values in self._load_used.items()}
            free = {kind: values[idx] for kind, values in self._load_free.items()}
            refused_load = self._load_refused[idx]
            zeros = np.zeros(idx.size, dtype=np.float64)
            vms_term = cf.vms.evaluate(vms) if cf.vms is not None else None
            for s in shapes:
                total = np.zeros(idx.size, dtype=np.float64)  # +0.0, as `combine` starts
                if vms_term is not None:
                    total += vms_term
                if cf.vcpus is not None:
                    total += cf.vcpus.evaluate(vcpus + self._vcpus[s])
                if cf.memory is not None:
                    total += cf.memory.evaluate(memory + self._memory[s])
                for kind, curve in cf.devices.items():
                    need = self._needs[kind][s] if kind in self._needs else 0.0
                    total += curve.evaluate(used.get(kind, zeros) + need)
                refused = refused_load.copy()
                for kind, counts in self._needs.items():
                    need = counts[s]
                    if need:
                        refused |= need > free.get(kind, zeros)
                        if kind not in cf.devices:
                            refused[:] = True
                result = cf.scale * total + cf.offset
                result[refused | ~np.isfinite(result)] = INF
                self.table[idx, s] = result
                if self.exact32:
                    self.exact32 = _exact32(result)
                    self.table32[idx, s] = result

    def _refused_of(self, i: int, key: tuple[int, tuple[tuple[str, int], ...]]) -> BoolArray:
        """Per shape: host i (Enabled, its profile and devices in use `key`) refuses it for devices."""
        refused = self._refused.get(key)
        if refused is None:
            cf = self.state.cost_functions[i]
            refused = self._refused[key] = self._refusals(i, cf, dict(key[1]), len(self.index))
        return refused

    def _refusals(self, i: int, cf: CostFunction, used: dict[str, int], n: int) -> BoolArray:
        """Per shape: host i (Enabled, with these devices in use) refuses it for its devices."""
        refused = np.zeros(n, dtype=np.bool_)
        if any(kind not in cf.devices for kind in used):
            refused[:] = True  # a type in use that the cost function does not list: unavailable
            return refused
        totals = self.state.device_totals
        for kind, counts in self._needs.items():
            need = counts[:n]
            total = totals.get(kind)
            free = float(total[i]) - used.get(kind, 0) if total is not None else 0.0
            refused |= need > free
            if kind not in cf.devices:
                refused |= need > 0
        return refused


def _exact32(costs: FloatArray) -> bool:
    """Every cost here is exactly a float32 (inf is; a finite cost past float32's range is not). Both
    callers run inside np.errstate(over="ignore"): the cast of such a cost overflows to inf. The round
    trip's bytes compared: a third of the time of an elementwise comparison and `all()`."""
    return costs.astype(np.float32).astype(np.float64).tobytes() == costs.tobytes()


def _mirror32(costs: FloatArray, mirror: npt.NDArray[np.float32]) -> bool:
    """Write these costs into their float32 mirror and say whether every one is exactly a float32
    (`_exact32` for a row or a few, reusing the mirror's cast: three numpy calls, not four; the caller
    holds the same errstate). Bytes compared, as there: `all()` of a comparison costs twice as much."""
    mirror[...] = costs
    return mirror.astype(np.float64).tobytes() == costs.tobytes()
