"""What every `vmdeck lab` subcommand reads: the config, the fleet (a file or the live fleet of a
store), the curve edits (--set), the request, the workload; and `--save`, which keeps the what-if as a
scenario in the store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui.cli.fleet import poll_fleet
from tui.cli.hosts import load_vm_config
from tui.cli.inputs import InputError
from tui.core.model import VmConfig
from tui.core.scheduling.request import Request, RequestError, request_of
from tui.core.scheduling.workload import Event, WorkloadSpec, generate
from tui.core.whatif.edits import Edit, EditError, EditResult, apply_edits, parse_edits
from tui.core.whatif.fleetmodel import FleetModel, live_model
from tui.core.whatif.scenario import Scenario, config_hash
from tui.services.scenario_files import ScenarioFileError, load_workload
from tui.services.scenarios import ScenarioStore, load_fleet_model
from tui.services.store import files_directory


class Inputs:
    """A subcommand's inputs, read from its arguments (InputError: one that does not read)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.config: VmConfig = load_vm_config(args)
        self.config_hash = config_hash(self.config)
        self.model = fleet_model(args, self.config)
        self.edits: list[Edit] = []
        self.edit_result: EditResult | None = None
        if getattr(args, "set", None):
            try:
                self.edits = parse_edits(args.set)
            except EditError as exc:
                raise InputError(f"--set: {exc}") from None
            self.edit_result = apply_edits(self.config, self.edits)
        self.workload: dict[str, Any] | None = None

    @property
    def edited(self) -> VmConfig:
        return self.edit_result.config if self.edit_result is not None else self.config

    def require_valid_edits(self) -> None:
        if self.edit_result is not None and not self.edit_result.ok:
            errors = [d for d in self.edit_result.diagnostics() if d.severity.value == "error"]
            raise InputError("edits refused: " + "; ".join(f"{d.path}: {d.message}" for d in errors))

    def events(self) -> list[Event]:
        args = self.args
        if args.workload:
            try:
                events = load_workload(args.workload)
            except ScenarioFileError as exc:
                raise InputError(str(exc)) from None
            self.workload = {"source": args.workload, "events": [e.to_json() for e in events]}
            return events

        try:
            spec = WorkloadSpec(
                starts=args.vms,
                rate=args.rate,
                mean_lifetime=args.lifetime,
                gpu_share=args.gpu_share,
                seed=args.seed,
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
        self.workload = {
            "spec": {
                "vms": args.vms,
                "rate": args.rate,
                "lifetime": args.lifetime,
                "gpu_share": args.gpu_share,
                "seed": args.seed,
            }
        }
        return generate(spec)

    def save(self, kind: str, result: dict[str, Any]) -> None:
        args = self.args
        if not args.save:
            return
        scenario = Scenario(
            name=args.save,
            config_hash=self.config_hash,
            config_source=str(args.config) if args.config else None,
            edits=tuple(e.to_text() for e in self.edits),
            fleet=self.model.to_json(),
            fleet_source=args.fleet or f"live:{args.db}",
            workload=self.workload,
            results={kind: result},
        )
        ScenarioStore(store_dir(args)).save(scenario, replace=args.replace)


def store_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "store", None):
        return Path(args.store)
    return files_directory(getattr(args, "db", None))


def fleet_model(args: argparse.Namespace, config: VmConfig) -> FleetModel:
    if args.fleet:
        try:
            return load_fleet_model(args.fleet, config)
        except ScenarioFileError as exc:
            raise InputError(str(exc)) from None
    # Poll every host of the store: a copy without `host`, which is drain-preview's positional HOST.
    every_host = argparse.Namespace(**{**vars(args), "host": None})
    _config, hosts, snaps, _seconds = poll_fleet(every_host)
    return live_model(hosts, snaps, config)


def request_from_args(args: argparse.Namespace) -> Request:
    try:
        return request_of(args.vcpus, args.memory, args.device)
    except RequestError as exc:
        raise InputError(str(exc)) from None


def counts(items: list[str], flag: str) -> list[tuple[str, int]]:
    out = []
    for item in items:
        profile, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise InputError(f"{flag} {item!r}: expected PROFILE=N")
        out.append((profile.strip(), int(count)))
    return out
