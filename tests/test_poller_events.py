"""`Poller.subscribe_events`: libvirt lifecycle events from every polled host, in words.

Against libvirt's test driver (no daemon) and the real test bed's host A (a transient tiny guest of
our own, uniquely named, removed afterwards; other tests' domains may be on the host).
"""

from __future__ import annotations

import contextlib
import threading
import uuid as uuidlib
from pathlib import Path

import libvirt
import pytest

from tui.core.hosts import HostRecord
from tui.core.lifecycle import LifecycleEvent
from tui.services.libvirt.events import DETAIL_WORDS, EVENT_WORDS, detail_word, event_word
from tui.services.libvirt.testdriver import FakeDomain, write_node_file
from tui.services.poller import Poller, PollerSettings

from . import testbed
from .livefixtures import make_config, wait_for


class Heard:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[LifecycleEvent] = []

    def __call__(self, event: LifecycleEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, vm: str) -> list[tuple[str, str, str]]:
        with self.lock:
            return [(e.host, e.event, e.detail) for e in self.events if e.vm == vm]


def lifecycle_words(event: int, detail: int) -> tuple[str, str]:
    return event_word(event), detail_word(event, detail)


def test_every_libvirt_lifecycle_number_has_words() -> None:
    assert lifecycle_words(libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED) == (
        "stopped",
        "migrated",
    )
    assert lifecycle_words(libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED) == (
        "started",
        "migrated",
    )
    assert lifecycle_words(42, 7) == ("event-42", "detail-7")  # a newer daemon: words, never an error
    # Every constant this libvirt-python defines for a lifecycle event is in the table.
    for event, word in EVENT_WORDS.items():
        prefix = f"VIR_DOMAIN_EVENT_{word.upper()}_"
        named = {v for k, v in vars(libvirt).items() if k.startswith(prefix) and not k.endswith("_LAST")}
        assert named <= {d for (e, d) in DETAIL_WORDS if e == event}, (event, word)


def test_test_driver_events_reach_subscribers(tmp_path: Path) -> None:
    uri = write_node_file(tmp_path / "h1.xml", "h1", [FakeDomain("keep")])
    poller = Poller([HostRecord("h1", uri, "pool1", "libvirt1")], make_config(), PollerSettings())
    heard = Heard()
    unsubscribe = poller.subscribe_events(heard)
    try:
        poller.poll_once(timeout=10)
        conn = poller.connection("h1")
        assert conn is not None
        dom = conn.createXML(FakeDomain("ev1").xml("h1"), 0)
        assert wait_for(lambda: ("h1", "started", "booted") in heard.of("ev1"), 10)
        dom.destroy()
        assert wait_for(lambda: ("h1", "stopped", "destroyed") in heard.of("ev1"), 10)
        unsubscribe()
        conn.createXML(FakeDomain("ev2").xml("h1"), 0)
        poller.poll_once(timeout=10)  # the poll after the event: the event loop has run by now
        assert heard.of("ev2") == []
        assert heard.of("keep") == []
    finally:
        poller.close()


URIS = testbed.testbed_uris()


@pytest.mark.kvm
@pytest.mark.skipif(
    URIS is None,
    reason="no real libvirtd test bed answering: run `bash scripts/libvirt-testbed.sh start` as root",
)
def test_testbed_guest_events_carry_name_event_and_detail() -> None:
    assert URIS is not None
    poller = Poller([HostRecord("bedA", URIS[0], "pool1", "libvirt1")], make_config(), PollerSettings())
    heard = Heard()
    poller.subscribe_events(heard)
    name = f"vmdeck-test-events-{uuidlib.uuid4().hex[:8]}"
    kind = "kvm" if testbed.testbed_kvm() else "qemu"
    conn = libvirt.open(URIS[0])
    try:
        poller.poll_once(timeout=20)
        dom = conn.createXML(testbed.tiny_domain_xml(name, str(uuidlib.uuid4()), domain_type=kind), 0)
        assert wait_for(lambda: ("bedA", "started", "booted") in heard.of(name), 20)
        dom.destroy()
        assert wait_for(lambda: ("bedA", "stopped", "destroyed") in heard.of(name), 20)
    finally:
        testbed.remove_test_objects(URIS[0], name)
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()
        poller.close()
