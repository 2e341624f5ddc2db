"""Host inventory records: what an administrator registers about a host (seed 002, "Hosts").

A host has a name, a libvirt URI, a hardware profile, a realm, a state (Enabled / No Scheduling /
Disabled) and optional static address translation. This module validates those facts; the store
keeps them and the poller connects to them. Every refusal says which field and why.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from tui.core.fleet import HostState
from tui.core.model import VmConfig

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # always fullmatch: "$" would accept "x\n"
# Only transports that reach a hypervisor. `ext` (and ssh's `command=`/`netcat=`) would run a program
# of the URI's choosing on the admin's machine: a host record must never be able to run code.
ALLOWED_SCHEMES = ("qemu", "qemu+ssh", "qemu+tls", "qemu+tcp", "qemu+unix", "test")
_SCHEME = re.compile(r"([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?")
# Transports that reach another machine need a host name in the URI.
_NETWORK_TRANSPORTS = {"tls", "tcp", "ssh"}
# URI parameters libvirt's remote driver knows that name no program: accepted (values checked below).
_SAFE_PARAMS = {
    "keyfile",  # ssh private key (a file the admin's ssh reads; no code)
    "no_verify",
    "no_tty",
    "known_hosts",
    "known_hosts_verify",
    "sshauth",
    "pkipath",
    "tls_priority",
    "mode",
    "name",
    "socket",  # checked against the socket allow-list
    "proxy",  # only the keywords below
}
_REFUSED_PARAMS = {
    "command": "names a program to run",
    "netcat": "names a program to run on the far side",
}
_PROXY_VALUES = {"auto", "native", "netcat"}
# Where libvirt's daemons put their sockets; more directories: $VMDECK_SOCKET_DIRS (":"-separated).
DEFAULT_SOCKET_DIRS = ("/run/libvirt", "/var/run/libvirt")
SOCKET_DIRS_ENV = "VMDECK_SOCKET_DIRS"
MAX_OCTET = 255  # static address translation: port = base port + last octet of the VM's IP


class HostError(ValueError):
    """An invalid host record; the message names the host and field and is meant for the admin."""


@dataclass(frozen=True)
class Nat:
    """Static address translation: connect to `ip` at port `base_port` + last octet of the VM's IP."""

    ip: str
    base_port: int

    def port_for(self, vm_ip: str) -> int:
        return self.base_port + int(vm_ip.rsplit(".", 1)[-1])

    def to_json(self) -> dict[str, Any]:
        return {"ip": self.ip, "base_port": self.base_port}


