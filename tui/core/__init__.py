"""Pure domain code: units, curves, cost functions, profiles, realms, placement, lint.

Nothing in this package performs I/O or imports textual, libvirt or tinydb (a test enforces it).
"""
