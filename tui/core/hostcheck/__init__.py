"""Host readiness checks as data: what a host must provide for its hardware profile and its realm.

`vmdeck hosts check` (tui/services/hostcheck) reads a host through libvirt and hands the facts to the
pure rules here; each rule returns `CheckItem`s — PASS, WARN or FAIL with the fix an admin can act on
("enable intel_iommu=on", "bind 0000:01:02.0 to vfio-pci"). The same report feeds the CLI (text and
JSON), the console's host detail and its hosts table, and the placement explanations (a failed check
of a device the request needs). Seed 004 (virt-host-validate) and seed 000 (hosts, shared storage,
the four pools).

- report.py: `Verdict`, `CheckItem`, `HostCheckReport` (the data every reader shares), `exit_code`;
- hardware.py: KVM, the IOMMU and each PCI device (node-device XML from outside parsed here);
- resources.py: capacity against the profile, the realm's pools, versions, the realm-wide peers;
- access.py: what to do about an ssh connection error.

The report types and `access_hint` are re-exported here for their many readers; the rules are
imported from their modules by the one service that runs them.
"""

from __future__ import annotations

from tui.core.hostcheck.access import access_hint
from tui.core.hostcheck.report import CheckItem, HostCheckReport, Verdict, exit_code

__all__ = ["CheckItem", "HostCheckReport", "Verdict", "access_hint", "exit_code"]
