"""Find the real libvirt test bed and build the cheapest guest that runs on it.

`scripts/libvirt-testbed.sh start` (run by `scripts/setup.sh test` as root) starts three real
libvirtd hosts on this machine (A, B and C) and writes their URIs to /var/lib/vmdeck-testbed/env.
Tests that need real daemons ask `testbed_uris()` (A and B) and skip with a reason when it returns
None; tests that need a third host also ask `testbed_uri_c()`. Guests boot `HALT_ROM`, a 64 KiB
firmware that only halts the CPU: no disk, ~14 MiB of host RAM, starts in ~0.3 s. Migrations to
hosts B and C need a migrate URI on loopback (`tcp://127.0.0.1[:PORT]`): their hostnames resolve
nowhere. Facts: ../shared/notes/libvirt-testbed.md.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

TESTBED_DIR = Path("/var/lib/vmdeck-testbed")
ENV_FILE = TESTBED_DIR / "env"
HALT_ROM = TESTBED_DIR / "halt.rom"
OPEN_TIMEOUT_S = 3.0


def allow_testbed_sockets() -> None:
    """Hosts B and C are reached through sockets under TESTBED_DIR: put it on vmdeck's socket
    allow-list ($VMDECK_SOCKET_DIRS, README "Accepted host URIs") for this process and its children."""
    dirs = [d for d in os.environ.get("VMDECK_SOCKET_DIRS", "").split(":") if d]
    if str(TESTBED_DIR) not in dirs:
        os.environ["VMDECK_SOCKET_DIRS"] = ":".join([*dirs, str(TESTBED_DIR)])


allow_testbed_sockets()  # tests and benchmarks that use the test bed import this module


def read_env(path: Path | None = None) -> dict[str, str]:
    """The `KEY=value` lines of the test bed's env file (default ENV_FILE); empty if missing."""
    try:
        text = (path or ENV_FILE).read_text(encoding="utf-8")
    except OSError:
        return {}
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip("'\"")
    return env


def _answers(uri: str, deadline: float) -> bool:
    """Whether libvirtd at `uri` answers a call before `deadline` (time.monotonic()).

    open() blocks forever on a daemon that accepts but never answers, so it runs in a daemon
    thread that is abandoned when the deadline passes.
    """
    import libvirt

    outcome: list[bool] = []

    def probe() -> None:
        try:
            conn = libvirt.open(uri)
            try:
                conn.getLibVersion()
            finally:
                conn.close()
        except libvirt.libvirtError:
            outcome.append(False)
        else:
            outcome.append(True)

    thread = threading.Thread(target=probe, name=f"testbed-probe {uri}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return outcome == [True]


@functools.cache
def testbed_uris() -> tuple[str, str] | None:
    """(URI of host A, URI of host B) when both daemons answer within 3 s, else None.

    Cached for the process: a missing test bed costs one probe, not one per test.
    """
    env = read_env()
    uri_a, uri_b = env.get("VMDECK_TESTBED_URI_A"), env.get("VMDECK_TESTBED_URI_B")
    if not uri_a or not uri_b:
        return None
    try:
        import libvirt  # noqa: F401  (the probes need it; without it there is no test bed)
    except ImportError:
        return None
    deadline = time.monotonic() + OPEN_TIMEOUT_S
    if _answers(uri_a, deadline) and _answers(uri_b, deadline):
        return uri_a, uri_b
    return None


@functools.cache
def testbed_uri_c() -> str | None:
    """URI of host C (a third daemon, in its own namespaces like B) when A, B and C all answer
    within 3 s, else None (an older test bed started only A and B). Cached for the process."""
    uri_c = read_env().get("VMDECK_TESTBED_URI_C")
    if not uri_c or testbed_uris() is None:
        return None
    return uri_c if _answers(uri_c, time.monotonic() + OPEN_TIMEOUT_S) else None


def testbed_uri_a_from_b() -> str | None:
    """Host A's URI as host B's daemon resolves it: the destination of a peer-to-peer migration
    B -> A (inside B's namespace qemu:///system is B itself). It works from here too."""
    return read_env().get("VMDECK_TESTBED_URI_A_FROM_B") or None


def testbed_uri_a_from_c() -> str | None:
    """Host A's URI as host C's daemon resolves it (peer-to-peer C -> A); works from here too.
    B's and C's own URIs work from every namespace as they are."""
    return read_env().get("VMDECK_TESTBED_URI_A_FROM_C") or None


def testbed_kvm() -> bool:
    """Whether the test bed found a usable /dev/kvm (else guests need domain_type="qemu")."""
    return read_env().get("VMDECK_TESTBED_KVM") == "1"


def tiny_domain_xml(
    name: str,
    uuid: str,
    vcpus: int = 1,
    max_vcpus: int = 2,
    memory_kib: int = 65536,
    domain_type: str = "kvm",
) -> str:
    """Domain XML for the cheapest guest: HALT_ROM as firmware, no disk, no USB.

    The CPU model drops `svm` (the host's /dev/kvm cannot provide it); `vcpus` of `max_vcpus`
    are online so vCPU hot-add can be tested; the default virtio balloon stays for setmem calls.
    """
    if domain_type not in ("kvm", "qemu"):
        raise ValueError(f"domain_type must be 'kvm' or 'qemu', not {domain_type!r}")
    if not 1 <= vcpus <= max_vcpus:
        raise ValueError(f"need 1 <= vcpus <= max_vcpus, got vcpus={vcpus} max_vcpus={max_vcpus}")
    if memory_kib <= 0:
        raise ValueError(f"memory_kib must be positive, got {memory_kib}")
    return f"""<domain type='{domain_type}'>
  <name>{escape(name)}</name>
  <uuid>{escape(uuid)}</uuid>
  <memory unit='KiB'>{memory_kib}</memory>
  <currentMemory unit='KiB'>{memory_kib}</currentMemory>
  <vcpu placement='static' current='{vcpus}'>{max_vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <loader type='rom'>{escape(str(HALT_ROM))}</loader>
  </os>
  <cpu mode='custom' match='exact'>
    <model fallback='allow'>qemu64</model>
    <feature policy='disable' name='svm'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
  </devices>
</domain>
"""


def remove_test_objects(uri: str, prefix: str, pool_dir: Path | None = None) -> None:
    """Destroy and undefine a test's domains (names starting with `prefix`) and delete its pools
    (named with `prefix`, or — for a realm pool that keeps its default name — under `pool_dir`)
    with their volumes. Best effort: what is already gone is skipped."""
    import contextlib

    import libvirt

    conn = libvirt.open(uri)
    try:
        # A domain with snapshots (or a managed save) refuses a plain undefine: drop their metadata too.
        flags = libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(prefix):
                for step in (dom.destroy, lambda d=dom: d.undefineFlags(flags)):
                    with contextlib.suppress(libvirt.libvirtError):
                        step()
        for pool in conn.listAllStoragePools(0):
            ours = pool.name().startswith(prefix) or (
                pool_dir is not None and f"<path>{pool_dir}/" in pool.XMLDesc(0)
            )
            if not ours:
                continue
            with contextlib.suppress(libvirt.libvirtError):
                pool.refresh(0)
                for vol in pool.listAllVolumes(0):
                    vol.delete(0)
            for step in (pool.destroy, pool.undefine):
                with contextlib.suppress(libvirt.libvirtError):
                    step()
    finally:
        conn.close()
