"""Every known request shape's cost on every host, kept current one changed host at a time.

`costs[s, h]` is shape s on host h, gathered from `LoadCosts`' table by the host's interned load. An
event changes one host, so a decision first copies the table rows of the hosts in the change log
since the last decision into their columns (a stop and a start: two small copies, whatever the fleet
size), then takes an argmin: the decision's floor.

Hosts are stored in blocks of `block` hosts, `costs[b, s, j]` for host b·block + j, padded with inf.
Up to BLOCKED_FROM hosts there is one block and a decision is one argmin over a contiguous row. Past
it, a row no longer stays in the processor's caches (800 KB at 100,000 hosts: 60 µs a decision on this
machine, against 1.5 µs over 10,000), so each shape also keeps its minimum per block, brought up to date
for the block of each changed host; a decision is then an argmin over the block minima and one over
the winning block. The first minimum wins at both levels, so ties still go to the lowest index (the
name that sorts first).

The rows are float32 while every cost in the table is exactly a float32 (`LoadCosts.exact32`): the
same argmin (equal costs stay equal, order is kept) and the same value, read back as a float, from
half the bytes — 20 shapes over 10,000 hosts then fit the processor's 2 MB cache. The first cost that
is not exact turns them float64 (gathered afresh, once).

With one block and a few cost functions, the columns are grouped by cost function (`tiers`): a
decision takes the argmin over the group with the least bound for its shape and looks at another group
only if that group's bound does not exceed the cost found. With tiered cost functions most decisions
then read one group's columns (half a 10,000-host bench row), and far less of the rows leaves the
processor's caches. Host h's column is `tiers.column[h]`; `vector` returns costs in host order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tui.core.curves import INF
from tui.core.scheduling.loadcosts import LoadCosts
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import FleetState, FloatArray
from tui.core.scheduling.tiers import MAX_GROUPS, Tier, Tiers

# Entries (8 bytes each, 4 while the rows are float32) `costs` may hold: it caps how many shapes get
# a row (at 100,000 hosts, 160 shapes); shapes past that are evaluated whole per decision by the engine.
MATRIX_LIMIT = 16_000_000
# Fleets from this size on keep block minima (see the module docstring); BLOCK hosts per block.
BLOCKED_FROM = 32_768
BLOCK = 64
# Table rows kept as ready-made views (see `_update_views`) up to this many loads (about 7 MB).
ROW_VIEWS_LIMIT = 65_536


class ShapeMatrix:
    """The cost rows over one `FleetState`; `best(request)` is the cost policy's decision."""

    def __init__(self, state: FleetState) -> None:
        self.state = state
        size = state.size
        self.block = BLOCK if size >= BLOCKED_FROM else max(1, size)
        self._blocks = -(-size // self.block) if size else 0
        padded = self._blocks * self.block
        self.loads = LoadCosts(state, max(1, MATRIX_LIMIT // max(1, padded)))
        # One block and a few cost-function groups: columns by group, and a decision scans the group
        # with the least bound first (see `tiers`). Otherwise column c is host c.
        tiers = Tiers(state) if self._blocks == 1 else None
        self._tiers = tiers if tiers is not None and 2 <= tiers.groups <= MAX_GROUPS else None
        self._order = self._tiers.order_l if self._tiers is not None else []  # the host in each column
        # Shapes whose last decision found no host after searching several groups (see `_beyond`): in
        # a fleet at its limits a shape refused once is mostly refused again.
        self._refusing: set[int] = set()
        # Per shape with tiers: its first group's row and first column, the next bound, every group.
        self._plans: list[tuple[npt.NDArray[np.floating[Any]], int, float, list[Tier]]] = []
        # Set by `_allocate`: rows `costs[b, s, j]`, their block minima, the one block's rows, each row.
        self._costs: npt.NDArray[np.floating[Any]]
        self._minima: npt.NDArray[np.floating[Any]]
        self._flat: npt.NDArray[np.floating[Any]]
        self._views: list[npt.NDArray[np.floating[Any]]]
        self._columns: list[npt.NDArray[np.floating[Any]]]
        self._float32: bool
        self._allocate(self.loads.capacity, np.float32 if self.loads.exact32 else np.float64)
        # The table's rows (of the rows' own type) as views, one per interned load: a decision copies
        # a changed host's row from one without making a view each time (a fifth of a copy's time).
        self._row_views: list[npt.NDArray[np.floating[Any]]] | npt.NDArray[np.floating[Any]] = []
        self._views_of: npt.NDArray[np.floating[Any]] | None = None  # the table they view
        self._update_views()
        self._seen = state.log.end  # change-log position the cost rows reflect
        self._row_starts: dict[int, npt.NDArray[np.intp]] = {}  # per shape count: each row's offset
        self._keep = max(65_536, 4 * size)  # changes the log may hold before this reader trims it

    @property
    def shapes(self) -> int:
        return len(self.loads.index)

    def best(self, request: Request) -> tuple[int, float] | None:
        """(host, cost) of the cheapest host now, (-1, inf) when none may take the shape; None when
        the matrix is full (the caller evaluates the shape itself). The fleet must not be empty."""
        # The replay's decision: `_row` and the common case of `_catch_up` (one block, a host or two
        # changed since the last decision) written out, one call instead of three.
        state, loads, log = self.state, self.loads, self.state.log
        if loads.epoch != state.key_epoch or loads.rows != len(state.key_loads):
            self._refresh()
        seen, end = self._seen, log.end
        if seen != end:
            if self._blocks == 1 and seen >= log.start and end - seen <= 8 and len(log.items) <= self._keep:
                # Whole table rows, padding columns included: the matrix and the table have the same
                # number of columns, and unused columns are never read. Into each host's column view,
                # from the table of the rows' own type: no view made and no cast per copy.
                columns, key_ids, rows = self._columns, state.key_ids, self._row_views
                for h in log.items[seen - log.start :]:
                    columns[h][...] = rows[key_ids[h]]
                self._seen = end
            else:
                self._catch_up()
        s = loads.index.get(request, -1)
        if s < 0:
            s = self._row(request)  # a new shape (or the matrix is full: -1)
        if s < 0:
            return None
        if self._tiers is not None:
            if s in self._refusing:
                row = self._views[s]
                # The least cost by argmin, not `min()`: numpy's argmin has a vectorised float32 loop
                # and skips the reduction machinery (a third of the time over 10,000 hosts).
                if row.item(int(row.argmin())) == INF:
                    return (-1, INF)
                self._refusing.discard(s)
            view, start, bound, tiers = self._plans[s]
            j = int(view.argmin())
            cost = view.item(j)
            i = self._order[start + j]
            if cost >= bound and bound != INF:
                i, cost = self._beyond(s, tiers, i, cost)
        elif self._blocks == 1:
            row = self._views[s]
            i = int(row.argmin())
            cost = row.item(i)
        else:
            b = int(self._minima[s].argmin())
            row = self._costs[b, s]
            j = int(row.argmin())
            cost = float(row[j])
            i = b * self.block + j
        return (i, cost) if cost != INF else (-1, INF)

    def _beyond(self, s: int, tiers: list[Tier], i: int, cost: float) -> tuple[int, float]:
        """The best of (i, cost), from shape s's first group, and the other groups whose bound is at
        most the best cost so far (in order of their bound); the lower index among equal costs. A shape
        that no group takes joins `_refusing`: its next decision first asks whether any host takes it
        (one scan of the whole row, where equal costs need no tie-break)."""
        order = self._order
        for bound, view, start in tiers[1:]:
            if bound > cost or bound == INF:
                break
            j = int(view.argmin())
            found = view.item(j)
            h = order[start + j]
            if found < cost or (found == cost and h < i):
                i, cost = h, found
        if cost == INF:
            self._refusing.add(s)
        return i, cost

    def vector(self, request: Request) -> FloatArray | None:
        """This shape's cost on every host now (a fresh array); None when the matrix is full."""
        s = self._row(request)
        if s < 0:
            return None
        flat: FloatArray = self._costs[:, s, :].reshape(-1)[: self.state.size].astype(np.float64)
        return flat[self._tiers.column] if self._tiers is not None else flat

    def _row(self, request: Request) -> int:
        state, loads = self.state, self.loads
        # Inline checks first: this runs once per decision.
        if loads.epoch != state.key_epoch or loads.rows != len(state.key_loads):
            self._refresh()
        if self._seen != state.log.end:
            self._catch_up()
        s = loads.index.get(request)
        if s is None:
            if len(loads.index) >= loads.limit:
                return -1
            s = loads.add_shape(request)
            if loads.capacity > self._costs.shape[1]:
                self._grow(loads.capacity)  # the table grew: as many columns as it, always
            if self._exactness_lost():
                self._gather(range(len(loads.index)))
            else:
                self._gather(range(s, s + 1))
            self._rebound(s)
            self._update_views()
        return s

    def _refresh(self) -> None:
        """The table's rows for the loads interned since; every row gathered afresh when every id
        changed meanwhile or the costs stopped being exact float32s."""
        loads = self.loads
        first = loads.rows
        fresh = loads.current()
        if self._exactness_lost() or not fresh:
            self._gather(range(len(loads.index)))
            self._seen = self.state.log.end
        if self._tiers is not None:
            if not fresh:
                self._rebound()
            elif self._tiers.lower(loads.table, first, loads.rows):
                self._replan()
        self._update_views()

    def _update_views(self) -> None:
        """Views of the table rows filled since (all afresh when the table or the rows' type changed);
        past ROW_VIEWS_LIMIT loads, the table itself (indexing it makes the view). Only the one-block
        copy in `best` reads them."""
        table = self.loads.table32 if self._float32 else self.loads.table
        rows = self.loads.rows
        if rows > ROW_VIEWS_LIMIT or self._blocks != 1:
            self._row_views, self._views_of = table, None
        elif table is not self._views_of or not isinstance(self._row_views, list):
            self._row_views, self._views_of = list(table[:rows]), table
        elif len(self._row_views) < rows:
            self._row_views.extend(table[len(self._row_views) : rows])

    def _rebound(self, first: int = 0) -> None:
        """The groups' bounds afresh from shape `first` on (a new shape; every shape when the loads
        were interned afresh), and the plans."""
        if self._tiers is not None:
            self._tiers.rebuild(self.loads.table, self.loads.rows, len(self.loads.index), first)
            self._replan(first)

    def _replan(self, first: int = 0) -> None:
        """Each shape's groups by bound from shape `first` on (a new shape: the plans before it are
        unchanged; every shape when bounds fell or the rows were reallocated)."""
        if self._tiers is None:
            return
        self._plans[first:] = [
            (tiers[0][1], tiers[0][2], tiers[1][0], tiers) for tiers in self._tiers.plan(self._views, first)
        ]

    def _exactness_lost(self) -> bool:
        """True (once) when the rows are float32 and a cost just filled is not exactly a float32: the
        rows are then float64 and hold nothing yet (the caller gathers every row)."""
        if self.loads.exact32 or self._costs.dtype != np.float32:
            return False
        self._allocate(self._costs.shape[1], np.float64)
        return True

    # --- keeping the rows current --------------------------------------------------------------------
    def _catch_up(self) -> None:
        state, log = self.state, self.state.log
        changed = log.since(self._seen) if self._seen >= log.start else None
        if changed is None or len(changed) > 64:
            # Another reader made the log forget what we had not read, or many hosts changed: gather
            # every row afresh.
            self._gather(range(len(self.loads.index)))
        else:
            costs, key_ids, block = self._costs, state.key_ids, self.block
            table = self.loads.table32 if self._float32 else self.loads.table
            n = len(self.loads.index)  # rows past the shapes are unused: not touching them saves cache
            if self._blocks == 1:
                columns = self._columns
                for h in changed:
                    columns[h][:n] = table[key_ids[h], :n]
            else:
                touched: set[int] = set()
                for h in changed:
                    b, j = divmod(h, block)
                    costs[b, :n, j] = table[key_ids[h], :n]
                    touched.add(b)
                # `minimum.reduceat` over the block's rows laid end to end: the same minima as
                # `min(axis=1)` (no NaN here), 2.3 µs instead of 5.9 for 80 shapes × 64 hosts.
                starts = self._row_starts.get(n)
                if starts is None:
                    starts = self._row_starts[n] = np.arange(0, n * block, block, dtype=np.intp)
                for b in touched:
                    self._minima[:n, b] = np.minimum.reduceat(costs[b, :n].reshape(-1), starts)
        self._seen = log.end
        if log.pending > self._keep:  # rare: each forget syncs the arrays
            state.sync_arrays()  # the state's arrays must not need what is forgotten
            log.forget(self._seen)

    def _gather(self, shapes: range) -> None:
        """These shapes' rows from the table, for every host (padding stays inf)."""
        if not shapes or not self._blocks:
            return
        state = self.state
        rows = np.full((self._blocks * self.block, len(shapes)), INF, dtype=self._costs.dtype)
        ids = state.key_id_array
        if self._tiers is not None:
            ids = ids[self._tiers.order]  # column c holds host order[c]
        rows[: state.size] = self.loads.table[ids, shapes.start : shapes.stop]
        blocked = rows.reshape(self._blocks, self.block, len(shapes)).transpose(0, 2, 1)
        self._costs[:, shapes.start : shapes.stop, :] = blocked
        if self._blocks > 1:
            self._minima[shapes.start : shapes.stop] = blocked.min(axis=2).T

    def _grow(self, cap: int) -> None:
        old, costs, minima = self._costs.shape[1], self._costs, self._minima
        self._allocate(cap, costs.dtype.type)
        self._costs[:, :old, :] = costs
        self._minima[:old] = minima

    def _allocate(self, cap: int, dtype: type[np.floating[Any]]) -> None:
        """Rows (and block minima) for `cap` shapes, every cost inf."""
        self._costs = np.full((self._blocks, cap, self.block), INF, dtype=dtype)
        self._minima = np.full((cap, self._blocks), INF, dtype=dtype)  # per shape, per block
        self._flat = self._costs[0] if self._blocks else self._costs  # the one block's rows
        self._views = list(self._flat) if self._blocks == 1 else []  # each row: a list read, no view
        # Each host's column, likewise (host h's is column `tiers.column[h]`).
        columns = list(self._flat.T) if self._blocks == 1 else []
        tiers = self._tiers
        self._columns = [columns[c] for c in tiers.column.tolist()] if tiers is not None else columns
        self._float32 = dtype is np.float32  # rows copied from `loads.table32`, else `loads.table`
        if tiers is not None:
            self._replan()  # the plans view the rows
