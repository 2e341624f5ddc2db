"""Durable facts: the host inventory, vmdeck's VMs, leases and the audit log (interface: base.py)."""

from tui.services.store.audit import Actor, AuditEntry, AuditLog, current_actor
from tui.services.store.base import Busy, DevicesTaken, FleetStore, Lease
from tui.services.store.files import StoreError
from tui.services.store.store import Store, default_data_dir

__all__ = [
    "Actor",
    "AuditEntry",
    "AuditLog",
    "Busy",
    "DevicesTaken",
    "FleetStore",
    "Lease",
    "Store",
    "StoreError",
    "current_actor",
    "default_data_dir",
]
