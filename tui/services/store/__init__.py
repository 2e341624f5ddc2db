"""Durable facts: the host inventory, vmdeck's VMs and the audit log (see store.py for the layout)."""

from tui.services.store.audit import Actor, AuditEntry, AuditLog, current_actor
from tui.services.store.files import StoreError
from tui.services.store.store import Store, default_data_dir

__all__ = ["Actor", "AuditEntry", "AuditLog", "Store", "StoreError", "current_actor", "default_data_dir"]
