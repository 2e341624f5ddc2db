"""The replay view (a workload under every placement policy, side by side, on this fleet or a
hypothetical one) and the A/B view (the same workload under the config and under the curve lab's
edits: which decisions differ)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from tui.console.lab import compute
from tui.console.lab.base import LabView, fill, lab_table, pct
from tui.console.lab.compute import LabInputs
from tui.console.lab.params import WorkloadParams
from tui.console.lab.state import LabState
from tui.console.text import plural
from tui.core.costs import format_cost
from tui.core.scheduling.policies import POLICIES
from tui.core.whatif import AbResult, Edit, PolicyRun

DEFAULT_WORKLOAD = "vms=1000 rate=1 lifetime=20 gpu=0 seed=0"
POLICY_COLUMNS = [
    ("Policy", 10),
    ("Placed", 7),
    ("Rejected", 8),
    ("vCPU", 5),
    ("Memory", 6),
    ("In use", 6),
    ("Peak", 5),
    ("Touched", 7),
    ("Seconds", 7),
]


class WorkloadView(LabView):
    """A view that replays a workload: computed when first shown, then on enter; a reopened
    scenario's workload becomes its parameter line."""

    def shown(self) -> None:
        if self.KIND not in self.lab_state.results:
            self.recompute()

    def watch_lab_state(self, old: LabState, new: LabState) -> None:
        if new.scenario is not old.scenario and new.scenario is not None:
            self.params = (new.workload or WorkloadParams()).to_text()


class ReplayView(WorkloadView):
    KIND = "replay"
    PLACEHOLDER = "vms=1000 rate=1 lifetime=20 gpu=0 seed=0 | file=W.jsonl  add=pool1:2 remove=pool2:1"
    DEFAULT_PARAMS = DEFAULT_WORKLOAD

    @dataclass
    class RunFinished(Message):
        """One policy's run, as soon as it is done (the table fills row by row)."""

        generation: int
        run: PolicyRun

    @dataclass
    class Computed(Message):
        generation: int
        runs: list[PolicyRun]
        params: WorkloadParams

    def compute_now(self) -> None:
        params = WorkloadParams.parse(self.params)
        inputs = self.inputs()
        generation = self.next_generation()
        self.start(POLICIES)
        self.say(f"Replaying on the {inputs.source} …")
        self.run_job(generation, inputs, params)

    @work(thread=True, exclusive=True, group="lab-replay", exit_on_error=False)
    def run_job(self, generation: int, inputs: LabInputs, params: WorkloadParams) -> None:
        """Each policy's run is posted as it finishes, then all of them."""
        with self.failures(generation):
            runs = []
            for run in compute.replay_runs(inputs, params):
                runs.append(run)
                self.post_message(self.RunFinished(generation, run))
            self.post_message(self.Computed(generation, runs, params))

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        message.stop()
        if self.is_current(message.generation):
            self.add_run(message.run)

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if not self.is_current(message.generation):
            return
        runs, params = message.runs, message.params
        self.finish()
        events = runs[0].result.events if runs else 0
        self.say(
            f"{events} events on the {self.inputs().source} ({params.to_text()}); vCPU/mem = share used at the end"
        )
        self.shown_result("replay", {"events": events, "policies": [r.to_json() for r in runs]}, params)

    def compose_tables(self) -> ComposeResult:
        yield lab_table("replay-policies", POLICY_COLUMNS)
        yield lab_table("replay-hosts", [("Host", 16), ("Profile", 16)])

    def start(self, policies: Sequence[str]) -> None:
        hosts = self.query_one("#replay-hosts", DataTable)
        hosts.clear(columns=True)
        hosts.add_column("Host", key="Host", width=16)
        hosts.add_column("Profile", key="Profile", width=16)
        for p in policies:
            hosts.add_column(f"{p} vCPU/mem", key=p, width=15)
        self.query_one("#replay-policies", DataTable).clear()
        self._runs: list[PolicyRun] = []

    def add_run(self, run: PolicyRun) -> None:
        """One policy finished: its row now, the per-host table once all are in."""
        self._runs.append(run)
        r = run.result
        u = r.utilisation
        self.query_one("#replay-policies", DataTable).add_row(
            run.policy,
            str(r.placed),
            str(r.rejected),
            pct(u["vcpus"]["share"]),
            pct(u["memory"]["share"]),
            str(run.hosts_in_use),
            str(run.peak_hosts_in_use),
            str(run.hosts_touched),
            f"{r.elapsed_s:.3f}",
            key=run.policy,
        )

    def finish(self) -> None:
        runs = self._runs
        if not runs:
            return
        table = self.query_one("#replay-hosts", DataTable)
        rows = []
        for index, host in enumerate(runs[0].hosts):
            cells = [host.host, host.profile]
            for run in runs:
                h = run.hosts[index]
                cells.append(f"{h.vms}: {pct(h.vcpu_share)}/{pct(h.memory_share)}")
            rows.append((host.host, tuple(cells)))
        fill(table, rows)


