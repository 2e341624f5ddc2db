"""`vmdeck lab`: the what-if lab headless — load response, curve edits, replays, A/B, drain preview,
rebalance and consolidation plans, and saved scenarios.

Every subcommand reads a config (--config) and a fleet: a FLEET.json (--fleet, whose hosts may carry a
`vm_list`) or the live fleet polled from a store (--db). --json prints the same data the console's
Simulation pane renders; --save NAME keeps the what-if (config hash, edits, fleet, workload, results)
in the store's scenarios.json. Exit 0 on success, 1 on invalid input or edits with errors.

The parser is parser.py; what every subcommand reads (config, fleet, edits, workload) is inputs.py;
each subcommand and its text output is in the module named after it.

Imports are at module level: of what `vmdeck lab` needs, only tui.services.scenarios and
tui.services.scenario_files are not already loaded when the parser is built, and they cost ~6 ms
of CPU (process_time after build_parser()); `vmdeck --help` took a median 392-403 ms of CPU with
the imports inside functions and 392-405 ms with them here (9 runs each, load ~10 on 2 cores).
"""

from __future__ import annotations

from tui.cli.lab.parser import register

__all__ = ["register"]
