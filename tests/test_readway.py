"""ReadWay: which way a host's counters are read (one bulk call or one info() per domain), chosen
from the two timings each connection makes, and when it times them again."""

from __future__ import annotations

from tui.services.libvirt.readway import RECHECK_POLLS, ReadWay


def test_it_times_until_there_are_domains_then_every_recheck_polls() -> None:
    way = ReadWay()
    assert way.timing_due()
    way.decide(bulk_s=0.001, info_s=0.001, domains=0)  # a host without domains tells nothing
    assert way.timing_due()
    way.decide(bulk_s=0.040, info_s=0.0003, domains=20)
    due = [way.timing_due() for _ in range(2 * RECHECK_POLLS)]
    assert due.count(True) == 2
    assert due.index(True) == RECHECK_POLLS - 1


def test_the_cheaper_way_wins_counting_the_per_domain_listing() -> None:
    way = ReadWay()
    assert way.in_bulk  # before any timing: the one round trip
    way.decide(bulk_s=0.038, info_s=0.00026, domains=20)  # QEMU over ssh near by: 38 ms vs 21 x 0.26
    assert not way.in_bulk
    way.decide(bulk_s=0.060, info_s=0.005, domains=20)  # a distant host: 21 round trips of 5 ms
    assert way.in_bulk
    way.decide(bulk_s=2.0, info_s=0.5, domains=3)  # equal (4 calls of 0.5 s): the one call
    assert way.in_bulk
    way.reset()
    assert way.in_bulk
    assert way.timing_due()
