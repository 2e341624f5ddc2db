"""The PostgreSQL schema: tables, the append-only audit, and migrations with a recorded version.

`ensure_schema` runs on every open: a database at SCHEMA_VERSION costs one query; an empty one is
created and an older one migrated, each step in one transaction under an advisory lock so two vmdecks
opening a new database at once do not both create it. A database newer than this vmdeck is refused:
an old vmdeck must not write rows a newer one has given another meaning.

Every table is prefixed `vmdeck_` so the store can share a database with other applications.
"""

from __future__ import annotations

from typing import Any

import psycopg

from tui.services.store.files import StoreError

SCHEMA_VERSION = 1
# pg_advisory_xact_lock key: "vmdeck" in ASCII, so other applications' locks do not collide with it.
MIGRATION_LOCK = 0x766D6465636B

# MIGRATIONS[n] turns version n-1 into version n.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE vmdeck_schema (
        version integer PRIMARY KEY,
        applied timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE vmdeck_hosts (
        name text PRIMARY KEY,
        record jsonb NOT NULL,
        version bigint NOT NULL DEFAULT 1          -- bumped by every change (readers can compare)
    );
    CREATE TABLE vmdeck_vms (
        uuid text PRIMARY KEY,                     -- lower case
        name text NOT NULL,
        host text NOT NULL,
        record jsonb NOT NULL                      -- ManagedVm.to_json(): status, devices, ...
    );
    CREATE TABLE vmdeck_audit (
        seq bigserial PRIMARY KEY,                 -- the order entries were committed in
        id text NOT NULL UNIQUE,                   -- kept when copied between stores
        at timestamptz NOT NULL,                   -- the server's clock: machines may disagree
        kind text NOT NULL,                        -- change | intent | outcome | event
        who_user text NOT NULL,
        who_uid integer,
        who_from text,
        what text NOT NULL,
        host text,
        target text,
        intent text,
        result text,
        before jsonb,
        after jsonb,
        reason text
    );
    CREATE INDEX vmdeck_audit_host ON vmdeck_audit (host, seq);
    CREATE INDEX vmdeck_audit_target ON vmdeck_audit (target, seq);
    CREATE INDEX vmdeck_audit_at ON vmdeck_audit (at);
    CREATE INDEX vmdeck_audit_intent ON vmdeck_audit (intent) WHERE intent IS NOT NULL;
    -- Append-only even for roles that were granted more than INSERT/SELECT (README: the grants).
    CREATE FUNCTION vmdeck_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'vmdeck_audit is append-only: % refused', TG_OP;
    END $$;
    CREATE TRIGGER vmdeck_audit_no_update BEFORE UPDATE OR DELETE ON vmdeck_audit
        FOR EACH ROW EXECUTE FUNCTION vmdeck_audit_append_only();
    CREATE TRIGGER vmdeck_audit_no_truncate BEFORE TRUNCATE ON vmdeck_audit
        FOR EACH STATEMENT EXECUTE FUNCTION vmdeck_audit_append_only();
    CREATE TABLE vmdeck_leases (
        key text PRIMARY KEY,                      -- "vm:web1", "host:node1"
        action text NOT NULL,
        holder text NOT NULL,
        since timestamptz NOT NULL,
        expires timestamptz NOT NULL,              -- the server's clock decides expiry
        token text NOT NULL
    );
    CREATE TABLE vmdeck_intents (                  -- intents with no outcome yet (reconcile_intents)
        id text PRIMARY KEY,
        lease_key text,
        lease_token text,
        pid integer NOT NULL,
        machine text NOT NULL
    );
    CREATE TABLE vmdeck_reservations (
        host text NOT NULL,
        device text NOT NULL,                      -- a PCI address, e.g. 0000:3b:00.0
        lease_key text NOT NULL REFERENCES vmdeck_leases (key) ON DELETE CASCADE,
        PRIMARY KEY (host, device)
    );
    """,
}


def current_version(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """0 for a database vmdeck has never used."""
    row = conn.execute("SELECT to_regclass('vmdeck_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM vmdeck_schema").fetchone()
    return int(row[0]) if row else 0


def ensure_schema(conn: psycopg.Connection[tuple[Any, ...]], server: str) -> int:
    """Create or migrate the schema; returns its version. Refuses a newer one (StoreError)."""
    with conn.transaction():
        version = current_version(conn)
    if version == SCHEMA_VERSION:
        return version
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"PostgreSQL {server}: the store's schema is version {version}, newer than this vmdeck "
            f"understands ({SCHEMA_VERSION}); upgrade vmdeck"
        )
    # A session lock, taken before the migrating transaction begins: that transaction then sees the
    # catalog as the previous holder left it (inside one transaction a table created meanwhile by
    # another session may stay invisible to to_regclass).
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    conn.commit()
    try:
        with conn.transaction():
            version = current_version(conn)  # another vmdeck may have migrated while we waited
            for step in range(version + 1, SCHEMA_VERSION + 1):
                conn.execute(MIGRATIONS[step])
                conn.execute("INSERT INTO vmdeck_schema (version) VALUES (%s)", (step,))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"PostgreSQL {server}: the store's schema is version {version} and needs version "
            f"{SCHEMA_VERSION}, but this role may not create it ({exc.diag.message_primary}); "
            "run vmdeck once as the schema's owner (README: a shared store)"
        ) from None
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            conn.commit()
    return SCHEMA_VERSION


def app_role_grants(role: str) -> str:
    """SQL that lets `role` use the store but never rewrite history: INSERT and SELECT on the audit.

    Run by the schema's owner after vmdeck created the schema (README: a shared store). The audit
    trigger refuses UPDATE, DELETE and TRUNCATE for every role besides; only the owner could drop it.
    """
    return f"""
    GRANT SELECT ON vmdeck_schema TO {role};
    GRANT SELECT, INSERT, UPDATE, DELETE ON vmdeck_hosts, vmdeck_vms, vmdeck_leases,
        vmdeck_reservations, vmdeck_intents TO {role};
    GRANT SELECT, INSERT ON vmdeck_audit TO {role};
    GRANT USAGE ON SEQUENCE vmdeck_audit_seq_seq TO {role};
    """
