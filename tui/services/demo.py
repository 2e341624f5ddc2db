"""The built-in demo fleet: `vmdeck` with no arguments opens the console on it.

It writes, under a demo data directory, one libvirt test-driver node file per host (8 cores, 32 GiB,
running and shut-off domains, GPU passthrough on the GPU nodes, a `default` network so the driver
reports guest addresses, and the realm's four storage pools so a VM can be started from the console)
and a hosts store that names them with `test:///…/node.xml` URIs. The sample config
(`config/ticrypt-vm.conf`) supplies the profiles and cost functions; its realms keep the default pool
names, which are the ones written here.

The generation is deterministic (fixed seed) so screenshots and tests see the same fleet. One host
points at a node file that does not exist: the demo also shows what an unreachable host looks like.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from tui.core.fleet import HostState
from tui.core.hosts import HostRecord, Nat
from tui.core.model import Realm
from tui.services.config.paths import SAMPLE_CONFIG
from tui.services.store import Store, default_data_dir

GIB_KIB = 1024 * 1024
# Bump when the generated fleet changes shape, so an old demo directory is rebuilt.
DEMO_VERSION = "1"
GPU_ADDRESSES = ("0000:01:02.0", "0000:02:03.0")


@dataclass(frozen=True)
class DemoVm:
    name: str
    vcpus: int
    memory_gib: int
    running: bool
    gpus: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoHost:
    record: HostRecord
    cores: int
    memory_gib: int
    vms: tuple[DemoVm, ...]


@dataclass(frozen=True)
class DemoPaths:
    """Where a prepared demo lives: the config to load and the store directory to open."""

    config: Path
    db: Path
    nodes: Path


def demo_dir() -> Path:
    return default_data_dir() / "demo"


def plan_fleet(nodes: Path, hosts_per_pool: int = 10, gpu_hosts: int = 4, seed: int = 6) -> list[DemoHost]:
    """The demo's hosts and VMs (pure: no files written), deterministic for a given seed."""
    rng = random.Random(seed)
    plan: list[DemoHost] = []
    layout = [("pool1", "libvirt1", hosts_per_pool), ("pool2", "libvirt2", hosts_per_pool)]
    layout.append(("nvidia-gpu-node", "libvirt1", gpu_hosts))
    for profile, realm, count in layout:
        prefix = "gpu" if profile == "nvidia-gpu-node" else profile
        for n in range(1, count + 1):
            name = f"{prefix}-{n:02d}"
            vms = _plan_vms(rng, name, profile == "nvidia-gpu-node")
            nat = Nat(f"203.0.113.{10 + len(plan)}", 20000) if profile != "pool1" else None
            state = HostState.ENABLED
            if profile == "pool2" and n == 3:
                state = HostState.NO_SCHEDULING
            if profile == "pool2" and n == hosts_per_pool:
                state = HostState.DISABLED
            uri = f"test://{(nodes / f'{name}.xml').resolve()}"
            if profile == "pool1" and n == hosts_per_pool:
                # Deliberately missing node file: this host is unreachable in the demo.
                uri = f"test://{(nodes / 'missing' / f'{name}.xml').resolve()}"
            record = HostRecord(name, uri, profile, realm, state, nat)
            plan.append(DemoHost(record, 8, 32, tuple(vms)))
    return plan


def _plan_vms(rng: random.Random, host: str, gpu: bool) -> list[DemoVm]:
    vms: list[DemoVm] = []
    free_gpus = list(GPU_ADDRESSES) if gpu else []
    vcpus_left, memory_left = 12, 30
    for i in range(rng.randint(1, 6)):
        vcpus, memory = rng.choice([(1, 2), (2, 4), (2, 8), (4, 8), (1, 4)])
        running = rng.random() < 0.75 and vcpus <= vcpus_left and memory <= memory_left
        gpus: tuple[str, ...] = ()
        if running:
            vcpus_left -= vcpus
            memory_left -= memory
            if free_gpus and rng.random() < 0.6:
                gpus = (free_gpus.pop(0),)
        vms.append(DemoVm(f"{host}-vm{i + 1}", vcpus, memory, running, gpus))
    return vms


def node_xml(host: DemoHost) -> str:
    """A libvirt test-driver `<node>` document for one demo host."""
    parts = [
        "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>",
        f"  <cpu><nodes>1</nodes><sockets>1</sockets><cores>{host.cores}</cores><threads>1</threads>"
        f"<active>{host.cores}</active><mhz>2400</mhz></cpu>",
        f"  <memory>{host.memory_gib * GIB_KIB}</memory>",
        "  <network><name>default</name><bridge name='virbr0'/>"
        "<ip address='192.168.122.1' netmask='255.255.255.0'/></network>",
    ]
    # The test driver keeps volumes in memory: these directories are never created on disk.
    for role, pool in Realm(host.record.realm).pools().items():
        parts.append(
            f"  <pool type='dir'><name>{pool}</name>"
            f"<target><path>/var/lib/libvirt/ticrypt/{role}</path></target></pool>"
        )
    for index, vm in enumerate(host.vms):
        uuid = uuidlib.uuid5(uuidlib.NAMESPACE_DNS, f"{vm.name}.vmdeck.demo")
        hostdevs = "".join(_hostdev(addr) for addr in vm.gpus)
        parts.append(
            f"  <domain type='test'><name>{escape(vm.name)}</name><uuid>{uuid}</uuid>"
            f"<memory>{vm.memory_gib * GIB_KIB}</memory><currentMemory>{vm.memory_gib * GIB_KIB}</currentMemory>"
            f"<vcpu>{vm.vcpus}</vcpu><os><type>hvm</type></os><devices>"
            f"<interface type='network'><mac address='52:54:00:00:{index // 256:02x}:{index % 256:02x}'/>"
            f"<source network='default'/></interface>{hostdevs}</devices>"
            f"<test:runstate>{1 if vm.running else 5}</test:runstate></domain>"
        )
    parts.append("</node>")
    return "\n".join(parts) + "\n"


def _hostdev(addr: str) -> str:
    domain, bus, rest = addr.split(":")
    slot, function = rest.split(".")
    return (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='0x{domain}' bus='0x{bus}' slot='0x{slot}' function='0x{function}'/>"
        "</source></hostdev>"
    )


def prepare_demo(directory: Path | None = None, *, reset: bool = False) -> DemoPaths:
    """Write the demo's node files and, unless it already exists, its hosts store.

    The store is kept between runs (host state changes made in the demo persist, like a real fleet);
    `reset=True` or a new DEMO_VERSION starts it afresh. Runs before the console starts (file I/O).
    """
    root = Path(directory) if directory is not None else demo_dir()
    nodes, db = root / "nodes", root / "db"
    nodes.mkdir(parents=True, exist_ok=True)
    marker = root / "VERSION"
    fresh = reset or not marker.is_file() or marker.read_text().strip() != DEMO_VERSION
    plan = plan_fleet(nodes)
    for host in plan:
        if "/missing/" not in host.record.uri:
            (nodes / f"{host.record.name}.xml").write_text(node_xml(host))
    if fresh:
        for old in ("hosts.json", "vms.json", "audit.jsonl"):
            (db / old).unlink(missing_ok=True)
        Store(db).add_hosts([h.record for h in plan], reason="vmdeck demo fleet", what="host.add")
        marker.write_text(DEMO_VERSION + "\n")
    return DemoPaths(SAMPLE_CONFIG, db, nodes)
