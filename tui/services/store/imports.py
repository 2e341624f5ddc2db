"""Reading many hosts at once: vmdeck's JSON import format and virtdc's nodeinfo.xml (seed 003).

JSON: {"hosts": [{"name", "uri", "profile", "realm", "state", "nat": {"ip", "base_port"}}]}; fields
missing from an entry take the defaults given on the command line. nodeinfo.xml names hosts and
their capacity but no URI, profile or realm: the URI comes from a template ({host}, {ip}) and the
profile/realm from the defaults; a capacity that disagrees with the profile is reported as a warning.
Every problem is collected with its entry's position, so one run shows them all; nothing is imported
unless every entry is valid.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.hosts import HostError, HostRecord, check_against_config
from tui.core.model import VmConfig
from tui.core.units import format_size

DEFAULT_URI_TEMPLATE = "qemu+ssh://{ip}/system"  # virtdc connects with qemu+ssh://HOST/system


@dataclass
class ImportResult:
    hosts: list[HostRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_hosts_file(
    path: Path, config: VmConfig, defaults: Mapping[str, Any], uri_template: str = DEFAULT_URI_TEMPLATE
) -> ImportResult:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return ImportResult(errors=[f"{path}: cannot read: {exc}"])
    if text.lstrip().startswith("<"):
        return _from_nodeinfo(text, path, config, defaults, uri_template)
    return _from_json(text, path, config, defaults)


def _finish(result: ImportResult, raw: Mapping[str, Any], where: str, config: VmConfig) -> None:
    try:
        host = HostRecord.from_json(raw, where)
    except HostError as exc:
        result.errors.append(str(exc))
        return
    try:
        check_against_config(host, config)
    except HostError as exc:
        result.errors.append(f"{where}: {exc}")
        return
    result.hosts.append(host)


def _from_json(text: str, path: Path, config: VmConfig, defaults: Mapping[str, Any]) -> ImportResult:
    result = ImportResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}")
        return result
    if not isinstance(data, Mapping) or not isinstance(data.get("hosts"), list):
        result.errors.append(f'{path}: expected {{"hosts": [...]}}')
        return result
    for index, entry in enumerate(data["hosts"]):
        where = f"{path.name}: hosts[{index}]"
        if not isinstance(entry, Mapping):
            result.errors.append(f"{where}: expected an object")
            continue
        _finish(result, {**defaults, **entry}, where, config)
    return result


def _from_nodeinfo(
    text: str, path: Path, config: VmConfig, defaults: Mapping[str, Any], uri_template: str
) -> ImportResult:
    result = ImportResult()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        result.errors.append(f"{path}:{line}:{col}: not valid XML: {exc}")
        return result
    if root.tag != "node_info":
        result.errors.append(f"{path}: expected a virtdc <node_info> document, found <{root.tag}>")
        return result
    if "profile" not in defaults:
        result.errors.append(f"{path}: nodeinfo.xml names no hardware profile: pass --profile ID")
        return result
    for index, node in enumerate(root.iter("node")):
        name = (node.findtext("hostname") or "").strip()
        ip = (node.findtext("ipv4address") or "").strip()
        where = f"{path.name}: node[{index}] ({name or '?'})"
        if not name:
            result.errors.append(f"{where}: <hostname> is missing")
            continue
        try:
            uri = uri_template.format(host=name, ip=ip or name)
        except (KeyError, IndexError, ValueError) as exc:
            result.errors.append(f"--uri-template {uri_template!r}: {exc!r} (use {{host}} and {{ip}})")
            return result
        _finish(result, {**defaults, "name": name, "uri": uri}, where, config)
        _check_capacity(result, node, where, config, str(defaults["profile"]))
    if not result.hosts and not result.errors:
        result.errors.append(f"{path}: no <node> entries")
    return result


def _check_capacity(
    result: ImportResult, node: ET.Element, where: str, config: VmConfig, profile_id: str
) -> None:
    """virtdc's max_capacity versus the profile vmdeck will schedule with: warn when they disagree."""
    profile = config.hardware_profiles.get(profile_id)
    cap = node.find("max_capacity")
    if profile is None or cap is None:
        return
    cores = (cap.findtext("cpu_core") or "").strip()
    if cores.isdigit() and int(cores) != profile.cores:
        result.warnings.append(
            f"{where}: nodeinfo says {cores} cores, profile {profile.id!r} has {profile.cores}"
        )
    mem = cap.find("memory")
    mem_text = (mem.text or "").strip() if mem is not None else ""
    if mem is not None and mem_text.isdigit():
        unit = {"KiB": 1024, "MiB": 1 << 20, "GiB": 1 << 30, "B": 1, "bytes": 1}.get(mem.get("unit", "KiB"))
        if unit is not None:
            size = int(mem_text) * unit
            if size != profile.memory:
                result.warnings.append(
                    f"{where}: nodeinfo says {format_size(size)} of memory, profile {profile.id!r} has "
                    f"{format_size(profile.memory)}"
                )
