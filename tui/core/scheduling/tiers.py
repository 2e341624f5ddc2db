"""Hosts grouped by cost function, each group's columns side by side, with a lower bound per group
and shape: what lets a decision scan one group's columns instead of the whole row.

Cost functions are often tiers (pool1 first, then pool2 at +1,000, then the GPU hosts at +100,000):
the cheapest host is nearly always in one group. A group's bound for a shape is the least cost of
that shape over every load interned for a host of the group (`LoadCosts`' table rows): each host's
current load is interned, so no host of the group costs less now. Rows only add loads, so a bound
only falls, until the state interns afresh (then it is computed again from the current loads).

A decision scans the group with the least bound first, then the others in order of their bound
while a bound is at most the best cost found: a host of a group it skips costs more than the choice,
strictly. Within a group the columns keep index order, so its argmin is its lowest index among equal
costs, and equal costs across groups go to the lower index: the documented tie-break, unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tui.core.curves import INF
from tui.core.scheduling.state import FleetState, FloatArray, IntArray

# More groups than this: no tiers (a decision would walk too many groups in Python when their costs
# overlap); the rows keep index order and a decision is one argmin over the whole row.
MAX_GROUPS = 8

# One group in a shape's plan: its bound, the shape's row over the group's columns, its first column.
Tier = tuple[float, npt.NDArray[np.floating[Any]], int]


class Tiers:
    """The column order (by group) and each group's bounds per shape, over one `FleetState`."""

    def __init__(self, state: FleetState) -> None:
        self.state = state
        firsts: dict[int, int] = {}
        offsets: dict[int, float] = {}
        for i, cf in enumerate(state.cost_functions):
            if id(cf) not in firsts:
                firsts[id(cf)] = i
                offsets[id(cf)] = cf.offset
        # A group's place: by offset (the tiers' usual form), then by its first host. Only the speed
        # depends on it: the plan scans groups by their bounds.
        ranked = sorted(firsts, key=lambda key: (offsets[key], firsts[key]))
        number = {key: g for g, key in enumerate(ranked)}
        self.groups = len(ranked)
        self.host_group_l: list[int] = [number[id(cf)] for cf in state.cost_functions]
        self.host_group: IntArray = np.array(self.host_group_l, dtype=np.int64)
        # order[c]: the host in column c (groups side by side, each in index order); column[h]: h's.
        self.order: IntArray = np.argsort(self.host_group, kind="stable")
        self.order_l: list[int] = self.order.tolist()
        self.column: IntArray = np.empty(state.size, dtype=np.int64)
        self.column[self.order] = np.arange(state.size, dtype=np.int64)
        sizes = np.bincount(self.host_group, minlength=self.groups).tolist()
        starts = np.concatenate(([0], np.cumsum(sizes))).tolist()
        self.spans: list[tuple[int, int]] = [(starts[g], starts[g + 1]) for g in range(self.groups)]
        self.bounds: FloatArray = np.full((self.groups, 0), INF, dtype=np.float64)
        self._bound_rows: list[FloatArray] = list(self.bounds)  # each group's row: a list read, no view
        self._groups_of_keys: IntArray = np.zeros(0, dtype=np.int64)  # see `_key_groups`
        self._groups_epoch = state.key_epoch

    def rebuild(self, table: FloatArray, rows: int, shapes: int, first: int = 0) -> None:
        """The bounds of shapes `first`..`shapes` afresh, from the table's first `rows` loads (those
        of the shapes before `first` are kept: a new shape's column leaves the others' unchanged)."""
        kept = self.bounds[:, : min(first, self.bounds.shape[1])]
        self.bounds = np.full((self.groups, shapes), INF, dtype=np.float64)
        self.bounds[:, : kept.shape[1]] = kept
        self._bound_rows = list(self.bounds)
        start = kept.shape[1]
        if not rows or start >= shapes:
            return
        key_groups = self._key_groups(rows)
        costs = table[:rows, start:shapes]
        for g in range(self.groups):
            mine = costs[key_groups == g]
            if len(mine):
                self.bounds[g, start:] = mine.min(axis=0)

    def _key_groups(self, rows: int) -> IntArray:
        """The group of each of the first `rows` interned loads. Kept between calls and extended (a
        new shape rebuilds its bounds over every load: converting all their hosts each time was most
        of a new shape's cost); computed afresh when the state interned afresh."""
        state = self.state
        known = self._groups_of_keys
        if self._groups_epoch != state.key_epoch or len(known) > len(state.key_hosts):
            known = np.zeros(0, dtype=np.int64)
        if len(known) < rows:
            added = np.array(state.key_hosts[len(known) : rows], dtype=np.int64)
            known = np.concatenate((known, self.host_group[added]))
        self._groups_of_keys, self._groups_epoch = known, state.key_epoch
        return known[:rows]

    def lower(self, table: FloatArray, first: int, end: int) -> bool:
        """Lower the bounds by the loads `first`..`end` just filled; True if any bound fell."""
        bounds, groups, hosts = self._bound_rows, self.host_group_l, self.state.key_hosts
        shapes = self.bounds.shape[1]
        fell = False
        for k in range(first, end):
            row = table[k, :shapes]
            bound = bounds[groups[hosts[k]]]
            # Rare past the replay's start: a new load is seldom the cheapest. count_nonzero, not
            # any(): the same answer without the reduction machinery (0.8 µs instead of 2.2 for a row
            # of 48 shapes; a replay asks once per new load, one in ~13 events).
            if np.count_nonzero(row < bound):
                np.minimum(bound, row, out=bound)
                fell = True
        return fell

    def plan(self, rows: list[npt.NDArray[np.floating[Any]]], first: int = 0) -> list[list[Tier]]:
        """Per shape from `first` on (its row over every column, in column order): its groups by
        bound, least first."""
        plans = []
        bounds = self.bounds[:, first:].T.tolist()
        for row, shape_bounds in zip(rows[first : first + len(bounds)], bounds, strict=False):
            tiers = [(bound, row[a:b], a) for bound, (a, b) in zip(shape_bounds, self.spans, strict=True)]
            tiers.sort(key=_bound)
            plans.append(tiers)
        return plans


def _bound(tier: Tier) -> float:
    return tier[0]
