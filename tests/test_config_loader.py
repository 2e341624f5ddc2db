"""The loader on the sample config (every seed example) and every diagnostic with its file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tui.core.curves import HardSoft, Linear
from tui.core.diagnostics import Diagnostic
from tui.core.model import DriveCache, LicensingDriver
from tui.services.config import ConfigFileError, LoadResult, load_config

GIB = 2**30
Writer = Callable[[dict[str, str]], Path]

# A small valid config; tests replace one part at a time. Line numbers below refer to this text.
BASE = """\
ticrypt.vm {
  mongodb { uri: "mongodb://db" }
  realms { r1 = { include "realms/r1.conf" } }
  cost-functions {
    cf {
      vms: { curve: linear, slope: 1, base: 0 }
      vcpus: { curve: hard-soft, soft: 4, hard: 8 }
      memory: { curve: hard-soft, soft: 16 GiB, hard: 32 GiB }
    }
  }
  hardware-profiles {
    p { cores: 8, memory: 32 GiB, cost-function: cf }
  }
}
"""
REALM = """\
name: "Realm one"
registration-timeout: 5 minutes
"""


def load(write: Writer, main: str = BASE, realm: str = REALM, **extra: str) -> LoadResult:
    files = {"ticrypt-vm.conf": main, "realms/r1.conf": realm, **extra}
    return load_config(write(files))


def only(result: LoadResult, severity: str, needle: str) -> Diagnostic:
    hits = [d for d in result.diagnostics if d.severity == severity and needle in d.message]
    assert len(hits) == 1, [str(d) for d in result.diagnostics]
    return hits[0]


def at(diag: Diagnostic, file: str, line: int) -> None:
    assert diag.file is not None, diag
    assert Path(diag.file).name == file, diag
    assert diag.line == line, diag


# -- the sample config ---------------------------------------------------------------------------------
def test_sample_config_validates_with_every_seed_example(sample_config: Path) -> None:
    result = load_config(sample_config)
    assert result.ok, [str(d) for d in result.errors]
    config = result.config
    assert config is not None
    assert set(config.cost_functions) == {"simple", "nvidia-gpu", "pool1", "pool2"}
    assert set(config.hardware_profiles) == {"pool1", "pool2", "nvidia-gpu-node", "simple"}
    assert set(config.realms) == {"libvirt1", "libvirt2"}

    simple = config.cost_functions["simple"]
    assert simple.name == "Simple"
    assert simple.description == "A basic cost function"
    assert simple.vcpus == HardSoft(kind="hard-soft", soft=8, hard=16, soft_amt=4, hard_amt=32)
    assert simple.memory == HardSoft(kind="hard-soft", soft=16 * GIB, hard=32 * GIB, scale=10)
    gpu = config.cost_functions["nvidia-gpu"]
    assert gpu.offset == 100000
    assert gpu.devices["nvidia-gpu"] == Linear(slope=1, base=0, max=2)
    # pool1/pool2 share pool-common.conf through include; only name and offset differ.
    pool1, pool2 = config.cost_functions["pool1"], config.cost_functions["pool2"]
    assert (pool1.vms, pool1.vcpus, pool1.memory) == (pool2.vms, pool2.vcpus, pool2.memory)
    assert (pool1.name, pool1.offset, pool2.name, pool2.offset) == ("Pool 1", 0.0, "Pool 2", 1000.0)

    node = config.hardware_profiles["nvidia-gpu-node"]
    assert (node.cores, node.memory, node.cost_function) == (8, 32 * GIB, "nvidia-gpu")
    assert [d.addr for d in node.devices] == ["0000:01:02.0", "0000:02:03.0"]

    realm1, realm2 = config.realms["libvirt1"], config.realms["libvirt2"]
    assert (realm1.volumes_pool, realm1.drives_pool, realm1.bricks_pool) == (
        "ticrypt-vm",
        "ticrypt-vm-drives",
        "ticrypt-bricks",
    )
    assert realm1.registration_timeout_s == 300
    assert realm1.poll_frequency_s == 10
    assert realm1.drives.lazy_allocation is True
    assert realm1.drives.cache is DriveCache.DEFAULT
    assert (realm1.drives.min_size, realm1.drives.max_size) == (GIB, 2 * 2**40)
    assert realm2.drives.cache is DriveCache.NONE
    assert realm2.network_filter == "clean-traffic"
    assert config.service.licensing_server_driver is LicensingDriver.NONE
    assert config.service.reload_freq_s == 300
    assert (config.service.akka_hostname, config.service.akka_port) == ("127.0.0.1", 2553)
    # The seed's own overcommit (16 vCPUs admitted on 8 cores) is reported, as a warning.
    assert any("overcommit 2x" in d.message for d in result.warnings)


def test_defaults_for_a_minimal_realm_and_cost_function(write_tree: Writer) -> None:
    result = load(write_tree)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.config is not None
    realm = result.config.realms["r1"]
    assert (realm.volumes_pool, realm.drives_pool, realm.bricks_pool) == (
        "ticrypt-vm",
        "ticrypt-vm-drives",
        "ticrypt-bricks",
    )
    assert realm.driver == "libvirt"
    assert realm.disabled is False
    assert realm.drives.cache is DriveCache.DEFAULT
    cf = result.config.cost_functions["cf"]
    assert (cf.name, cf.description, cf.scale, cf.offset) == ("cf", "", 1.0, 0.0)
    profile = result.config.hardware_profiles["p"]
    assert (profile.name, profile.devices) == ("p", ())


# -- diagnostics: syntax and schema --------------------------------------------------------------------
def test_syntax_error_names_file_and_line(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("cores: 8,", "cores: 8,, {"))
    assert not result.ok
    err = result.errors[0]
    at(err, "ticrypt-vm.conf", 12)


def test_syntax_error_inside_an_include_names_the_included_file(write_tree: Writer) -> None:
    result = load(write_tree, realm='name: "x"\ndrives { cache: none\n')
    assert not result.ok
    assert Path(result.errors[0].file or "").name == "r1.conf"


def test_unknown_key_did_you_mean(write_tree: Writer) -> None:
    main = BASE.replace("hard: 8 }", "hard: 8, sofAmt: 2 }")
    result = load(write_tree, main=main)
    err = only(result, "error", "unknown key 'sofAmt'")
    assert "did you mean 'softAmt'" in err.message
    at(err, "ticrypt-vm.conf", 7)
    assert err.path == "ticrypt.vm.cost-functions.cf.vcpus.sofAmt"


def test_unknown_curve_type_did_you_mean(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("curve: linear", "curve: lienar"))
    err = only(result, "error", "unknown curve type 'lienar'")
    assert "did you mean 'linear'" in err.message
    at(err, "ticrypt-vm.conf", 6)


def test_bad_size_unit_did_you_mean(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("hard: 32 GiB", "hard: 32 Gib"))
    err = only(result, "error", "unknown size unit 'Gib'")
    assert "did you mean GiB" in err.message
    at(err, "ticrypt-vm.conf", 8)


def test_size_in_m_is_mebibytes_as_in_hocon(write_tree: Writer) -> None:
    # pyhocon reads `512 m` as 512 minutes; in a HOCON size (Lightbend getBytes) m is MiB.
    result = load(write_tree, main=BASE.replace("memory: 32 GiB, cost", "memory: 512 m, cost"))
    assert result.ok, [str(d) for d in result.errors]
    assert result.config is not None
    assert result.config.hardware_profiles["p"].memory == 512 * 2**20
    curve = BASE.replace("soft: 16 GiB, hard: 32 GiB", "soft: 512m, hard: 1024 m")
    loaded = load(write_tree, main=curve).config
    assert loaded is not None
    assert loaded.cost_functions["cf"].memory.hard == 1024 * 2**20  # type: ignore[union-attr]


def test_size_written_as_seconds_is_caught(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("memory: 32 GiB, cost", "memory: 10 s, cost"))
    err = only(result, "error", "reads as a duration")
    assert "'10 s'" in err.message
    at(err, "ticrypt-vm.conf", 12)


def test_keys_on_one_line_without_commas(write_tree: Writer) -> None:
    main = BASE.replace(
        "vms: { curve: linear, slope: 1, base: 0 }",
        "vms: { curve: piecewise cutoff: 1 }",
    )
    result = load(write_tree, main=main)
    err = only(result, "error", "need commas")
    at(err, "ticrypt-vm.conf", 6)


def test_missing_required_and_wrong_types(write_tree: Writer) -> None:
    main = BASE.replace(
        "p { cores: 8, memory: 32 GiB, cost-function: cf }", 'p { cores: "many", cost-function: cf }'
    )
    result = load(write_tree, main=main)
    at(only(result, "error", "'cores' must be a whole number"), "ticrypt-vm.conf", 12)
    at(only(result, "error", "missing required 'memory'"), "ticrypt-vm.conf", 12)


def test_unknown_cost_function_reference(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("cost-function: cf", "cost-function: cff"))
    err = only(result, "error", "cost function 'cff' does not exist")
    assert "did you mean 'cf'" in err.message
    at(err, "ticrypt-vm.conf", 12)


@pytest.mark.parametrize("section", ["mongodb", "cost-functions", "hardware-profiles", "realms"])
def test_the_four_sections_are_required(write_tree: Writer, section: str) -> None:
    text = {
        "mongodb": BASE.replace('  mongodb { uri: "mongodb://db" }\n', ""),
        "realms": BASE.replace('  realms { r1 = { include "realms/r1.conf" } }\n', ""),
        "cost-functions": BASE.replace("cost-functions {", "cost-functionz {"),
        "hardware-profiles": BASE.replace("hardware-profiles {", "hardware-profilez {"),
    }[section]
    result = load(write_tree, main=text)
    assert any(f"missing required section '{section}'" in d.message for d in result.errors)


def test_firewalld_driver_requires_file_access(write_tree: Writer) -> None:
    main = BASE.replace("  mongodb {", "  licensing-server-driver: firewalld\n  mongodb {")
    result = load(write_tree, main=main)
    at(only(result, "error", "firewalld.file-access is not set"), "ticrypt-vm.conf", 2)
    fixed = main.replace(
        "  mongodb {", '  firewalld.file-access: "/etc/ticrypt/allowedlist.txt"\n  mongodb {'
    )
    assert load(write_tree, main=fixed).ok


def test_bad_licensing_driver(write_tree: Writer) -> None:
    result = load(
        write_tree, main=BASE.replace("  mongodb {", "  licensing-server-driver: firewall\n  mongodb {")
    )
    assert "did you mean 'firewalld'" in only(result, "error", "not a valid licensing-server-driver").message


# -- realms ----------------------------------------------------------------------------------------------
def test_missing_include_is_an_error_not_an_empty_realm(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("realms/r1.conf", "realms/nope.conf"))
    at(only(result, "error", "include file 'realms/nope.conf' not found"), "ticrypt-vm.conf", 3)
    assert not result.ok


def test_empty_include_is_an_error(write_tree: Writer) -> None:
    result = load(write_tree, realm="# nothing here\n")
    at(only(result, "error", "is empty"), "ticrypt-vm.conf", 3)


def test_realm_parameters_nested_in_a_section(write_tree: Writer) -> None:
    result = load(write_tree, realm='realm {\n  name: "x"\n  drives.cache: none\n}\n')
    err = only(result, "error", "nested inside section 'realm'")
    at(err, "r1.conf", 1)


def test_realm_value_errors_point_into_the_realm_file(write_tree: Writer) -> None:
    realm = REALM + "drives.cache: writeback-ish\ndrives.lazy-allocation: maybe\npoll-frequency: 10 secs\n"
    result = load(write_tree, realm=realm)
    at(only(result, "error", "not a valid cache"), "r1.conf", 3)
    at(only(result, "error", "'lazy-allocation' must be on/off"), "r1.conf", 4)
    at(only(result, "error", "unknown duration unit 'secs'"), "r1.conf", 5)


def test_reserved_sections_are_accepted_and_reported(write_tree: Writer) -> None:
    result = load(write_tree, realm=REALM + "scaling { }\nuploads { x: 1 }\n")
    assert result.ok
    at(only(result, "warning", "'scaling' is reserved"), "r1.conf", 3)
    assert result.config is not None
    assert result.config.realms["r1"].reserved_sections == ("uploads", "scaling")


def test_short_registration_timeout_warns(write_tree: Writer) -> None:
    result = load(write_tree, realm="registration-timeout: 30 seconds\n")
    assert result.ok
    at(only(result, "warning", "under 60 s"), "r1.conf", 1)


def test_drive_min_above_max(write_tree: Writer) -> None:
    result = load(write_tree, realm=REALM + "drives.min-size: 10 GiB\ndrives.max-size: 1 GiB\n")
    at(only(result, "error", "larger than drives.max-size"), "r1.conf", 3)


# -- lint --------------------------------------------------------------------------------------------------
def test_hard_soft_soft_not_below_hard(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("soft: 4, hard: 8", "soft: 8, hard: 8"))
    at(only(result, "error", "must be below hard"), "ticrypt-vm.conf", 7)


def test_hard_amount_below_soft_amount_warns(write_tree: Writer) -> None:
    result = load(
        write_tree, main=BASE.replace("soft: 4, hard: 8", "soft: 4, hard: 8, softAmt: 5, hardAmt: 2")
    )
    assert result.ok
    at(only(result, "warning", "hardAmt (2) is below softAmt (5)"), "ticrypt-vm.conf", 7)


def test_max_below_piecewise_cutoff(write_tree: Writer) -> None:
    main = BASE.replace(
        "vms: { curve: linear, slope: 1, base: 0 }",
        "vms: { curve: piecewise, cutoff: 6, max: 4, low: { curve: constant, value: 5 }, high: { curve: invalid } }",
    )
    result = load(write_tree, main=main)
    at(only(result, "warning", "high branch can never be reached"), "ticrypt-vm.conf", 6)


def test_profile_device_without_a_curve(write_tree: Writer) -> None:
    main = BASE.replace(
        "p { cores: 8, memory: 32 GiB, cost-function: cf }",
        'p {\n      cores: 8, memory: 32 GiB, cost-function: cf\n      devices = [\n        {type: "gpu", addr: "02:03.0"}\n      ]\n    }',
    )
    result = load(write_tree, main=main)
    at(only(result, "warning", "no curve for device type 'gpu'"), "ticrypt-vm.conf", 15)


def test_cost_function_without_resource_curves(write_tree: Writer) -> None:
    main = BASE.replace("    cf {", "    bare { offset: 1 }\n    cf {").replace(
        "cost-function: cf", "cost-function: bare"
    )
    result = load(write_tree, main=main)
    at(only(result, "warning", "no vms, vcpus or memory curve"), "ticrypt-vm.conf", 5)
    at(only(result, "warning", "'cf' is not used by any hardware profile"), "ticrypt-vm.conf", 6)


def test_overcommit_ratio(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("cores: 8", "cores: 2"))
    assert result.ok
    err = only(result, "warning", "admits up to 8 vCPUs")
    assert "2 cores" in err.message
    assert "overcommit 4x" in err.message
    at(err, "ticrypt-vm.conf", 7)
    memory = load(write_tree, main=BASE.replace("memory: 32 GiB, cost", "memory: 16 GiB, cost"))
    assert "overcommit 2x" in only(memory, "warning", "admits up to 32 GiB").message


def test_unbounded_vcpus_are_reported(write_tree: Writer) -> None:
    result = load(write_tree, main=BASE.replace("      vcpus: { curve: hard-soft, soft: 4, hard: 8 }\n", ""))
    assert "never refuses on vcpus" in only(result, "warning", "unbounded overcommit").message


def test_two_list_objects_on_one_line_merge(write_tree: Writer) -> None:
    # The seed's GPU profile is written this way; HOCON makes ONE device of the two objects.
    main = BASE.replace(
        "p { cores: 8, memory: 32 GiB, cost-function: cf }",
        'p {\n      cores: 8, memory: 32 GiB, cost-function: cf\n      devices = [\n        {type: "gpu", addr: "0000:01:02.0"} {type: "gpu", addr: "02:03.0"}\n      ]\n    }',
    ).replace("    cf {", "    cf {\n      devices.gpu: { curve: linear, slope: 1, base: 0 }")
    result = load(write_tree, main=main)
    at(only(result, "warning", "MERGED into one element"), "ticrypt-vm.conf", 16)
    assert result.config is not None
    assert [d.addr for d in result.config.hardware_profiles["p"].devices] == ["0000:02:03.0"]


def test_duplicate_pci_addresses(write_tree: Writer) -> None:
    main = BASE.replace(
        "p { cores: 8, memory: 32 GiB, cost-function: cf }",
        'p {\n      cores: 8, memory: 32 GiB, cost-function: cf\n      devices = [\n        {type: "gpu", addr: "0000:02:03.0"}\n        {type: "gpu", addr: "02:03.0"}\n      ]\n    }',
    ).replace("    cf {", "    cf {\n      devices.gpu: { curve: linear, slope: 1, base: 0 }")
    result = load(write_tree, main=main)
    at(only(result, "error", "0000:02:03.0 is listed more than once"), "ticrypt-vm.conf", 17)


def test_bad_pci_address(write_tree: Writer) -> None:
    main = BASE.replace(
        "p { cores: 8, memory: 32 GiB, cost-function: cf }",
        'p {\n      cores: 8, memory: 32 GiB, cost-function: cf\n      devices = [\n        {type: "gpu", addr: "2:3"}\n      ]\n    }',
    )
    at(only(load(write_tree, main=main), "error", "is not a PCI address"), "ticrypt-vm.conf", 15)


# -- reading the file itself ----------------------------------------------------------------------------
def test_unreadable_files_raise_config_file_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="no such file"):
        load_config(tmp_path / "missing.conf")
    with pytest.raises(ConfigFileError, match="directory"):
        load_config(tmp_path)
    binary = tmp_path / "bin.conf"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load_config(binary)


def test_utf8_bom_is_accepted(write_tree: Writer) -> None:
    path = write_tree({"ticrypt-vm.conf": BASE, "realms/r1.conf": REALM})
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path).ok


def test_no_ticrypt_vm_section(write_tree: Writer) -> None:
    result = load(write_tree, main="other { x: 1 }\n")
    at(only(result, "error", "no 'ticrypt.vm' section"), "ticrypt-vm.conf", 1)
