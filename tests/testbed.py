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

import contextlib
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


def foreign_domains(uri: str, prefix: str, running_only: bool = False) -> list[str]:
    """The domains on `uri` (running or not, or only running ones) that a test with names starting with
    `prefix` did not make: another admin's or another test's. A test whose result depends on the host's
    whole load (a drain moves every VM; a cost counts every running VM) checks these instead of assuming
    an empty host."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        flags = libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE if running_only else 0
        return sorted(d.name() for d in conn.listAllDomains(flags) if not d.name().startswith(prefix))
    finally:
        conn.close()


# --- host D over ssh --------------------------------------------------------------------------------------
@functools.cache
def testbed_ssh_uri() -> str | None:
    """Host D's qemu+ssh URI (through the test bed's own sshd on 127.0.0.1:2222) when it answers
    within 3 s, else None (an older test bed without host D, or sshd not running)."""
    uri = read_env().get("VMDECK_TESTBED_URI_D_SSH")
    if not uri:
        return None
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return None
    return uri if _answers(uri, time.monotonic() + OPEN_TIMEOUT_S) else None


def testbed_uri_d_unix() -> str | None:
    """Host D's own unix socket: the same daemon as testbed_ssh_uri(), without ssh (benchmarks)."""
    return read_env().get("VMDECK_TESTBED_URI_D_UNIX") or None


def _pid(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def _free_port(first: int = 2223, last: int = 2299) -> int:
    import socket

    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {first}-{last} for a test sshd")


class ExtraSshd:
    """A short-lived second sshd in host D's namespaces (same daemon behind it), for fault tests:
    its own port, host key, authorized_keys and known_hosts-PORT entry, so faults never touch the
    test bed's own sshd. Use as a context manager: leaving it continues stopped processes, stops the
    server and removes its files, whatever the test did.

    Faults: freeze()/thaw() (SIGSTOP/SIGCONT the server and its sessions), refuse_key()/accept_key()
    (authorized_keys without/with the test bed's key), forget_host_key()/know_host_key() (its
    known_hosts entry; the ssh client of the test bed checks keys per port)."""

    def __init__(self) -> None:
        env = read_env()
        self.ssh_dir = Path(env["VMDECK_TESTBED_SSH_DIR"])
        self.client_key = Path(env["VMDECK_TESTBED_SSH_KEY"])
        self.libvirtd_pid_file = env["VMDECK_TESTBED_LIBVIRTD_PID_D"]
        self.alias = env["VMDECK_TESTBED_HOSTNAME_D"]
        self.port = _free_port()
        self.dir = self.ssh_dir / f"test-{self.port}"
        self.known_hosts = self.ssh_dir / f"known_hosts-{self.port}"
        self.pid: int | None = None
        self.frozen: list[int] = []

    @property
    def uri(self) -> str:
        return f"qemu+ssh://root@{self.alias}:{self.port}/system?keyfile={self.client_key}&no_tty=1"

    def __enter__(self) -> ExtraSshd:
        import subprocess

        self.dir.mkdir(mode=0o700, exist_ok=True)
        host_key = self.dir / "host_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True, timeout=30
        )
        self.host_key_pub = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
        self.accept_key()
        self.know_host_key()
        config = self.dir / "sshd_config"
        base = Path(read_env()["VMDECK_TESTBED_SSHD_CONFIG"]).read_text()
        lines = [
            line
            for line in base.splitlines()
            if line.split(" ", 1)[0] not in ("Port", "HostKey", "PidFile", "AuthorizedKeysFile")
        ]
        lines += [
            f"Port {self.port}",
            f"HostKey {host_key}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
        ]
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        target = _pid(self.libvirtd_pid_file)
        if target is None:
            raise RuntimeError("host D's libvirtd is not running")
        try:
            subprocess.run(
                [
                    "nsenter",
                    "--target",
                    str(target),
                    "--mount",
                    "--uts",
                    "--",
                    "/usr/sbin/sshd",
                    "-f",
                    str(config),
                    "-E",
                    str(self.dir / "sshd.log"),
                ],
                check=True,
                timeout=30,
            )
            deadline = time.monotonic() + 10
            while self.pid is None and time.monotonic() < deadline:
                self.pid = _pid(str(self.dir / "sshd.pid"))
                time.sleep(0.05)
            if self.pid is None:
                raise RuntimeError(f"the test sshd on port {self.port} wrote no pidfile")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        import os
        import shutil
        import signal

        self.thaw()
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.known_hosts.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _tree(self) -> list[int]:
        """The server and every descendant (sessions, virt-ssh-helper), parents first."""
        assert self.pid is not None
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop(0)
            found.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            todo.extend(int(c) for c in children)
        return found

    def freeze(self) -> None:
        """SIGSTOP the server and its sessions: new and existing connections hang."""
        import os
        import signal

        self.frozen = self._tree()
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        import os
        import signal

        for pid in reversed(self.frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def refuse_key(self) -> None:
        _write(self.dir / "authorized_keys", "")

    def accept_key(self) -> None:
        _write(self.dir / "authorized_keys", Path(f"{self.client_key}.pub").read_text())

    def forget_host_key(self) -> None:
        _write(self.known_hosts, "")

    def know_host_key(self) -> None:
        _write(self.known_hosts, f"[127.0.0.1]:{self.port} {self.host_key_pub}\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)
