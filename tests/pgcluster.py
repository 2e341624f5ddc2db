"""A private PostgreSQL cluster for the test session: real server, temporary directory, never left running.

`initdb` in a temporary directory (as the `postgres` user when the tests run as root: initdb refuses
root), `pg_ctl start` on a unix socket in that directory and a free loopback port, and `pg_ctl stop`
at the end of the session (also at interpreter exit, should the session be interrupted). Each test
asks `pg_url` for a fresh database of its own. Authentication: trust for the `postgres` superuser,
scram-sha-256 over TCP for the role PW_USER (the passfile tests).

Needs the Debian package `postgresql` (scripts/setup.sh test installs it); without its server
binaries the PostgreSQL tests are skipped with that reason.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PW_USER, PW_PASSWORD = "vmdeck_pw", "pw-9f3c-SECRET-do-not-print"


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bindir: Path, *, fsync: bool = False) -> None:
        self.bindir = bindir
        self.fsync = fsync  # tests run without (speed); the benchmark with (what a server does)
        self.root = Path(tempfile.mkdtemp(prefix="vmdeck-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"
        self._run_as = None if os.geteuid() != 0 else "postgres"
        self.running = False

    def _cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bindir / args[0]), *args[1:]]
        if self._run_as is not None:
            argv = ["runuser", "-u", self._run_as, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        if self._run_as is not None:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        done = self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        hba = self.data / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {PW_USER} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.fsync:
            options += " -c fsync=off"
        done = self._cmd(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        if done.returncode != 0:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log[-2000:]}")
        self.running = True
        atexit.register(self.stop)
        self._watchdog()
        self.sql("postgres", f"CREATE ROLE {PW_USER} LOGIN PASSWORD '{PW_PASSWORD}'")

    def _watchdog(self) -> None:
        """Should this process be killed (no atexit then), a detached shell stops the server anyway."""
        stop = " ".join(
            (["runuser", "-u", self._run_as, "--"] if self._run_as else [])
            + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        )
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"[ -d {self.data} ] && {stop} >/dev/null 2>&1; rm -rf {self.root}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str, user: str | None = None) -> str:
        return f"postgresql://{user or self.user}@127.0.0.1:{self.port}/{dbname}"

    def socket_dsn(self, dbname: str) -> str:
        return f"host={self.root} port={self.port} dbname={dbname} user={self.user}"

    def sql(self, dbname: str, statement: str) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.socket_dsn(dbname), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def create_db(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.sql("postgres", f"CREATE DATABASE {name}")
        self.sql(name, f"GRANT ALL ON SCHEMA public TO {PW_USER}")
        return name


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    found = bindir()
    if found is None:
        pytest.skip(
            "PostgreSQL server binaries not found: install Debian's `postgresql` (setup.sh test does)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: run `bash scripts/setup.sh install`")
    cluster = Cluster(found)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A URL to a new, empty database of this test's own."""
    return pg_cluster.url(pg_cluster.create_db())


@pytest.fixture
def no_pgpass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point libpq at an absent passfile: a developer's own ~/.pgpass never affects a test."""
    path = tmp_path / "absent.pgpass"
    monkeypatch.setenv("PGPASSFILE", str(path))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return path
