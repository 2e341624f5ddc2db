"""Audit first, then act; a full disk; stale temp files; who; and store files that are not what they claim.

Every case here comes from issue 10 (items 2, 4, 6): each failed on the store that wrote hosts.json
first and the audit after, trusted $USER, and skipped damaged audit lines in silence.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.fleet import HostState
from tui.core.hosts import HostError, HostRecord
from tui.services.actions import Result
from tui.services.actions.path import ActionPath
from tui.services.store import Actor, Store, StoreError, current_actor
from tui.services.store.audit import NOT_APPLIED


def host(name: str, **kw: object) -> HostRecord:
    base: dict[str, object] = {"uri": "qemu:///system", "profile": "pool1", "realm": "libvirt1"}
    base.update(kw)
    return HostRecord(name=name, **base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db", actor=Actor("alice"))


# --- audit first, then act ------------------------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import sys
    from tui.core.hosts import HostRecord
    from tui.core.fleet import HostState
    from tui.services.store import Store, Actor
    store = Store(sys.argv[1], actor=Actor(sys.argv[2]))
    for i in range(100_000):
        name = f"{sys.argv[2]}-{i}"
        store.add_host(HostRecord(name, "qemu:///system", "pool1", "libvirt1"), reason="test")
        store.set_state(name, HostState.NO_SCHEDULING, "test")
    """
)


