"""Small core objects for live-fleet tests: a VmConfig built from tui.core classes, a hung socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tui.core.costs import CostFunction
from tui.core.curves import HardSoft, Linear
from tui.core.model import Device, HardwareProfile, Realm, VmConfig

GIB = 1 << 30


def make_config(poll_frequency_s: float = 10.0) -> VmConfig:
    simple = CostFunction(
        "pool1",
        vms=Linear(slope=1.0, base=0.0),
        vcpus=HardSoft(soft=8, hard=16, soft_amt=4, hard_amt=32),
        memory=HardSoft(soft=16 * GIB, hard=32 * GIB, scale=10),
    )
    gpu = CostFunction(
        "nvidia-gpu",
        vms=Linear(slope=1.0, base=0.0),
        devices={"nvidia-gpu": Linear(slope=1.0, base=0.0, max=2)},
        offset=100000,
    )
    profiles = {
        "pool1": HardwareProfile("pool1", cores=8, memory=32 * GIB, cost_function="pool1"),
        "gpu": HardwareProfile(
            "gpu",
            cores=8,
            memory=32 * GIB,
            cost_function="nvidia-gpu",
            devices=(Device("nvidia-gpu", "0000:01:02.0"), Device("nvidia-gpu", "0000:02:03.0")),
        ),
    }
    realms = {
        "libvirt1": Realm("libvirt1", poll_frequency_s=poll_frequency_s),
        "off": Realm("off", disabled=True),
    }
    return VmConfig({"pool1": simple, "nvidia-gpu": gpu}, profiles, realms)


@contextmanager
def black_hole() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (kernel backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Wait for a condition (not a timing assertion: the timeout only stops a broken test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Recorder:
    """A subscriber that keeps every snapshot, thread-safely."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list = []

    def __call__(self, snap) -> None:
        with self.lock:
            self.seen.append(snap)

    def of(self, host: str) -> list:
        with self.lock:
            return [s for s in self.seen if s.host == host]
