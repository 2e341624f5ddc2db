"""`vmdeck hosts check` end to end on the real test bed: host d over ssh, hosts b and c over unix.

Realm `r` has d and b, whose pools are one directory both see (/srv/…: no namespace mounts over it),
so its shared-storage and migration checks pass for real; host c's pools live in c's private
/var/lib/libvirt, so a marker written through c is invisible elsewhere. Realm `solo` holds hosts
whose profiles promise what the node lacks (64 cores, 1 TiB, a GPU at an empty address, a real
virtio device without IOMMU). Every pool, marker, probe VM and extra sshd made here is removed.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tui.cli import main
from tui.core.hostcheck import Verdict
from tui.core.hosts import HostRecord
from tui.services.actions import ActionSettings, Deck, create_pools
from tui.services.config import load_config
from tui.services.hostcheck import CheckCache, check_host
from tui.services.poller import Poller, PollerSettings
from tui.services.store import Store

from . import testbed

pytestmark = pytest.mark.kvm
SSH_URI = testbed.testbed_ssh_uri()
URIS = testbed.testbed_uris()
URI_C = testbed.testbed_uri_c()
needs_bed = pytest.mark.skipif(
    SSH_URI is None or URIS is None or URI_C is None,
    reason="no test bed with hosts B, C and D (ssh): run `bash scripts/libvirt-testbed.sh start` as root",
)
TAG = f"vmdeck-test-hc-{uuidlib.uuid4().hex[:6]}"
SHARED_DIR = Path(f"/srv/{TAG}")
PRIVATE_DIR = f"/var/lib/libvirt/{TAG}"  # inside host C's own mount namespace
GUEST = [
    "--firmware",
    str(testbed.HALT_ROM),
    "--cpu-model",
    "qemu64",
    "--cpu-disable",
    "svm",
    "--machine",
    "pc",
]
GUEST += ["--migrate-uri", "tcp://127.0.0.1", "--domain-type", "kvm" if testbed.testbed_kvm() else "qemu"]

CONF = """ticrypt.vm {
 mongodb { uri: "mongodb://localhost:27017" }
 realms { r = { include "r.conf" }, solo = { include "solo.conf" } }
 cost-functions { c { vms: { curve: "linear", slope: 1, base: 0 } } }
 hardware-profiles {
  fits { cores: 1, memory: 1 GiB, cost-function: c }
  big { cores: 64, memory: 1 TiB, cost-function: c }
  gpu-absent { cores: 1, memory: 1 GiB, cost-function: c, devices: [{type: gpu, addr: "0000:3f:1f.7"}] }
  virtio-dev { cores: 1, memory: 1 GiB, cost-function: c, devices: [{type: gpu, addr: "00:01.0"}] }
 }
}
"""


def _realm_file(name: str) -> str:
    return (
        f'name: "{name}"\nvolumes-pool: {TAG}-vm\ndrives-pool: {TAG}-drives\nbricks-pool: {TAG}-bricks\n'
        "registration-timeout: 30 seconds\n"
    )


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A config directory and store; pools of realm r on d and b (shared) and c (private)."""
    assert SSH_URI is not None
    assert URIS is not None
    assert URI_C is not None
    root = tmp_path_factory.mktemp("hc")
    (root / "vm.conf").write_text(CONF)
    (root / "r.conf").write_text(_realm_file("r"))
    (root / "solo.conf").write_text(_realm_file("solo"))
    store = Store(root / "db")
    store.add_hosts([HostRecord("d", SSH_URI, "fits", "r"), HostRecord("b", URIS[1], "fits", "r")])
    config = load_config(root / "vm.conf").config
    assert config is not None
    try:
        deck = Deck.open(config, store, ActionSettings())
        try:
            for host in ("d", "b"):
                assert create_pools(deck, host, str(SHARED_DIR)).ok
        finally:
            deck.close()
        yield root
    finally:
        for uri in (SSH_URI, URIS[1], URI_C):
            testbed.remove_test_objects(uri, TAG)
        shutil.rmtree(SHARED_DIR, ignore_errors=True)
        shutil.rmtree(f"/var/lib/vmdeck-testbed/hostc{PRIVATE_DIR}", ignore_errors=True)