class AbView(WorkloadView):
    KIND = "ab"
    PLACEHOLDER = "vms=1000 rate=1 lifetime=20 gpu=0 seed=0 | file=W.jsonl  (B = the curve lab's edits)"

    @dataclass
    class Computed(Message):
        generation: int
        result: AbResult
        params: WorkloadParams

    def params_text(self) -> str:
        """Its own line once typed; until then the workload last replayed (the replay view's)."""
        workload = self.lab_state.workload
        return self.params or (workload.to_text() if workload else DEFAULT_WORKLOAD)

    def compute_now(self) -> None:
        params = WorkloadParams.parse(self.params_text())
        inputs = self.inputs()
        if not inputs.edits:
            self.say("A/B compares the current config with the curve lab's edits: make some first (e).")
            return
        self.say("Replaying under A and B …")
        self.run_job(self.next_generation(), inputs, params)

    @work(thread=True, exclusive=True, group="lab-ab", exit_on_error=False)
    def run_job(self, generation: int, inputs: LabInputs, params: WorkloadParams) -> None:
        with self.failures(generation):
            self.post_message(self.Computed(generation, compute.ab(inputs, params), params))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if self.is_current(message.generation):
            self.show(message.result, self.lab_state.edits)
            self.shown_result("ab", message.result.to_json(), message.params)

    def compose_tables(self) -> ComposeResult:
        yield lab_table(
            "ab-diffs", [("VM", 12), ("Host A", 14), ("Cost A", 9), ("Host B", 14), ("Cost B", 9)]
        )
        yield lab_table(
            "ab-hosts",
            [("Host", 14), ("A VMs", 6), ("A vCPU/mem", 11), ("B VMs", 6), ("B vCPU/mem", 11), ("Change", 8)],
        )

    def show(self, result: AbResult, edits: Sequence[Edit]) -> None:
        c = result.comparison
        a, b = c.a, c.b
        self.say(
            f"{len(c.differences)} of {len(a.placements)} decisions differ · "
            f"A (current config): {a.placed} placed, {a.rejected} rejected, memory {pct(a.utilisation['memory']['share'])} · "
            f"B ({plural(len(edits), 'edit')}: {' '.join(e.to_text() for e in edits)}): {b.placed} placed, {b.rejected} rejected, "
            f"memory {pct(b.utilisation['memory']['share'])}"
        )
        fill(
            self.query_one("#ab-diffs", DataTable),
            (
                (
                    d.id,
                    (
                        d.id,
                        d.a.host or "rejected",
                        format_cost(d.a.cost),
                        d.b.host or "rejected",
                        format_cost(d.b.cost),
                    ),
                )
                for d in c.differences
            ),
        )
        rows = []
        for ha, hb in zip(result.hosts_a, result.hosts_b, strict=True):
            change = (
                "="
                if ha.vms == hb.vms
                else (f"+{hb.vms - ha.vms}" if hb.vms > ha.vms else str(hb.vms - ha.vms))
            )
            rows.append(
                (
                    ha.host,
                    (
                        ha.host,
                        str(ha.vms),
                        f"{pct(ha.vcpu_share)}/{pct(ha.memory_share)}",
                        str(hb.vms),
                        f"{pct(hb.vcpu_share)}/{pct(hb.memory_share)}",
                        change,
                    ),
                )
            )
        fill(self.query_one("#ab-hosts", DataTable), rows)
