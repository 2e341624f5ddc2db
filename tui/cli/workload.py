"""`vmdeck workload generate` and `vmdeck workload import`: workloads for `vmdeck simulate`."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.output import emit, fail
from tui.core.scheduling.workload import WorkloadSpec, generate, parse_shapes, summarise
from tui.core.units import UnitError
from tui.services.scenario_files import ScenarioFileError, load_trace, write_workload


def register(subparsers: Any) -> None:
    work = subparsers.add_parser("workload", help="make workloads for `simulate`: generate or import a trace")
    actions = work.add_subparsers(dest="workload_command", metavar="ACTION", required=True)
    gen = actions.add_parser("generate", help="Poisson arrivals, exponential lifetimes, a shape mix")
    gen.add_argument("-o", "--output", required=True, metavar="W.jsonl")
    gen.add_argument("--vms", type=int, default=1000, help="number of VMs started (default 1000)")
    gen.add_argument("--rate", type=float, default=1.0, help="arrivals per time unit (default 1)")
    gen.add_argument(
        "--lifetime", type=float, default=100.0, help="mean lifetime in time units (default 100)"
    )
    gen.add_argument(
        "--shapes",
        default="1:2GiB:0.3,2:4GiB:0.3,4:8GiB:0.25,8:16GiB:0.15",
        help="VCPUS:MEMORY[:WEIGHT],... (default: %(default)s)",
    )
    gen.add_argument("--gpu-share", type=float, default=0.0, help="share of VMs that ask for GPUs (0-1)")
    gen.add_argument("--gpu-type", default="nvidia-gpu", help="device type of GPU requests")
    gen.add_argument("--gpus", type=int, default=1, help="GPUs per GPU VM")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--json", action="store_true", help="machine-readable summary")
    gen.set_defaults(handler=run_generate)
    imp = actions.add_parser(
        "import", help="convert a CSV trace (id,start,end,vcpus,memory[,devices]) to JSONL"
    )
    imp.add_argument("trace", metavar="TRACE.csv")
    imp.add_argument("-o", "--output", required=True, metavar="W.jsonl")
    imp.add_argument("--json", action="store_true", help="machine-readable summary")
    imp.set_defaults(handler=run_import)


def run_generate(args: argparse.Namespace) -> int:

    try:
        spec = WorkloadSpec(
            starts=args.vms,
            rate=args.rate,
            mean_lifetime=args.lifetime,
            shapes=parse_shapes(args.shapes),
            gpu_share=args.gpu_share,
            gpu_type=args.gpu_type,
            gpus=args.gpus,
            seed=args.seed,
        )
    except (ValueError, UnitError) as exc:
        return fail(str(exc), args.json)
    events = generate(spec)
    try:
        write_workload(args.output, events)
    except OSError as exc:
        return fail(f"{args.output}: cannot write: {exc.strerror or exc}", args.json)
    data = {"output": args.output, "offered_load": spec.offered_load, **summarise(events)}
    emit(data, args.json, _workload_text)
    return 0


def run_import(args: argparse.Namespace) -> int:

    try:
        events = load_trace(args.trace)
    except ScenarioFileError as exc:
        return fail(str(exc), args.json)
    try:
        write_workload(args.output, events)
    except OSError as exc:
        return fail(f"{args.output}: cannot write: {exc.strerror or exc}", args.json)
    emit({"output": args.output, **summarise(events)}, args.json, _workload_text)
    return 0


def _workload_text(data: dict[str, Any]) -> str:
    load = f", offered load {data['offered_load']:g} VMs" if "offered_load" in data else ""
    return (
        f"wrote {data['events']} events ({data['starts']} starts, {data['stops']} stops, "
        f"{data['shapes']} shapes, {data['gpu_starts']} with devices{load}) to {data['output']}"
    )