def _cli(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, dict]:
    code = main(["hosts", *argv, "--config", str(root / "vm.conf"), "--db", str(root / "db"), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _items(report: dict, check: str) -> list[dict]:
    return [i for i in report["items"] if i["check"] == check]


def _leftovers(uri: str) -> tuple[list[str], list[str]]:
    conn = libvirt.open(uri)
    try:
        doms = [d.name() for d in conn.listAllDomains(0) if d.name().startswith("vmdeck-check-")]
        vols = []
        for pool in conn.listAllStoragePools(0):
            if pool.name().startswith(TAG) and pool.isActive():
                pool.refresh(0)
                vols += [v.name() for v in pool.listAllVolumes(0) if v.name().startswith(".vmdeck-check-")]
        return doms, vols
    finally:
        conn.close()


@needs_bed
def test_a_ready_realm_passes_over_ssh_and_unix(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(capsys, bed, "check", "d", "b", *GUEST)
    assert code == 0, json.dumps(out, indent=1)
    for report in out["hosts"]:
        verdicts = {i["check"]: i["verdict"] for i in report["items"]}
        assert verdicts["kvm"] == "pass"
        assert verdicts["cores"] == verdicts["memory"] == "pass"
        assert [i["verdict"] for i in _items(report, "pool")] == ["pass"] * 4
        shared = _items(report, "shared-storage")
        assert [i["verdict"] for i in shared] == ["pass", "pass"], shared
        assert "sees the marker" in shared[0]["detail"]
        assert _items(report, "migration")[0]["verdict"] == "pass"
        assert "probe VM migrated" in _items(report, "migration")[0]["detail"]
    for uri in (SSH_URI, URIS[1]):  # type: ignore[index]
        assert _leftovers(uri) == ([], [])  # type: ignore[arg-type]
    cached = CheckCache(bed / "db").load()
    assert set(cached) >= {"d", "b"}
    assert not cached["d"].failed
    whats = [e.what for e in Store(bed / "db").audit()]
    assert whats.count("host.check.shared-storage") >= 4  # two pools, two hosts: audited changes


@needs_bed
def test_pool_not_autostarted_fails_with_the_fix(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URIS is not None
    conn = libvirt.open(URIS[1])
    pool = conn.storagePoolLookupByName(f"{TAG}-drives")
    pool.setAutostart(0)
    try:
        code, out = _cli(capsys, bed, "check", "b", "--read-only")
    finally:
        pool.setAutostart(1)
        conn.close()
    assert code == 1
    bad = [i for i in out["hosts"][0]["items"] if i["verdict"] == "fail"]
    assert [(i["subject"], i["fix"]) for i in bad] == [(f"{TAG}-drives", "vmdeck pools create b")]
    assert "is not autostarted" in bad[0]["detail"]
    # Read-only: the two checks that write were not run, and say so.
    for check in ("shared-storage", "migration"):
        assert all(i["detail"].startswith("not checked: read-only") for i in _items(out["hosts"][0], check))


@needs_bed
def test_storage_that_is_not_shared_fails(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URI_C is not None
    config = load_config(bed / "vm.conf").config
    assert config is not None
    store = Store(bed / "db")
    store.add_host(HostRecord("c", URI_C, "fits", "r"))
    try:
        deck = Deck.open(config, store, ActionSettings())
        try:
            assert create_pools(deck, "c", PRIVATE_DIR).ok
        finally:
            deck.close()
        code, out = _cli(capsys, bed, "check", "c", *GUEST)
        assert code == 1
        shared = _items(out["hosts"][0], "shared-storage")
        assert [i["verdict"] for i in shared] == ["fail", "fail"]
        assert "the marker is not visible" in shared[0]["detail"]
        assert "shared file system" in shared[0]["fix"]
        assert _leftovers(URI_C) == ([], [])
    finally:
        store.remove_host("c", reason="test done")


@needs_bed
def test_profiles_promising_what_the_node_lacks(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URIS is not None
    store = Store(bed / "db")
    hosts = [("big", "big"), ("gpu-absent", "gpu-absent"), ("virtio-dev", "virtio-dev")]
    store.add_hosts([HostRecord(f"s-{n}", URIS[1], p, "solo") for n, p in hosts])
    try:
        code, out = _cli(capsys, bed, "check", "s-big", "s-gpu-absent", "s-virtio-dev", "--read-only")
    finally:
        for n, _ in hosts:
            store.remove_host(f"s-{n}", reason="test done")
    assert code == 1
    big, absent, virtio = out["hosts"]
    assert {i["check"]: i["verdict"] for i in big["items"]}["cores"] == "fail"
    assert "promises 64 cores" in _items(big, "cores")[0]["detail"]
    assert _items(big, "memory")[0]["verdict"] == "fail"
    assert _items(absent, "device")[0]["detail"] == "gpu: no PCI device at 0000:3f:1f.7 on this host"
    assert _items(absent, "iommu")[0]["verdict"] == "fail"  # the profile assigns devices: IOMMU needed
    dev = _items(virtio, "device")[0]
    assert (dev["subject"], dev["verdict"]) == ("0000:00:01.0", "fail")
    assert "no IOMMU group" in dev["detail"]
    assert "intel_iommu=on" in dev["fix"]
    cached = CheckCache(bed / "db").load()
    assert cached["s-virtio-dev"].failed_devices().keys() == {"0000:00:01.0"}


@needs_bed
def test_bad_input_gets_one_message_each(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(bed / "db")
    store.add_host(
        HostRecord("off", "qemu+ssh://root@vmdeck-testbed-off:2299/system", "fits", "r", state=_disabled())
    )
    try:
        code, out = _cli(capsys, bed, "check", "nosuch", "off", "--read-only")
        _, every = _cli(capsys, bed, "check", "--all", "--read-only")
    finally:
        store.remove_host("off", reason="test done")
    assert every["skipped"] == ["off"]  # --all leaves Disabled hosts out instead of failing on them
    assert "off" not in [r["host"] for r in every["hosts"]]
    assert {"d", "b"} <= {r["host"] for r in every["hosts"]}
    assert code == 1
    unknown, off = out["hosts"]
    assert unknown["refused"].startswith("no host named 'nosuch'")
    assert off["refused"] == "host 'off' is Disabled: vmdeck does not connect to it (enable it first)"
    plain = ["--db", str(bed / "db"), "--config", str(bed / "vm.conf")]
    assert main(["hosts", "check", "nosuch\x1b[2J", *plain]) == 1
    text = capsys.readouterr().out
    assert text.startswith("host nosuch\\x1b[2J: NOT CHECKED: no host named")  # escaped, never sent raw
    assert main(["hosts", "check", *plain]) == 2
    assert "name the hosts to check, or give --all" in capsys.readouterr().err


def _disabled():  # type: ignore[no-untyped-def]
    from tui.core.fleet import HostState

    return HostState.DISABLED


@needs_bed
def test_a_host_that_dies_mid_check_gets_a_message_per_item(bed: Path) -> None:
    config = load_config(bed / "vm.conf").config
    assert config is not None
    with testbed.ExtraSshd() as sshd:
        store = Store(bed / "db")
        store.add_host(HostRecord("dying", sshd.uri, "fits", "solo"))
        poller = Poller([h for h in store.hosts() if h.name == "dying"], config, PollerSettings())
        try:
            poller.poll_once()
            assert poller.connection("dying") is not None
            deck = Deck(config, store, poller, ActionSettings(read_only=True, call_timeout=2.0))
            sshd.freeze()  # connected a moment ago; now nothing answers
            result: list = []
            worker = threading.Thread(target=lambda: result.append(check_host(deck, "dying")), daemon=True)
            worker.start()
            worker.join(60)  # a bound for a broken test, not a timing assertion
            assert result, "the check of a dead host did not return"
            report = result[0]
            assert report.items
            assert all(i.verdict is Verdict.FAIL for i in report.items), report.items
            details = [i.detail for i in report.items]
            assert any("no answer within 2 s" in d for d in details), details
            assert all("stopped answering" in d or "no answer" in d for d in details), details
        finally:
            sshd.thaw()
            poller.close(wait=0)
            store.remove_host("dying", reason="test done")


@needs_bed
def test_hosts_add_runs_the_checks_quietly(bed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert URIS is not None
    code, out = _cli(capsys, bed, "add", "new-b", "--uri", URIS[1], "--profile", "big", "--realm", "solo")
    try:
        assert code == 0  # a failed check does not refuse the add: it reports it
        assert out["check"]["verdict"] == "fail"
        assert {i["check"] for i in out["check"]["items"]} >= {"kvm", "cores", "memory", "pool", "versions"}
        assert not _items(out["check"], "migration")  # realm-wide checks are for `hosts check`
        assert CheckCache(bed / "db").get("new-b") is not None
    finally:
        Store(bed / "db").remove_host("new-b", reason="test done")
