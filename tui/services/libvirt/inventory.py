"""Reading a host: node info and each domain's state, vCPUs, memory, PCI host devices, CPU time and
guest address.

One virConnect per host; every call here may block on a slow host, so callers run this off the UI
loop in a daemon thread (tui/services/poller/). State, vCPUs, memory and CPU time of every domain
come from one bulk call (`getAllDomainStats`: one round trip instead of one `info` per domain) or
from an `info` per domain, whichever cost less on this connection when last timed (readway.py: on
a QEMU host near by, the bulk call's monitor queries cost several round trips' worth per guest); a
driver that does not report a field in bulk (the test driver gives only the state) is read with
`info` for that domain.

Domain XML is only needed for the PCI host devices, and the guest's address (from the host's DHCP
leases, the costliest call here) for static address translation; both change rarely, so the XML is
read only for a new domain, one whose state changed, or after the host sent an event (define,
undefine, lifecycle, device hot-plug: the only ways hostdevs change) or the poller was asked to look
again (`xml_epoch`); DHCP leases change without an event, so a running guest with a NIC has its
lease looked up again every `refresh_every` polls.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

import libvirt

from tui.core.live import DomainFacts, DomainState, NodeFacts, hostdev_addresses
from tui.services.libvirt.readway import TIMED_INFOS, ReadWay

# The groups a poll needs in bulk: state, CPU time, memory (balloon), vCPUs. On QEMU all but the state
# ask each running guest's monitor or cgroup, which is why a per-domain info() can be cheaper (readway).
BULK_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
)
_INACTIVE = (DomainState.SHUTOFF, DomainState.CRASHED, DomainState.NOSTATE)
# libvirt's state code -> DomainState in one dict lookup (from_code walks the enum on every call)
_STATES = {code: DomainState.from_code(code) for code in range(len(DomainState))}
_HOLDS = frozenset(s for s in DomainState if s.holds_resources)


def _facts_by_dict(
    name: str,
    uuid: str,
    state: DomainState,
    vcpus: int,
    memory: int,
    max_memory: int,
    hostdevs: tuple[str, ...],
    cpu_time_ns: int,
    cpu_rate: float | None,
    address: str | None,
) -> DomainFacts:
    """DomainFacts(...) without the frozen dataclass's __init__ (one object.__setattr__ per field:
    4 us, a third of a poll's Python time per running domain); the same object, its fields written
    into its __dict__ at once (~1 us). Used only while DomainFacts has a __dict__ (see _facts)."""
    facts = _new(DomainFacts)
    facts.__dict__.update(
        name=name,
        uuid=uuid,
        state=state,
        vcpus=vcpus,
        memory=memory,
        max_memory=max_memory,
        hostdevs=hostdevs,
        cpu_time_ns=cpu_time_ns,
        cpu_rate=cpu_rate,
        address=address,
    )
    return facts


_new = object.__new__
# A DomainFacts with __slots__ (no __dict__) or with fields other than these gets its constructor.
_FIELDS = (
    "name",
    "uuid",
    "state",
    "vcpus",
    "memory",
    "max_memory",
    "hostdevs",
    "cpu_time_ns",
    "cpu_rate",
    "address",
)
_facts = (
    _facts_by_dict
    if "__slots__" not in vars(DomainFacts)
    and tuple(f.name for f in dataclasses.fields(DomainFacts)) == _FIELDS
    and getattr(DomainFacts, "__post_init__", None) is None
    else DomainFacts
)


def _by_name(d: DomainFacts) -> tuple[str, str]:
    return (d.name, d.uuid)


# Every domain of a host with its bulk statistics, or None where info() must be asked.
Listing = Iterable[tuple[libvirt.virDomain, dict[str, object] | None]]


def _info_seconds(domains: list[tuple[libvirt.virDomain, dict[str, object]]]) -> float:
    """The median seconds of one info() over these domains (inf when none answered: the bulk way)."""
    took = []
    for dom, _ in domains:
        began = time.perf_counter()
        try:
            dom.info()
        except libvirt.libvirtError:
            continue  # undefined meanwhile
        took.append(time.perf_counter() - began)
    return statistics.median(took) if took else math.inf


def bulk_info(stats: dict[str, object]) -> tuple[int, int, int, int, int] | None:
    """`virDomain.info()`'s five fields (state, max KiB, KiB, vCPUs, CPU ns) from one domain's bulk
    statistics, or None when the driver left one out. An inactive domain's CPU time is 0, as info()
    reports it (bulk statistics keep the last value a stopped guest had)."""
    values = [stats.get(k) for k in ("state.state", "balloon.maximum", "balloon.current", "vcpu.current")]
    ints = [v for v in values if isinstance(v, int)]
    if len(ints) != 4:
        return None
    state, max_kib, kib, vcpus = ints
    if DomainState.from_code(state) in _INACTIVE:
        return state, max_kib, kib, vcpus, 0  # qemu keeps a stopped guest's last CPU time in bulk
    cpu = stats.get("cpu.time")
    return (state, max_kib, kib, vcpus, cpu) if isinstance(cpu, int) else None


def parse_hostdevs(xml: str) -> tuple[str, ...]:
    """Normalised PCI addresses of a domain's <hostdev type='pci'> sources."""
    if "<hostdev" not in xml:  # the common case: skip the XML parse entirely
        return ()
    root = ET.fromstring(xml)
    found = []
    for dev in root.iter("hostdev"):
        if dev.get("type") != "pci":
            continue
        addr = dev.find("source/address")
        if addr is None:
            continue
        try:
            parts = [int(addr.get(k, "0"), 0) for k in ("domain", "bus", "slot", "function")]
        except ValueError:
            continue
        found.append("{:04x}:{:02x}:{:02x}.{:x}".format(*parts))
    return hostdev_addresses(found)


