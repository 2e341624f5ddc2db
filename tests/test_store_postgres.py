"""The PostgreSQL backend's own promises: secrets never shown, bad servers a one-line error, the
schema versioned, the audit append-only. Against the private cluster of tests/pgcluster.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from tests.pgcluster import PW_PASSWORD, PW_USER, Cluster
from tui.core.fleet import HostState
from tui.core.hosts import HostRecord
from tui.core.live import ManagedVm
from tui.services.store import StoreError, open_store, redact_url
from tui.services.store.postgres.schema import SCHEMA_VERSION, app_role_grants

REPO = Path(__file__).resolve().parents[1]


def vmdeck(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("vmdeck: ")
    return done.stderr


def host(name: str) -> HostRecord:
    return HostRecord(name=name, uri="test:///default", profile="p", realm="r")


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("postgresql://alice:s3cret@db:5432/vmdeck", "postgresql://alice:***@db:5432/vmdeck"),
        (
            "postgres://alice@db/vmdeck?password=s3cret&sslmode=require",
            "postgres://alice@db/vmdeck?password=***&sslmode=require",
        ),
        ("host=db user=alice password=s3cret dbname=vmdeck", "host=db user=alice password=*** dbname=vmdeck"),
        ("host=db password='s3 \\' cret' dbname=vmdeck", "host=db password=*** dbname=vmdeck"),
        ("/var/lib/vmdeck", "/var/lib/vmdeck"),
    ],
)
def test_redact_url_hides_every_form_of_password(location: str, shown: str) -> None:
    assert redact_url(location) == shown
    assert "s3" not in redact_url(location).replace("postgres", "")


def test_a_password_in_the_location_is_refused_and_never_printed(
    pg_cluster: Cluster, no_pgpass: Path
) -> None:
    db = pg_cluster.create_db()
    url = f"postgresql://{PW_USER}:{PW_PASSWORD}@127.0.0.1:{pg_cluster.port}/{db}"
    done = vmdeck("hosts", "list", "--db", url)
    err = one_line_error(done)
    assert PW_PASSWORD not in err + done.stdout
    assert "~/.pgpass" in err
    done = vmdeck("hosts", "list", "--db", f"host=127.0.0.1 port={pg_cluster.port} password={PW_PASSWORD}")
    assert PW_PASSWORD not in one_line_error(done)


def test_password_from_a_private_passfile_works_and_a_readable_one_is_refused(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    db = pg_cluster.create_db()
    url = pg_cluster.url(db, user=PW_USER)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_cluster.port}:*:{PW_USER}:{PW_PASSWORD}\n")
    passfile.chmod(0o600)
    env = {"PGPASSFILE": str(passfile)}
    done = vmdeck("hosts", "list", "--db", url, "--json", env=env)
    assert done.returncode == 0, done.stderr
    passfile.chmod(0o644)
    err = one_line_error(vmdeck("hosts", "list", "--db", url, env=env))
    assert "readable by other users (mode 0644)" in err
    assert f"chmod 600 {passfile}" in err
    passfile.write_text(f"127.0.0.1:{pg_cluster.port}:*:{PW_USER}:wrong-{PW_PASSWORD}\n")
    passfile.chmod(0o600)
    err = one_line_error(vmdeck("hosts", "list", "--db", url, env=env))
    assert "password authentication failed" in err
    assert PW_PASSWORD not in err
    assert f"127.0.0.1:{pg_cluster.port}" in err  # names the server


def test_pgpassword_in_the_environment_is_refused(pg_url: str) -> None:
    err = one_line_error(vmdeck("hosts", "list", "--db", pg_url, env={"PGPASSWORD": PW_PASSWORD}))
    assert "PGPASSWORD" in err
    assert PW_PASSWORD not in err


def test_unreachable_server_and_missing_database_are_one_line_errors(
    pg_cluster: Cluster, no_pgpass: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    err = one_line_error(vmdeck("hosts", "list", "--db", f"postgresql://vmdeck@127.0.0.1:{closed}/vmdeck"))
    assert f"postgresql://vmdeck@127.0.0.1:{closed}/vmdeck" in err
    assert "Connection refused" in err
    err = one_line_error(vmdeck("hosts", "list", "--db", pg_cluster.url("no_such_db")))
    assert 'database "no_such_db" does not exist' in err


def test_a_server_that_never_answers_is_bounded_by_connect_timeout(no_pgpass: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
        port = server.getsockname()[1]
        done = vmdeck(
            "hosts",
            "list",
            "--db",
            f"postgresql://vmdeck@127.0.0.1:{port}/vmdeck?connect_timeout=2",
            timeout=30,
        )
        for conn in accepted:
            conn.close()
    err = one_line_error(done)
    assert "timeout" in err.lower()


def test_a_newer_schema_is_refused_clearly(pg_cluster: Cluster, pg_url: str, no_pgpass: Path) -> None:
    open_store(pg_url).add_host(host("n1"))
    db = pg_url.rsplit("/", 1)[1]
    pg_cluster.sql(db, f"INSERT INTO vmdeck_schema (version) VALUES ({SCHEMA_VERSION + 1})")
    err = one_line_error(vmdeck("hosts", "list", "--db", pg_url))
    assert (
        f"schema is version {SCHEMA_VERSION + 1}, newer than this vmdeck understands ({SCHEMA_VERSION})"
        in err
    )


def test_schema_is_created_once_even_by_concurrent_first_users(pg_url: str, no_pgpass: Path) -> None:
    errors: list[Exception] = []

    def first_use() -> None:
        try:
            open_store(pg_url).hosts()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert open_store(pg_url).counts()["schema_version"] == SCHEMA_VERSION  # type: ignore[attr-defined]


def test_the_audit_is_append_only_and_the_app_role_may_only_add_to_it(
    pg_cluster: Cluster, tmp_path: Path, no_pgpass: Path
) -> None:
    db = pg_cluster.create_db()
    owner = open_store(pg_cluster.url(db))
    owner.add_host(host("n1"))
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        pg_cluster.sql(db, "UPDATE vmdeck_audit SET reason = 'rewritten'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        pg_cluster.sql(db, "DELETE FROM vmdeck_audit")
    pg_cluster.sql(db, f"REVOKE ALL ON SCHEMA public FROM {PW_USER}")
    pg_cluster.sql(db, f"GRANT USAGE ON SCHEMA public TO {PW_USER}")
    for statement in app_role_grants(PW_USER).split(";"):
        if statement.strip():
            pg_cluster.sql(db, statement)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:{PW_USER}:{PW_PASSWORD}\n")
    passfile.chmod(0o600)
    os.environ["PGPASSFILE"] = str(passfile)  # no_pgpass restores it after the test
    app = open_store(pg_cluster.url(db, user=PW_USER))
    app.set_state("n1", HostState.DISABLED, "as the app role")
    assert [e.what for e in app.audit()] == ["host.add", "host.state"]
    with psycopg.connect(f"host=127.0.0.1 port={pg_cluster.port} dbname={db} user={PW_USER}") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE vmdeck_audit SET reason = 'rewritten'")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM vmdeck_audit")


def test_store_copy_both_ways_is_idempotent_and_keeps_audit_ids(
    pg_url: str, tmp_path: Path, no_pgpass: Path
) -> None:
    local = tmp_path / "db"
    store = open_store(str(local))
    store.add_hosts([host("n1"), host("n2")], reason="rack")
    store.set_state("n1", HostState.DISABLED, "psu")
    store.record_vm(ManagedVm("ef-56", "web1", "n2"), reason="started")
    ids = [e.id for e in store.audit()]
    done = vmdeck("store", "copy", "--from", str(local), "--to", pg_url, "--json")
    assert done.returncode == 0, done.stderr
    assert '"hosts": 2' in done.stdout
    pg = open_store(pg_url)
    assert pg.hosts() == store.hosts()
    assert pg.managed_vms() == store.managed_vms() == [ManagedVm("ef-56", "web1", "n2")]
    assert [e.id for e in pg.audit()] == ids
    assert [(e.what, e.host, e.before, e.after, e.reason) for e in pg.audit()] == [
        (e.what, e.host, e.before, e.after, e.reason) for e in store.audit()
    ]
    assert [e.when for e in pg.audit()] == [e.when for e in store.audit()]
    again = vmdeck("store", "copy", "--from", str(local), "--to", pg_url)
    assert again.returncode == 0, again.stderr
    assert "0 host(s), 0 VM(s), 0 audit entries added" in again.stdout
    pg.add_host(host("n3"), reason="added on the server")
    back = tmp_path / "back"
    for _ in range(2):
        done = vmdeck("store", "copy", "--from", pg_url, "--to", str(back))
        assert done.returncode == 0, done.stderr
    copy = open_store(str(back))
    assert [h.name for h in copy.hosts()] == ["n1", "n2", "n3"]
    assert copy.managed_vms() == [ManagedVm("ef-56", "web1", "n2")]
    assert [e.id for e in copy.audit()] == [e.id for e in pg.audit()]


def test_store_check_reports_version_counts_and_connectivity(pg_url: str, no_pgpass: Path) -> None:
    open_store(pg_url).add_host(host("n1"))
    done = vmdeck("store", "check", "--db", pg_url)
    assert done.returncode == 0, done.stderr
    assert f"postgresql store {pg_url}: reachable, schema version {SCHEMA_VERSION}" in done.stdout
    assert "1 hosts, 0 vms, 1 audit, 0 leases" in done.stdout


def test_a_store_error_names_the_server_without_its_password() -> None:
    with pytest.raises(StoreError) as err:
        open_store("postgresql://alice:hunter2@127.0.0.1:1/vmdeck")
    assert "hunter2" not in str(err.value)
    assert "postgresql://alice:***@127.0.0.1:1/vmdeck" in str(err.value)


def test_the_console_on_an_unreachable_server_is_a_one_line_error(
    no_pgpass: Path, sample_config: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = f"postgresql://alice:{PW_PASSWORD}@127.0.0.1:{closed}/vmdeck"
    err = one_line_error(vmdeck("--config", str(sample_config), "--db", url))
    assert PW_PASSWORD not in err
    assert f"postgresql://alice:***@127.0.0.1:{closed}/vmdeck" in err
    err = one_line_error(vmdeck("--config", str(sample_config), "--db", url.replace(f":{PW_PASSWORD}", "")))
    assert "Connection refused" in err


def test_a_connection_the_server_dropped_is_reopened_without_repeating_a_change(
    pg_cluster: Cluster, pg_url: str, no_pgpass: Path
) -> None:
    store = open_store(pg_url)
    store.add_host(host("n1"))
    db = pg_url.rsplit("/", 1)[1]
    pg_cluster.sql(
        "postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    )
    assert [h.name for h in store.hosts()] == ["n1"]  # reopened at BEGIN, nothing lost
    pg_cluster.sql(
        "postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    )
    store.record_action("console.refused", "n1", {"result": "refused"}, "test")
    assert [e.what for e in store.audit()] == ["host.add", "console.refused"]  # written once
