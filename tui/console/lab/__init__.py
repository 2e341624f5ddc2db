"""The what-if lab inside the console's Simulation pane: load response, curve lab, replays, A/B,
drain/rebalance/consolidation plans and scenarios. The arithmetic is tui.core.whatif's (the same as
`vmdeck lab`).

One widget per view (response.py, curvelab.py, replays.py, plans.py, scenarios.py; base.py: what
they share), each owning its parameter line, its thread job and its result; state.py: the shared
`LabState` the pane (tui/console/panes/sim.py) hands down; keys.py: the keys and tabs; compute.py: the
jobs' plain functions; params.py: the parameter lines; curvetext.py: the curve lab's text."""
