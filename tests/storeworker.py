"""A second vmdeck process for the store tests: `python -m tests.storeworker MODE LOCATION ARGS...`.

Modes:
  edits W N        N host edits (profile "wW-i") over hosts h0..h9, then print "done"
  hold KEY TTL     take the lease KEY for TTL seconds, print "held", then edit hosts until killed
  stall            in the middle of a change (PostgreSQL: its transaction has changed h0 and written
                   the entry, not committed; local: holding the store's lock), print "stalled", sleep
  pick W DEVICES   wait for the file $GO, then take lease vm:gpuW and reserve the lowest device not yet
                   reserved on host n1 (retrying when another start takes it first); print it, and stay
                   alive (a start holds its lease until its VM is recorded) until the file $DONE exists
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tui.services.store import DevicesTaken, open_store


def main(argv: list[str]) -> int:
    mode, location, *rest = argv
    store: Any = open_store(location)
    if mode == "edits":
        w, n = int(rest[0]), int(rest[1])
        for i in range(n):
            store.edit_host(f"h{(w + i) % 10}", {"profile": f"w{w}-{i}"}, reason=f"worker {w}")
        print("done", flush=True)
    elif mode == "hold":
        key, ttl = rest[0], float(rest[1])
        store.acquire_lease(key, "vm.stop", ttl)
        print("held", flush=True)
        i = 0
        while True:  # killed with SIGKILL somewhere in here, often mid-change
            store.edit_host(f"h{i % 10}", {"profile": f"hold-{i}"}, reason="hold")
            i += 1
    elif mode == "stall":
        tx = getattr(store, "_tx", None)
        if tx is not None:
            with tx() as cur:
                cur.execute("SELECT record FROM vmdeck_hosts WHERE name = 'h0' FOR UPDATE")
                cur.execute(
                    "UPDATE vmdeck_hosts SET record = jsonb_set(record, '{profile}', '\"stalled\"') "
                    "WHERE name = 'h0'"
                )
                store._audit(cur, "host.edit", "h0", None, {"profile": "stalled"}, "stalled")
                print("stalled", flush=True)
                time.sleep(600)
        with store._lock.held():
            print("stalled", flush=True)
            time.sleep(600)
    elif mode == "pick":
        w, devices = int(rest[0]), rest[1].split(",")
        go = os.environ["GO"]
        while not os.path.exists(go):
            time.sleep(0.001)
        lease = store.acquire_lease(f"vm:gpu{w}", "vm.start", 30)
        while True:
            free = sorted(set(devices) - store.reserved_devices(excluding=lease).get("n1", set()))
            if not free:
                print("none", flush=True)
                break
            try:
                store.reserve_devices(lease, "n1", [free[0]])
            except DevicesTaken:
                continue  # another start won that device between our read and our reservation
            print(free[0], flush=True)
            break
        deadline = time.monotonic() + 60
        while not os.path.exists(os.environ["DONE"]) and time.monotonic() < deadline:
            time.sleep(0.01)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