def lease_address(dom: libvirt.virDomain) -> str | None:
    """The guest's first IPv4 address from the host's DHCP leases (None: no lease, no network)."""
    try:
        ifaces = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)
    except libvirt.libvirtError:
        return None  # no network driver, or the domain stopped meanwhile: simply unknown
    for iface in (ifaces or {}).values():
        for addr in iface.get("addrs") or ():
            if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4 and addr.get("addr"):
                return str(addr["addr"])
    return None


@dataclass
class HostReader:
    """Per-host reading state kept between polls: XML cache and previous CPU times (for rates)."""

    refresh_every: int = 6
    xml_epoch: int = 0  # bumped by domain events: cached XML facts from an older epoch are re-read
    _polls: int = 0
    # uuid -> (event epoch, state when read, PCI hostdevs, has a NIC, lease address)
    _xml: dict[str, tuple[int, DomainState, tuple[str, ...], bool, str | None]] = field(default_factory=dict)
    _facts: dict[str, DomainFacts] = field(default_factory=dict)  # uuid -> the previous call's facts
    _then: float = 0.0  # the previous call's time (CPU rates are measured since then)
    _order: list[str] = field(default_factory=list)  # the previous call's UUIDs, in the order returned
    _node_memory_stats: bool = True
    view_changed: bool = True  # what the last domains() call returned differs from the one before
    bulk: bool = True  # getAllDomainStats works on this connection (cleared when the driver refuses it)
    way: ReadWay = field(default_factory=ReadWay)  # bulk or per domain this poll, by what each cost
    _read_in_bulk: bool | None = None  # the way the previous call read (None: no call yet)

    def reset(self) -> None:
        """After a reconnect nothing cached can be trusted."""
        self._xml.clear()
        self._facts.clear()
        self._order.clear()
        self._node_memory_stats = True
        self.bulk = True
        self.way.reset()
        self._read_in_bulk = None

    def node(self, conn: libvirt.virConnect) -> NodeFacts:
        model, memory_mib, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()
        memory = int(memory_mib) * 1024 * 1024
        # getInfo() reports NUMA node 0's memory on some hosts; the all-cells total is the machine's.
        if self._node_memory_stats:
            try:
                memory = int(conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)["total"]) * 1024
            except (libvirt.libvirtError, KeyError):
                self._node_memory_stats = False  # the test driver has none: stop asking
        return NodeFacts(
            str(model), memory, int(cpus), int(mhz), int(nodes), int(sockets), int(cores), int(threads)
        )

    def domains(self, conn: libvirt.virConnect, now: float) -> tuple[DomainFacts, ...]:
        """Every domain's facts. The steady path makes one bulk call per host or one `info` per
        domain, whichever cost less on this connection (`ReadWay`), and no XML call (see the
        module's docstring). `view_changed` says afterwards whether anything an admin sees differs
        from the previous call's result."""
        self._polls += 1
        full_refresh = self._polls % self.refresh_every == 0
        epoch = self.xml_epoch
        xml_cache = self._xml
        previous = self._facts
        then = self._then  # when the previous call read the CPU times in `previous`
        current: dict[str, DomainFacts] = {}
        fallbacks = 0
        changed = False
        in_bulk, listing = self._listing(conn)
        # CPU rates span one way only (readway.py): none in the first poll after a change of way.
        switched = self._read_in_bulk is not None and self._read_in_bulk is not in_bulk
        self._read_in_bulk = in_bulk
        # The steady path runs once per domain per poll (40,000 times a cycle at 2,000 hosts): plain
        # locals and comparisons, no per-domain helper calls.
        for dom, stats in listing:
            try:
                fields = bulk_info(stats) if stats is not None else None
                if fields is None:
                    fallbacks += 1
                    fields = dom.info()
                uuid = dom.UUIDString()
                state = _STATES.get(fields[0], DomainState.NOSTATE)
                cached = xml_cache.get(uuid)
                if cached is None or cached[0] != epoch or cached[1] is not state:
                    xml = dom.XMLDesc(0)
                    hostdevs = parse_hostdevs(xml)
                    # Only a running guest with a NIC can hold a lease: skip the lookup otherwise.
                    nic = "<interface" in xml
                    address = lease_address(dom) if nic and state is DomainState.RUNNING else None
                    xml_cache[uuid] = (epoch, state, hostdevs, nic, address)
                else:
                    _, _, hostdevs, nic, address = cached
                    if full_refresh and nic and state is DomainState.RUNNING:
                        # DHCP leases change without an event: look again now and then (no XML)
                        address = lease_address(dom)
                        xml_cache[uuid] = (epoch, state, hostdevs, nic, address)
                name = dom.name()
            except libvirt.libvirtError as exc:
                # Undefined between the listing and the read: it is simply gone.
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue
                raise
            _, max_kib, kib, vcpus, cpu_time = fields
            memory, max_memory = kib * 1024, max_kib * 1024
            before = previous.get(uuid)
            # CPU rate since the previous poll (None: first sight, not running, or a reset counter).
            rate = None
            if before is None:
                changed = True
            else:
                seen = before.cpu_time_ns
                if state in _HOLDS and cpu_time and now > then and cpu_time >= seen and not switched:
                    rate = (cpu_time - seen) / 1e9 / (now - then)
                if (
                    before.state is state
                    and before.vcpus == vcpus
                    and before.memory == memory
                    and before.max_memory == max_memory
                    and before.hostdevs == hostdevs
                    and before.address == address
                    and before.name == name
                ):
                    if seen == cpu_time and before.cpu_rate == rate:
                        current[uuid] = before  # nothing moved (a stopped guest): the same object
                        continue
                else:
                    changed = True
            current[uuid] = _facts(
                name, uuid, state, vcpus, memory, max_memory, hostdevs, cpu_time, rate, address
            )
        if in_bulk and current and fallbacks == len(current):
            self.bulk = False  # the driver reports no more than the state (the test driver): one call less
        self._facts, self._then = current, now
        if changed or len(current) != len(previous):
            # (with nothing changed, every domain was in `previous`: the same set iff the same size)
            for gone in set(xml_cache) - current.keys():
                del xml_cache[gone]
            out = sorted(current.values(), key=_by_name)
            self._order = [d.uuid for d in out]
            self.view_changed = True
            return tuple(out)
        # Same domains, same names: the previous call's order holds.
        self.view_changed = False
        return tuple([current[uuid] for uuid in self._order])

    def _listing(self, conn: libvirt.virConnect) -> tuple[bool, Listing]:
        """(read in bulk?, every domain with its bulk statistics (None: read it with info())). Times
        both ways when `way` says so."""
        way = self.way
        timing = self.bulk and way.timing_due()
        if not self.bulk or not (timing or way.in_bulk):
            return False, zip(conn.listAllDomains(0), itertools.repeat(None))
        began = time.perf_counter()
        try:
            stats: list[tuple[libvirt.virDomain, dict[str, object]]] = conn.getAllDomainStats(BULK_STATS, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
                raise
            self.bulk = False  # an old or limited driver: the per-domain path from now on
            return False, zip(conn.listAllDomains(0), itertools.repeat(None))
        if not timing:
            return True, stats
        bulk_s = time.perf_counter() - began
        timed = stats[:TIMED_INFOS]
        if timed and all(bulk_info(s) is None for _, s in timed):
            # The driver reports no more than the state in bulk (the test driver): per domain from now on.
            self.bulk = False
            return False, [(dom, None) for dom, _ in stats]
        way.decide(bulk_s, _info_seconds(timed), len(stats))
        return (True, stats) if way.in_bulk else (False, [(dom, None) for dom, _ in stats])
