"""The outside world: config files, libvirt, the poller, actions, the TinyDB store and the audit log."""
