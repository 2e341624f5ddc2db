"""Host readiness checks through libvirt (`vmdeck hosts check`, the console's host detail): the
runner, and the cache of the last result per host. The rules themselves are in tui/core/hostcheck/.
"""

from tui.services.hostcheck.cache import CACHE_FILE, CheckCache
from tui.services.hostcheck.runner import check_host, check_hosts

__all__ = ["CACHE_FILE", "CheckCache", "check_host", "check_hosts"]
