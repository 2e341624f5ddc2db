"""What-if scenarios on disk: the store's `scenarios.json`, scenario fleets with VM lists, exports,
and the loader's verdict on the curve lab's HOCON text.

Scenarios live in the store directory in their own TinyDB file, written with the store's atomic
storage under the store's lock (tui/services/store/files.py): a crash mid-save leaves the old file,
and two vmdeck processes saving at once do not lose each other's scenario.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.table import Table

from tui.core.costs import CostFunction
from tui.core.diagnostics import Diagnostic
from tui.core.fleet import FleetError
from tui.core.jsonsafe import (
    jsonable as jsonable,
)  # re-exported: the lab (console and CLI) imports it from here
from tui.core.model import VmConfig
from tui.core.whatif.fleetmodel import FleetModel
from tui.core.whatif.scenario import Scenario, csv_tables
from tui.services.config import load_config
from tui.services.scenario_files import fleet_error_at, read_fleet_document
from tui.services.store import files_directory
from tui.services.store.files import AtomicJSONStorage, StoreError, StoreLock, atomic_write

SCENARIOS_FILE = "scenarios.json"


class ScenarioError(StoreError):
    """A scenario that does not exist, or a name already taken."""


class ScenarioStore:
    def __init__(self, directory: str | os.PathLike[str], lock_timeout: float = 10.0) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {self.directory}: {exc.strerror}") from None
        self._lock = StoreLock(self.directory, lock_timeout)

    @contextmanager
    def _table(self) -> Iterator[Table]:
        # A fresh TinyDB per section: no stale cache from another process (as the host store does).
        db = TinyDB(self.directory / SCENARIOS_FILE, storage=AtomicJSONStorage)
        try:
            yield db.table("scenarios", cache_size=0)
        finally:
            db.close()

    def save(self, scenario: Scenario, replace: bool = False) -> Scenario:
        """Store a scenario (stamped with the time if it has none); an existing name needs `replace`."""
        if not scenario.created:
            stamped = scenario.to_json()
            stamped["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            scenario = Scenario.from_json(stamped)
        doc = json.loads(json.dumps(scenario.to_json(), default=_json_default))  # plain JSON, inf as text
        with self._lock.held(), self._table() as table:
            if table.get(Query().name == scenario.name) is not None:
                if not replace:
                    raise ScenarioError(f"a scenario named {scenario.name!r} exists (save with --replace)")
                table.remove(Query().name == scenario.name)
            table.insert(doc)
        return scenario

    def list(self) -> list[Scenario]:
        with self._table() as table:
            return sorted((Scenario.from_json(d) for d in table.all()), key=lambda s: s.name)

    def get(self, name: str) -> Scenario:
        with self._table() as table:
            doc = table.get(Query().name == name)
        if doc is None:
            known = ", ".join(s.name for s in self.list()) or "none saved"
            raise ScenarioError(f"no scenario named {name!r} (scenarios: {known})")
        return Scenario.from_json(doc)

    def delete(self, name: str) -> Scenario:
        with self._lock.held(), self._table() as table:
            doc = table.get(Query().name == name)
            if doc is None:
                raise ScenarioError(f"no scenario named {name!r}")
            table.remove(Query().name == name)
        return Scenario.from_json(doc)


def scenario_store(db: str | None) -> ScenarioStore:
    """The scenarios kept beside the console's store (its files directory); ValueError when the
    console has no store."""
    if not db:
        raise ValueError("this console has no store directory to keep scenarios in")
    return ScenarioStore(files_directory(db))


def _json_default(value: Any) -> Any:
    return repr(value)


# --- exports -------------------------------------------------------------------------------------------
def export_json(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    atomic_write(target, (json.dumps(jsonable(scenario.to_json()), indent=2) + "\n").encode("utf-8"))
    return target


def export_csv(scenario: Scenario, directory: str | os.PathLike[str]) -> list[Path]:
    """One CSV per table of results (`<dir>/<kind>-<rows>.csv`), e.g. rebalance-moves.csv."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, text in csv_tables(jsonable(scenario.results)).items():
        target = out / f"{stem}.csv"
        atomic_write(target, text.encode("utf-8"))
        written.append(target)
    return written


def write_text(path: str, text: str) -> str:
    """The curve lab's HOCON to a file the admin named (atomic: never half a file)."""
    target = Path(path).expanduser()
    atomic_write(target, text.encode("utf-8"))
    return str(target)


def attempt_write(path: str, work: Callable[[str], list[str]]) -> tuple[list[str], str | None]:
    """Run a write the admin asked for (in a thread): the paths written and no error, or the admin's
    path and the one-line reason it failed."""
    try:
        return work(path), None
    except OSError as exc:
        # The admin's path, not the temporary file the atomic write used beside it.
        return [path], f"cannot write {path}: {exc.strerror or type(exc).__name__}"
    except (StoreError, ValueError) as exc:  # StoreError: the atomic write names the path
        return [path], str(exc)


# --- scenario fleets -----------------------------------------------------------------------------------
def load_fleet_model(path: str | os.PathLike[str], config: VmConfig | None = None) -> FleetModel:
    """A FLEET.json whose hosts may carry `vm_list`; errors name the file and the host's line."""
    text, data = read_fleet_document(path)
    try:
        return FleetModel.from_json(data, config)
    except FleetError as exc:
        raise fleet_error_at(path, text, exc) from None


# --- the curve lab's text, read back by the loader ---------------------------------------------------------
# What the loader needs besides cost functions; appended AFTER the text so its line numbers hold.
_MINIMAL_REST = "\nticrypt.vm { mongodb {}, hardware-profiles {}, realms {} }\n"


def check_cost_functions_text(
    text: str, name: str = "<curve lab>"
) -> tuple[dict[str, CostFunction], list[Diagnostic]]:
    """Load a `ticrypt.vm.cost-functions { ... }` block with the real loader: the cost functions it
    defines and the loader's diagnostics (file and line in `text`). The block stands alone here, so
    the lint about cost functions used by no profile is left out."""
    with tempfile.TemporaryDirectory(prefix="vmdeck-lab-") as tmp:
        file = Path(tmp) / "lab.conf"
        file.write_text(text + _MINIMAL_REST, encoding="utf-8")
        result = load_config(file)
        cfs = dict(result.config.cost_functions) if result.config is not None else {}
        diagnostics = [
            d.located(name if d.file == str(file.resolve()) else d.file, d.line)
            for d in result.diagnostics
            if "is not used by any hardware profile" not in d.message
        ]
    return cfs, diagnostics
