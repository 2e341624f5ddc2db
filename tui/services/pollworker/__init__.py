"""Polling in a worker process: the console's interpreter never runs a libvirt call or a poll.

`WorkerPoller` (client.py) is what the console holds: the same public interface as the in-process
`Poller` (tui/services/poller/), backed by a child process (child.py) that runs an in-process
Poller over the libvirt connections and sends back only what changed (framing.py is the pipe's
message format). Under WorkerPoller's public API: starting, restarting and closing the process
(process.py), and the console-side state that the worker's messages update (inbox.py). Actions run
their libvirt calls on the worker's connections through `run_on` and the proxies of remote.py,
because the test driver keeps a host's state per connection.
"""

from tui.services.pollworker.client import WorkerPoller
from tui.services.pollworker.process import WorkerNotice

__all__ = ["WorkerNotice", "WorkerPoller"]
