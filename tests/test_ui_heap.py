"""The console's heap frozen after the first poll of a large fleet (tui/console/heap.py), and released."""

from __future__ import annotations

import gc

from tui.console.heap import FREEZE_ENTRIES, FREEZE_HOSTS, LEAK_CHECK_EVERY, Heap


def test_a_large_fleet_is_frozen_once_and_released() -> None:
    heap = Heap()
    heap.first_poll_done(FREEZE_HOSTS - 1)
    assert not heap.frozen
    assert gc.get_freeze_count() == 0
    try:
        heap.first_poll_done(FREEZE_HOSTS)
        assert heap.frozen
        assert gc.get_freeze_count() > 0
        heap.first_poll_done(FREEZE_HOSTS)  # once: the next batches freeze nothing more
    finally:
        heap.release()
    assert not heap.frozen
    assert gc.get_freeze_count() == 0


def test_the_survivors_of_each_full_collection_are_frozen() -> None:
    heap = Heap()
    try:
        heap.first_poll_done(FREEZE_HOSTS)
        kept = [[i] for i in range(10_000)]  # new long-lived objects, tracked by the collector
        frozen = gc.get_freeze_count()
        gc.collect()  # a full collection: its survivors (kept) join the frozen ones
        assert gc.get_freeze_count() >= frozen + len(kept)
    finally:
        heap.release()
    assert gc.get_freeze_count() == 0
    assert heap._collected not in gc.callbacks


def test_a_long_audit_history_is_frozen_too_and_released() -> None:
    heap = Heap()
    heap.audit_history_read(FREEZE_ENTRIES - 1)
    assert not heap.frozen
    try:
        kept = [[i] for i in range(1000)]  # the entries just read
        heap.audit_history_read(FREEZE_ENTRIES)
        assert heap.frozen
        assert all(o is not kept[0] for o in gc.get_objects())  # in no generation a collection walks
        heap.first_poll_done(FREEZE_HOSTS)  # already frozen: nothing more
    finally:
        heap.release()
    assert gc.get_freeze_count() == 0
    assert any(o is kept[0] for o in gc.get_objects())  # the collector's again


def test_a_frozen_heap_grown_past_the_leak_factor_is_walked_once_then_frozen_again() -> None:
    """Measured every LEAK_CHECK_EVERY full collections (the measure walks every frozen object)."""
    heap = Heap()
    try:
        heap.first_poll_done(FREEZE_HOSTS)
        gc.disable()  # no full collection while the heap grows: the count below is exact
        try:
            kept = [[i] for i in range(3 * gc.get_freeze_count())]  # past LEAK_FACTOR (2) times
        finally:
            gc.enable()
        for _ in range(LEAK_CHECK_EVERY - 1):
            gc.collect()
            assert gc.get_freeze_count() > 0  # not measured yet: still frozen
        gc.collect()  # measured: unfrozen, so that the next full collection walks everything
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert gc.get_freeze_count() >= len(kept)  # the survivors, the new baseline, frozen again
    finally:
        heap.release()
    assert gc.get_freeze_count() == 0
