"""The libvirt adapter: process set-up, one host's connection, and reading a host's state."""

from tui.services.libvirt.connection import Connection, effective_uri, open_connection
from tui.services.libvirt.inventory import HostReader, parse_hostdevs
from tui.services.libvirt.runtime import ensure_runtime

__all__ = ["Connection", "HostReader", "effective_uri", "ensure_runtime", "open_connection", "parse_hostdevs"]
