"""Polling in worker processes: the console's interpreter never runs a libvirt call or a poll.

`WorkerPoller` (shards.py) is what the console holds: the same public interface as the in-process
`Poller` (tui/services/poller/), backed by one `WorkerShard` (client.py), or by one per core when the
fleet has many test-driver hosts (shards.py says why). A WorkerShard is one child process (child.py)
that runs an in-process Poller over the libvirt connections and sends back only what changed
(framing.py is the pipe's message format). Under WorkerShard's public API: starting, restarting and
closing the process (process.py, forked by the long-lived thread of spawner.py), and the
console-side state that the worker's messages update (inbox.py). Actions run their libvirt calls on
the worker's connections through `run_on` and the proxies of remote.py, because the test driver
keeps a host's state per connection.
"""

from tui.services.pollworker.client import WorkerShard
from tui.services.pollworker.process import WorkerNotice
from tui.services.pollworker.shards import WorkerPoller

__all__ = ["WorkerNotice", "WorkerPoller", "WorkerShard"]
