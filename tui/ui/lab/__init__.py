"""The what-if lab inside the console's Simulation pane: load response, curve lab, replays, A/B,
drain/rebalance/consolidation plans and scenarios. The arithmetic is tui.core.whatif's (the same as
`vmdeck lab`); this package holds the parameters, the thread-side jobs, the messages and the views."""