@dataclass(frozen=True)
class HostRecord:
    name: str
    uri: str
    profile: str
    realm: str
    state: HostState = HostState.ENABLED
    nat: Nat | None = None

    @property
    def connected(self) -> bool:
        """Enabled and No Scheduling hosts are connected; Disabled hosts are not (seed 002)."""
        return self.state is not HostState.DISABLED

    def with_changes(self, **changes: Any) -> HostRecord:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uri": self.uri,
            "profile": self.profile,
            "realm": self.realm,
            "state": self.state.value,
            "nat": self.nat.to_json() if self.nat else None,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], where: str = "host") -> HostRecord:
        """Parse and check one host object (the import format and the store's documents)."""
        if not isinstance(raw, Mapping):
            raise HostError(f"{where}: expected an object, got {type(raw).__name__}")
        unknown = sorted(set(raw) - {"name", "uri", "profile", "realm", "state", "nat"})
        if unknown:
            raise HostError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
        # The name as written: "a\n" is not "a" (two such records would both list as "a").
        name = check_name(raw["name"]) if isinstance(raw.get("name"), str) else _text(raw, "name", where)
        where = f"{where} ({name})"
        nat_raw = raw.get("nat")
        nat = None
        if nat_raw is not None:
            if not isinstance(nat_raw, Mapping) or set(nat_raw) != {"ip", "base_port"}:
                raise HostError(f'{where}: "nat" must be {{"ip": ..., "base_port": ...}} or null')
            nat = check_nat(nat_raw["ip"], nat_raw["base_port"], where)
        try:
            state = HostState.parse(str(raw.get("state", "enabled")))
        except ValueError as exc:
            raise HostError(f"{where}: {exc}") from None
        return cls(
            name=name,
            uri=check_uri(_text(raw, "uri", where), where),
            profile=_text(raw, "profile", where),
            realm=_text(raw, "realm", where),
            state=state,
            nat=nat,
        )


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        raise HostError(f"{where}: {key!r} is missing")
    if not isinstance(value, str) or not value.strip():
        raise HostError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise HostError(
            f"invalid host name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def socket_dirs(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Directories a `socket=` parameter may point into: libvirt's own plus $VMDECK_SOCKET_DIRS.

    Reading one environment variable is the only outside input this core module takes: the rule
    must be the same at add, edit, import and load time, whoever calls it.
    """
    env = os.environ if environ is None else environ
    extra = [d for d in env.get(SOCKET_DIRS_ENV, "").split(":") if d.startswith("/")]
    return (*DEFAULT_SOCKET_DIRS, *(posixpath.normpath(d) for d in extra))


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by "***" (for messages: never echo a secret)."""
    try:
        parts = urlsplit(uri)
        if parts.password is None:
            return uri
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        return urlunsplit((parts.scheme, f"{user}:***@{netloc[1]}", parts.path, parts.query, parts.fragment))
    except ValueError:
        return "<unparsable URI>"


def check_uri(uri: str, where: str = "host", *, allowed_socket_dirs: Sequence[str] | None = None) -> str:
    """A libvirt connection URI such as qemu:///system or qemu+ssh://user@host:22/system.

    Refused: transports other than ALLOWED_SCHEMES, parameters that name a program (`command=`,
    `netcat=`) or a socket outside the allow-list (`socket_dirs()`), unknown parameters, passwords.
    """
    hint = "expected e.g. qemu:///system or qemu+ssh://[user@]host[:port]/system"
    if not isinstance(uri, str) or any(ord(c) < 0x21 or ord(c) == 0x7F for c in uri):
        raise HostError(f"{where}: malformed libvirt URI {uri!r} (spaces or control characters)")
    shown = redact_uri(uri)
    try:
        parts = urlsplit(uri)
        port = parts.port
        password = parts.password
    except ValueError:
        raise HostError(f"{where}: libvirt URI {shown!r} has an invalid port or host") from None
    # urlsplit lower-cases the scheme; libvirt does not, so check the text as written.
    scheme = uri.split("://", 1)[0]
    match = _SCHEME.fullmatch(scheme)
    if "://" not in uri or not match:
        raise HostError(f"{where}: malformed libvirt URI {shown!r} ({hint})")
    if scheme not in ALLOWED_SCHEMES:
        transport = match.group(2)
        what = f"transport {transport!r}" if transport else f"driver {match.group(1)!r}"
        extra = " (ext runs a program: refused)" if transport == "ext" else ""
        raise HostError(
            f"{where}: unknown libvirt {what} in {shown!r}{extra} (accepted: {', '.join(ALLOWED_SCHEMES)})"
        )
    if password is not None:
        raise HostError(
            f"{where}: libvirt URI {shown!r} contains a password: vmdeck stores no secrets "
            "(use an ssh key: ?keyfile=PATH, or ssh-agent)"
        )
    if not parts.path or parts.path == "/":
        raise HostError(f"{where}: libvirt URI {shown!r} has no path such as /system ({hint})")
    transport = match.group(2)
    if transport in _NETWORK_TRANSPORTS and not parts.hostname:
        raise HostError(f"{where}: libvirt URI {shown!r} uses {transport} but names no host ({hint})")
    if port is not None and not 0 < port < 65536:
        raise HostError(f"{where}: libvirt URI {shown!r} has an invalid port")
    if parts.fragment:
        raise HostError(f"{where}: libvirt URI {shown!r} has a '#' fragment, which libvirt does not use")
    _check_params(parts.query, shown, where, allowed_socket_dirs)
    return uri


def _check_params(query: str, shown: str, where: str, allowed: Sequence[str] | None) -> None:
    try:
        params = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise HostError(f"{where}: libvirt URI {shown!r} has a malformed query string") from None
    for key, value in params:
        if key in _REFUSED_PARAMS:
            raise HostError(
                f"{where}: libvirt URI {shown!r}: parameter {key!r} {_REFUSED_PARAMS[key]}: refused"
            )
        if key not in _SAFE_PARAMS:
            known = ", ".join(sorted(_SAFE_PARAMS))
            raise HostError(f"{where}: libvirt URI {shown!r}: unknown parameter {key!r} (accepted: {known})")
        if key == "proxy" and value not in _PROXY_VALUES:
            raise HostError(
                f"{where}: libvirt URI {shown!r}: proxy={value!r} is not one of {', '.join(sorted(_PROXY_VALUES))}"
            )
        if key == "socket":
            _check_socket(value, shown, where, socket_dirs() if allowed is None else tuple(allowed))


def _check_socket(path: str, shown: str, where: str, allowed: Sequence[str]) -> None:
    normal = posixpath.normpath(path) if path.startswith("/") else ""
    if normal and any(normal.startswith(d.rstrip("/") + "/") for d in allowed):
        return
    raise HostError(
        f"{where}: libvirt URI {shown!r}: socket {path!r} is outside the allowed socket directories "
        f"({', '.join(allowed)}; add one to ${SOCKET_DIRS_ENV})"
    )


def check_nat(ip: object, base_port: object, where: str = "host") -> Nat:
    try:
        address = ipaddress.IPv4Address(str(ip))
    except ValueError:
        raise HostError(f"{where}: NAT address {ip!r} is not an IPv4 address") from None
    if isinstance(base_port, bool) or not isinstance(base_port, int):
        try:
            base_port = int(str(base_port))
        except ValueError:
            raise HostError(f"{where}: NAT base port {base_port!r} is not a whole number") from None
    # The last octet is added to the base port, so the whole range must stay a valid TCP port.
    if not 1 <= base_port <= 65535 - MAX_OCTET:
        limit = 65535 - MAX_OCTET
        raise HostError(f"{where}: NAT base port {base_port} must be 1..{limit} (base + 255 <= 65535)")
    return Nat(str(address), base_port)


def check_against_config(host: HostRecord, config: VmConfig) -> None:
    """The profile and the realm a host names must exist in the configuration."""
    if host.profile not in config.hardware_profiles:
        known = ", ".join(sorted(config.hardware_profiles)) or "none"
        raise HostError(f"host {host.name!r}: unknown hardware profile {host.profile!r} (profiles: {known})")
    if host.realm not in config.realms:
        known = ", ".join(sorted(config.realms)) or "none"
        raise HostError(f"host {host.name!r}: unknown realm {host.realm!r} (realms: {known})")


def default_realm(config: VmConfig) -> str:
    """The realm a host joins when none is named: only defined when the config has exactly one."""
    if len(config.realms) == 1:
        return next(iter(config.realms))
    known = ", ".join(sorted(config.realms)) or "none"
    raise HostError(f"name a realm with --realm (realms: {known})")


def missing_state_reason(name: str, reason: str | None) -> str | None:
    """Why a change of host `name`'s state may not go ahead, or None when it has a reason: the one
    rule (the stores, the action path and `vmdeck hosts state` all refuse with this text)."""
    if reason and reason.strip():
        return None
    return f"changing the state of {name!r} needs a reason (--reason TEXT)"
