"""vmdeck: a keyboard-driven console for libvirt/KVM fleets and their cost-function scheduler."""

__version__ = "0.1.0"
