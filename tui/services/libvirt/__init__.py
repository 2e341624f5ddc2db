"""The libvirt adapter: process set-up, one host's connection, and reading a host's state."""

from tui.services.libvirt.connection import (
    Connection,
    EventCallback,
    NodeFileMissing,
    effective_uri,
    missing_node_file,
    open_connection,
)
from tui.services.libvirt.inventory import HostReader, lease_address, parse_hostdevs
from tui.services.libvirt.runtime import ensure_runtime

__all__ = [
    "Connection",
    "EventCallback",
    "HostReader",
    "NodeFileMissing",
    "effective_uri",
    "ensure_runtime",
    "lease_address",
    "missing_node_file",
    "open_connection",
    "parse_hostdevs",
]
