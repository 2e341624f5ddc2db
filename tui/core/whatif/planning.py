"""The fleet being planned (`PlanWork`): the scheduler's FleetState and engine, who runs which VM, each
host's cost in the fleet total, and moves made (and undone) on it. The plans themselves (plans.py)
are written over it; see plans.py's docstring for what a host's cost means here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tui.core.costs import Load
from tui.core.curves import INF
from tui.core.fleet import HostState
from tui.core.model import VmConfig
from tui.core.scheduling.engine import CostEngine
from tui.core.scheduling.request import Request
from tui.core.scheduling.state import Allocation, FleetState
from tui.core.whatif.fleetmodel import FleetModel, VmSpec
from tui.core.whatif.plan_data import FleetCost, HostLoad, Move, Plan, Stuck


class PlanWork:
    """The fleet being planned: the scheduler's FleetState and engine plus who runs which VM."""

    def __init__(self, config: VmConfig, model: FleetModel) -> None:
        self.model = model
        self.state = FleetState(config, model.fleet)
        self.engine = CostEngine(self.state)
        names = self.state.names
        self.known = [model.known(n) for n in names]
        self.vms: list[list[VmSpec]] = [list(model.vms.get(n, ())) for n in names]
        self.current = np.array([self._cost(i) for i in range(self.state.size)], dtype=np.float64)
        self.blocked = np.zeros(self.state.size, dtype=np.bool_)  # may not receive VMs in this plan
        self.before = self.fleet_cost()
        self.hosts_before = self.loads()

    def _cost(self, i: int) -> float:
        return self.cost_at(i, self.state.load(i))

    def cost_at(self, i: int, load: Load) -> float:
        """Host i's cost at this load in the fleet total (0 without VMs, see the module docstring)."""
        if load.vms <= 0:
            return 0.0
        total = self.state.cost_functions[i].explain(load).total
        return total if math.isfinite(total) else INF

    def fleet_cost(self) -> FleetCost:
        finite = np.isfinite(self.current)
        # Summed left to right in name order: the same figure however often it is recomputed.
        total = math.fsum(float(c) for c in self.current[finite])
        return FleetCost(total, int((~finite).sum()), int((self.state.vms > 0).sum()))

    def loads(self) -> tuple[HostLoad, ...]:
        s = self.state
        return tuple(
            HostLoad(
                s.names[i],
                s.profiles[i].id,
                s.states[i],
                int(s.vms[i]),
                int(s.vcpus[i]),
                s.profiles[i].cores,
                int(s.memory[i]),
                s.profiles[i].memory,
                float(self.current[i]),
            )
            for i in (int(j) for j in s.fleet_order)
        )

    def target(self, request: Request, source: int) -> tuple[int, float]:
        """The scheduler's choice for this VM among hosts the plan allows (never its own host)."""
        costs = self.engine.costs(request)
        mask = self.blocked.copy()
        mask[source] = True
        masked = np.where(mask, INF, costs)
        i = int(masked.argmin()) if masked.size else -1
        return (i, float(masked[i])) if i >= 0 and masked[i] != INF else (-1, INF)

    def move(self, vm: VmSpec, source: int, target: int) -> Move:
        request = vm.request
        src_before, dst_before = float(self.current[source]), float(self.current[target])
        self.state.remove(Allocation(source, request, ()))
        self.state.add(target, request)
        self.vms[source].remove(vm)
        self.vms[target].append(vm)
        self.current[source] = self._cost(source)
        self.current[target] = self._cost(target)
        names = self.state.names
        return Move(
            vm.id,
            vm.vcpus,
            vm.memory,
            names[source],
            names[target],
            src_before,
            float(self.current[source]),
            dst_before,
            float(self.current[target]),
        )

    def undo(self, move: Move) -> None:
        index = self.state.index
        vm = next(v for v in self.vms[index[move.target]] if v.id == move.vm)
        self.move(vm, index[move.target], index[move.source])

    def source_ok(self, i: int) -> bool:
        # A Disabled host is not connected: nothing can be migrated off it.
        return self.known[i] and self.state.states[i] is not HostState.DISABLED

    def unmovable(self, hosts: Iterable[int]) -> list[Stuck]:
        return [
            Stuck(vm.id, self.state.names[i], vm.unmovable)
            for i in hosts
            for vm in self.vms[i]
            if vm.unmovable is not None
        ]

    def unknown_note(self) -> list[str]:
        unknown = [
            self.state.names[i] for i in range(self.state.size) if not self.known[i] and self.state.vms[i] > 0
        ]
        if not unknown:
            return []
        shown = ", ".join(unknown[:10]) + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else "")
        return [f"VMs not known on {len(unknown)} host(s), their load stays put: {shown}"]

    def plan(
        self, kind: str, moves: list[Move], stuck: list[Stuck], emptied: list[str], notes: list[str]
    ) -> Plan:
        return Plan(
            kind,
            tuple(moves),
            tuple(stuck),
            tuple(emptied),
            self.before,
            self.fleet_cost(),
            self.hosts_before,
            self.loads(),
            tuple(notes + self.unknown_note()),
        )


def biggest_first(vms: Iterable[VmSpec]) -> list[VmSpec]:
    # The drain action's order (tui/services/actions/drain.py): the hardest to place goes first.
    return sorted(vms, key=lambda v: (-v.memory, -v.vcpus, v.id))
