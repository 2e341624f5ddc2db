"""The PostgreSQL store's leases (one action per VM or host at a time, across machines) and the PCI
device reservations they hold (two starts never get the same device). Expiry is the server's clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from tui.core.printable import printable
from tui.services.store.base import Busy, DevicesTaken, Lease
from tui.services.store.files import StoreError
from tui.services.store.postgres.transaction import PostgresConnection, iso


class LeaseTables(PostgresConnection):
    """vmdeck_leases and vmdeck_reservations."""

    # --- leases: one action per VM or host at a time, across machines ----------------------------------------
    def acquire_lease(self, key: str, action: str, ttl_s: float) -> Lease:
        """Take the lease on `key` for `ttl_s` seconds (the server's clock) or raise Busy naming its holder."""
        token = secrets.token_hex(16)
        with self._tx() as cur:
            # Expired leases are free for anyone: their holder died or lost the network.
            cur.execute("DELETE FROM vmdeck_leases WHERE key = %s AND expires <= now()", (key,))
            row = cur.execute(
                "INSERT INTO vmdeck_leases (key, action, holder, since, expires, token) "
                "VALUES (%s, %s, %s, now(), now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING since, extract(epoch FROM expires)",
                (key, action, self.holder, ttl_s, token),
            ).fetchone()
            if row is None:
                held = cur.execute(
                    "SELECT action, holder, since FROM vmdeck_leases WHERE key = %s", (key,)
                ).fetchone()
                if held is None:  # released between our insert and this read
                    raise Busy(key, action, "another vmdeck", "just now")
                raise Busy(key, printable(held[0]), printable(held[1]), iso(held[2]))
            self._notify(cur, "lease", [key], action)
            return Lease(key, action, self.holder, iso(row[0]), float(row[1]), token)

    def renew_lease(self, lease: Lease, ttl_s: float) -> Lease:
        """Extend a lease we hold; Busy if it expired and someone else took it meanwhile."""
        with self._tx() as cur:
            cur.execute(
                "DELETE FROM vmdeck_leases WHERE key = %s AND token <> %s AND expires <= now()",
                (lease.key, lease.token),
            )
            row = cur.execute(
                "INSERT INTO vmdeck_leases (key, action, holder, since, expires, token) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires "
                "WHERE vmdeck_leases.token = excluded.token RETURNING extract(epoch FROM expires)",
                (
                    lease.key,
                    lease.action,
                    lease.holder,
                    datetime.fromisoformat(lease.since),
                    ttl_s,
                    lease.token,
                ),
            ).fetchone()
            if row is None:
                held = cur.execute(
                    "SELECT action, holder, since FROM vmdeck_leases WHERE key = %s", (lease.key,)
                ).fetchone()
                if held is None:
                    raise Busy(lease.key, lease.action, "another vmdeck", "just now")
                raise Busy(lease.key, printable(held[0]), printable(held[1]), iso(held[2]))
            return Lease(lease.key, lease.action, lease.holder, lease.since, float(row[0]), lease.token)

    def release_lease(self, lease: Lease) -> None:
        """Give a lease back (with its device reservations); a lease no longer ours is left alone."""
        with self._tx() as cur:
            cur.execute("DELETE FROM vmdeck_leases WHERE key = %s AND token = %s", (lease.key, lease.token))
            self._notify(cur, "lease", [lease.key], lease.action)

    def leases(self) -> list[Lease]:
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT key, action, holder, since, extract(epoch FROM expires), token FROM vmdeck_leases "
                "WHERE expires > now() ORDER BY key"
            ).fetchall()
        # Text from the database ends up in refusal messages: escaped, in case a person wrote it.
        return [
            Lease(printable(k), printable(a), printable(h), iso(s), float(e), t) for k, a, h, s, e, t in rows
        ]

    # --- device reservations: two starts never get the same PCI device -------------------------------------
    def reserve_devices(self, lease: Lease, host: str, devices: Sequence[str]) -> None:
        """Hold PCI addresses on `host` with `lease` (replacing what it held); DevicesTaken if another
        live lease holds one. One transaction: all of them or none."""
        wanted = sorted(set(devices))
        with self._tx() as cur:
            mine = cur.execute(
                "SELECT 1 FROM vmdeck_leases WHERE key = %s AND token = %s AND expires > now() FOR UPDATE",
                (lease.key, lease.token),
            ).fetchone()
            if mine is None:
                raise StoreError(f"the lease of {lease.key} is no longer held: devices not reserved")
            # Reservations of expired leases go with them (ON DELETE CASCADE).
            cur.execute(
                "DELETE FROM vmdeck_leases WHERE expires <= now() AND key IN "
                "(SELECT lease_key FROM vmdeck_reservations WHERE host = %s AND device = ANY(%s))",
                (host, wanted),
            )
            cur.execute("DELETE FROM vmdeck_reservations WHERE lease_key = %s", (lease.key,))
            taken: list[str] = []
            holder = ""
            for device in wanted:
                row = cur.execute(
                    "INSERT INTO vmdeck_reservations (host, device, lease_key) VALUES (%s, %s, %s) "
                    "ON CONFLICT (host, device) DO NOTHING RETURNING device",
                    (host, device, lease.key),
                ).fetchone()
                if row is None:
                    taken.append(device)
                    held = cur.execute(
                        "SELECT l.holder FROM vmdeck_reservations r JOIN vmdeck_leases l ON l.key = r.lease_key "
                        "WHERE r.host = %s AND r.device = %s",
                        (host, device),
                    ).fetchone()
                    holder = printable(held[0]) if held else "another vmdeck"
            if taken:
                raise DevicesTaken(host, taken, holder)  # the transaction is rolled back: nothing held
            self._notify(cur, "lease", [lease.key], "reserve")

    def release_devices(self, lease: Lease) -> None:
        with self._tx() as cur:
            cur.execute(
                "DELETE FROM vmdeck_reservations r USING vmdeck_leases l "
                "WHERE r.lease_key = l.key AND l.key = %s AND l.token = %s",
                (lease.key, lease.token),
            )

    def reserved_devices(self, *, excluding: Lease | None = None) -> dict[str, set[str]]:
        """host -> PCI addresses held by live leases (other than `excluding`)."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT r.host, r.device FROM vmdeck_reservations r JOIN vmdeck_leases l "
                "ON l.key = r.lease_key WHERE l.expires > now() AND l.token IS DISTINCT FROM %s",
                (excluding.token if excluding else None,),
            ).fetchall()
        out: dict[str, set[str]] = {}
        for host, device in rows:
            out.setdefault(host, set()).add(device)
        return out