def test_sigkill_never_leaves_a_change_in_force_without_its_entry_nor_temp_files(tmp_path: Path) -> None:
    """60 kills at moments spread over the write cycle: every stored host and state has its entry,
    every entry not in force says so, and no temp file survives the next open."""
    directory = tmp_path / "db"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for trial in range(60):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), f"t{trial}"], env=env)
        # Wait until it has written something, then kill it at a moment that shifts every trial.
        deadline = time.monotonic() + 30
        while not (directory / "audit.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.004 * (trial % 15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = Store(directory)  # opening cleans what the killed writer left
        assert sorted(p.name for p in directory.glob(".*.tmp")) == [], f"trial {trial}"
        in_force = {h.name: h.to_json() for h in store.hosts()}
        entries = store.audit()
        applied: dict[str, object] = {}
        for e in entries:
            if e.what.startswith("host.") and e.result != NOT_APPLIED:
                applied[e.host or ""] = e.after
        # A host's record in force is exactly what its last applied entry says.
        assert {n: applied.get(n) for n in in_force} == in_force, f"trial {trial}"
        # And an entry whose change never took effect is visible as such.
        for e in entries:
            if e.result == NOT_APPLIED:
                assert in_force.get(e.host or "") != e.after or e.what == "host.add"
        assert store.audit_problems() == []


@contextlib.contextmanager
def small_disk(where: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` for the test (root only), unmounted afterwards."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path, leave: int = 0) -> Path:
    """Fill the file system, then give back `leave` bytes (whole pages)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_full_disk_is_one_clear_line_and_nothing_half_written(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        store = Store(disk / "db", actor=Actor("alice"))
        store.add_hosts([host(f"h{i:03}") for i in range(30)], reason="rack")
        fill(disk)
        audit_before = store.audit_log.path.read_bytes()
        with pytest.raises(StoreError) as caught:
            store.set_state("h001", HostState.DISABLED, "x" * 5000)  # an entry larger than what is left
        message = str(caught.value)
        assert "\n" not in message
        assert "disk is full" in message
        assert "audit.jsonl" in message
        assert store.audit_log.path.read_bytes() == audit_before  # no unterminated line left
        assert store.host("h001").state is HostState.ENABLED  # type: ignore[union-attr]
        assert list((disk / "db").glob(".*.tmp")) == []
        # An action cannot start without its lease and intent written: it does not start.
        ran: list[bool] = []
        out = ActionPath(store).run("vm.stop", "web1", lambda note: str(ran.append(True)), reason="r")
        assert (out.result, ran) == (Result.FAILED, [])
        assert out.message.startswith("nothing was done: ")
        assert "disk is full" in out.message


def test_full_disk_after_the_entry_leaves_no_change_in_force_and_says_so(tmp_path: Path) -> None:
    """Room for the audit line but not for the new hosts.json: the change is refused, and the entry
    it already wrote reads as not applied (a failed outcome names it, or the chain shows it)."""
    with small_disk(tmp_path / "disk") as disk:
        store = Store(disk / "db", actor=Actor("alice"))
        store.add_hosts([host(f"h{i:03}") for i in range(150)], reason="rack")
        fill(disk, leave=4096)
        with pytest.raises(StoreError, match="disk is full"):
            store.set_state("h001", HostState.DISABLED, "kernel update")
        assert store.host("h001").state is HostState.ENABLED  # type: ignore[union-attr]
        raw = store.audit_log.path.read_bytes()
        assert raw.endswith(b"\n")
        [entry] = [e for e in store.audit("h001") if e.what == "host.state"]
        assert entry.result in ("failed", NOT_APPLIED)
        assert list((disk / "db").glob(".*.tmp")) == []


def test_audit_file_is_0600_even_when_an_older_vmdeck_made_it_0640(store: Store) -> None:
    store.add_host(host("a"))
    assert store.audit_log.path.stat().st_mode & 0o777 == 0o600
    os.chmod(store.audit_log.path, 0o640)
    store.add_host(host("b"))
    assert store.audit_log.path.stat().st_mode & 0o777 == 0o600


def test_stale_temp_files_are_removed_at_open(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    Store(directory).add_host(host("a"))
    dead = directory / ".hosts.json.abc123.tmp"  # a writer killed mid-write (it held the lock)
    dead.write_text("{")
    other_old = directory / ".export.xyz.tmp"
    other_old.write_text("x")
    old = time.time() - 7200
    os.utime(other_old, (old, old))
    other_new = directory / ".export.new.tmp"  # someone else's write in progress: left alone
    other_new.write_text("x")
    Store(directory)
    assert not dead.exists()
    assert not other_old.exists()
    assert other_new.exists()


# --- who ------------------------------------------------------------------------------------------------
def test_who_is_the_real_uid_not_the_environment(tmp_path: Path) -> None:
    code = "from tui.services.store import current_actor; a = current_actor(); print(a.user, a.uid, a)"
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "LOGNAME": "ceo",
        "USER": "ceo",
        "SSH_CONNECTION": "6.6.6.6 4444 10.0.0.1 22",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import pwd

    real = pwd.getpwuid(os.getuid()).pw_name
    user, uid, *label = out.stdout.split()
    assert (user, int(uid)) == (real, os.getuid())
    assert " ".join(label) == f"{real} (ssh from 6.6.6.6, claimed)"  # extra detail, labelled as such
    assert current_actor({"SSH_CONNECTION": "\x1b[31m 1 2 3"}).remote is None  # not an address: dropped


# --- a bad store says so --------------------------------------------------------------------------------
def write_hosts(directory: Path, data: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hosts.json").write_text(json.dumps(data))


GOOD = {"name": "a", "uri": "qemu:///system", "profile": "p", "realm": "r", "state": "enabled", "nat": None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a JSON object of tables"),
        ({"hosts": []}, "table 'hosts' must be an object of documents"),
        ({"hosts": {"1": 5}}, "table 'hosts' must be an object of documents"),
        ({"hosts": {"x": GOOD}}, "non-numeric document id"),
        ({"hosts": {"1": {**GOOD, "name": 7}}}, "document 1"),
        ({"hosts": {"1": GOOD, "2": GOOD}}, "host name 'a' appears twice (documents 1 and 2)"),
        ({"hosts": {"1": GOOD, "2": {**GOOD, "name": "a\n"}}}, "invalid host name 'a\\n'"),
        ({"hosts": {"1": {**GOOD, "uri": "qemu+ext:///system?command=/tmp/x"}}}, "ext"),
    ],
)
def test_malformed_hosts_file_is_a_clear_error_naming_it(tmp_path: Path, data: object, message: str) -> None:
    directory = tmp_path / "db"
    write_hosts(directory, data)
    with pytest.raises(StoreError) as caught:
        Store(directory).hosts()
    assert message in str(caught.value)
    assert str(directory / "hosts.json") in str(caught.value)


def test_a_directory_in_place_of_hosts_json(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    (directory / "hosts.json").mkdir(parents=True)
    with pytest.raises(StoreError, match="hosts.json: it is a directory"):
        Store(directory).hosts()
    with pytest.raises(StoreError, match="is a directory"):
        Store(directory).add_host(host("a"))


def test_a_file_in_place_of_the_store_directory(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        Store(tmp_path / "db")


def test_unreadable_store_file() -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to read the store as another user")
    base = Path(tempfile.mkdtemp(prefix="vmdeck-test-unreadable-"))  # reachable by uid 65534
    try:
        _unreadable(base)
    finally:
        shutil.rmtree(base)


def _unreadable(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    Store(directory).add_host(host("a"))
    os.chmod(directory / "hosts.json", 0)
    code = (
        "import os, sys\n"
        "from tui.services.store import Store, StoreError\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n    Store(sys.argv[1]).hosts()\nexcept StoreError as exc:\n    print(exc)\n"
    )
    os.chmod(directory, 0o755)
    os.chmod(tmp_path, 0o755)
    out = subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert f"cannot read {directory / 'hosts.json'}: Permission denied" in out.stdout


def test_immutable_store_directory_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    store = Store(directory, lock_timeout=1.0)
    store.add_host(host("a"))
    (directory / ".store.lock").unlink(missing_ok=True)
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {done.stderr.decode().strip()}")
    try:
        with pytest.raises(StoreError) as caught:
            store.add_host(host("b"))
        assert str(directory) in str(caught.value)
        assert [h.name for h in store.hosts()] == ["a"]  # reading still works
        assert [e.host for e in store.audit()] == ["a"]
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=False)


def test_damaged_audit_lines_are_reported_with_their_numbers_and_a_string_who_breaks_nothing(
    store: Store,
) -> None:
    store.add_host(host("a"))
    with store.audit_log.path.open("ab") as handle:
        handle.write(b'{"when": "2026-01-01", "who": "ceo", "what": "host.add", "host": "x"}\n')  # line 2
        handle.write(b"\x00\x00garbage\n")  # line 3
        handle.write(b"[1, 2]\n")  # line 4
    store.add_host(host("b"))
    assert [e.host for e in store.audit()] == ["a", "b"]
    problems = store.audit_problems()
    assert len(problems) == 3
    assert problems[0].startswith('audit.jsonl:2: "who" must be an object')
    assert problems[1].startswith("audit.jsonl:3: not valid")
    assert problems[2].startswith("audit.jsonl:4: expected a JSON object")


def test_names_are_matched_in_full() -> None:
    with pytest.raises(HostError, match="invalid host name"):
        Store.__new__(Store)._checked(host("rel-dup\n"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["hosts.json", "vms.json", "audit.jsonl", "leases.json"]),
    data=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
        st.sampled_from([json.dumps({"hosts": {"1": GOOD}}), json.dumps({"vms": {"1": {"uuid": "u"}}})]).map(
            str.encode
        ),
    ),
)
def test_no_store_input_gives_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, name: str, data: bytes
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / name).write_bytes(data)
    store = Store(directory, actor=Actor("fuzz"))
    for read in (store.hosts, store.managed_vms, store.audit, store.audit_problems, store.leases):
        with contextlib.suppress(StoreError):
            read()  # type: ignore[operator]
    with contextlib.suppress(StoreError, HostError):
        store.add_host(host("fuzzed"))
    with contextlib.suppress(StoreError):
        store.acquire_lease("vm:x", "vm.stop", 5.0)


def test_an_audit_log_written_before_kinds_existed_reads_as_it_was(store: Store) -> None:
    """Old entries have no id or kind: record changes chain, old action entries (host.drain) do not."""
    store.add_host(host("a"))
    [add] = store.audit(raw=True)
    old = {"when": add.when, "who": {"user": "bob", "from": None}, "host": "a", "reason": "r"}
    lines = [
        {**old, "what": "host.add", "before": None, "after": add.after},
        {**old, "what": "host.drain", "before": None, "after": {"result": "ok", "target": "a"}},
    ]
    store.audit_log.path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    entries = store.audit()
    assert [(e.what, e.kind, e.result) for e in entries] == [
        ("host.add", "change", None),
        ("host.drain", "event", None),
    ]
    assert [e.id for e in entries] == ["line-1", "line-2"]


def _valid_store_files() -> dict[str, bytes]:
    import tempfile as tf

    with tf.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "db", actor=Actor("seed"))
        store.add_hosts([host("a", nat=None), host("b")], reason="seed")
        store.set_state("a", HostState.DISABLED, "seed")
        from tui.core.live import ManagedVm

        store.record_vm(ManagedVm("u-1", "vm1", "a", devices=("0000:01:02.0",)))
        store.release_lease(store.acquire_lease("vm:x", "vm.stop", 30.0))
        return {p.name: p.read_bytes() for p in (Path(tmp) / "db").iterdir() if not p.name.startswith(".")}


VALID = _valid_store_files()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(VALID)),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(0, 255)), max_size=4),
)
def test_mutated_store_files_give_a_clear_error_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, name: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    directory = tmp_path_factory.mktemp("mutated")
    for other, data in VALID.items():
        (directory / other).write_bytes(data)
    data = bytearray(VALID[name][: max(1, cut)] if cut < len(VALID[name]) else VALID[name])
    for pos, byte in flips:
        if data:
            data[pos % len(data)] = byte
    (directory / name).write_bytes(bytes(data))
    store = Store(directory, actor=Actor("fuzz"))
    errors: list[str] = []
    for read in (store.hosts, store.managed_vms, store.audit, store.audit_problems, store.leases):
        try:
            read()  # type: ignore[operator]
        except StoreError as exc:
            errors.append(str(exc))
    assert all(name in e and "\n" not in e for e in errors), errors  # names the damaged file, one line
    with contextlib.suppress(StoreError, HostError):
        store.set_state("b", HostState.NO_SCHEDULING, "fuzz")
