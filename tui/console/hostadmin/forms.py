"""Adding and editing a host: fields checked as they are typed, a real bounded connection to a new
URI made by the dialog's worker, its result shown, then the question (see the package docstring
for why a failed connection asks instead of refusing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.app import App
from textual.message import Message
from textual.widgets import Static

from tui.console.actionchecks import busy
from tui.console.dialogs import ActionScreen, Ask, reason_ask
from tui.console.fleetview import FleetView
from tui.console.hostadmin.common import admin_job, refuse
from tui.console.jobs import Abandoned, detached
from tui.console.messages import ActionRequested
from tui.console.session import Session
from tui.core.hosts import HostRecord, check_name, check_uri, redact_uri
from tui.core.printable import printable
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.services.hostadmin import (
    add_host,
    edit_host,
    host_changes,
    host_record,
    parse_nat,
    parse_state,
)
from tui.services.libvirt.probe import PROBE_TIMEOUT_S, Probe, probe_uri


class HostFormScreen(ActionScreen):
    """Add or edit a host: fields checked as typed, a real connection to a new URI, then y/n.

    `question(values)` returns the question or raises ValueError; `needs_probe(values)` says
    whether the URI in `values` must be connected to first (a new host, or a changed URI).
    """

    @dataclass
    class Probed(Message):
        probe: Probe

    def __init__(
        self,
        title: str,
        what: str,
        asks: list[Ask],
        question: Callable[[dict[str, str]], str],
        needs_probe: Callable[[dict[str, str]], bool],
        timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        super().__init__(
            title,
            [
                ("what", what),
                ("probe", "URI check: made when the fields are complete (enter on the last one)"),
            ],
            asks,
            self._question,
            prefix="hostform",
        )
        self.question, self.needs_probe, self.timeout = question, needs_probe, timeout
        self.probes: dict[str, Probe] = {}
        self._probing: set[str] = set()

    def _question(self, values: dict[str, str]) -> str:
        text = self.question(values)
        if not self.needs_probe(values):
            return text
        uri = values["uri"]
        probe = self.probes.get(uri)
        if probe is None:
            if uri not in self._probing:
                self._probing.add(uri)
                self._show_probe(
                    f"URI check: connecting to {redact_uri(uri)} (read-only, up to {self.timeout:g} s) …"
                )
                self._probe(uri)
            raise ValueError(f"checking the URI: connecting to {redact_uri(uri)} …")
        if probe.ok:
            return f"{text} (connected: {probe.message})"
        return f"{text} although the connection FAILED ({probe.message}): save anyway"

    def _show_probe(self, text: str) -> None:
        self.query_one("#hostform-probe", Static).update(printable(text))

    @work(thread=True, group="uri-probe")
    def _probe(self, uri: str) -> None:
        try:
            self.post_message(self.Probed(detached(lambda: probe_uri(uri, self.timeout))))
        except Abandoned:
            return  # the console is quitting

    def on_host_form_screen_probed(self, message: Probed) -> None:
        probe = message.probe
        self._probing.discard(probe.uri)
        self.probes[probe.uri] = probe
        word = "OK" if probe.ok else "FAILED"
        self._show_probe(f"URI check {word}: {redact_uri(probe.uri)}: {probe.message}")
        if self.values is None and not self.closed and self.is_attached:
            self._validate()  # on to the question (or to what is still wrong)


def _config_asks(view: FleetView, record: HostRecord | None) -> list[Ask]:
    config = view.config
    profiles = tuple(sorted(config.hardware_profiles))
    realms = tuple(sorted(config.realms))

    def profile_ok(values: dict[str, str]) -> None:
        if values["profile"] not in config.hardware_profiles:
            raise ValueError(
                f"unknown hardware profile {values['profile']!r} (profiles: {', '.join(profiles) or 'none'})"
            )

    def realm_ok(values: dict[str, str]) -> None:
        realm = values["realm"]
        if realm and realm not in config.realms:
            raise ValueError(f"unknown realm {realm!r} (realms: {', '.join(realms) or 'none'})")
        if not realm and len(realms) != 1:
            raise ValueError(f"name a realm (realms: {', '.join(realms) or 'none'})")

    default_realm = record.realm if record else (realms[0] if len(realms) == 1 else "")
    nat = record.nat if record else None
    return [
        Ask(
            "uri",
            "libvirt URI, e.g. qemu+ssh://root@host/system",
            record.uri if record else "",
            label="libvirt URI",
            check=lambda v: check_uri(v["uri"], "URI") and None,
        ),
        Ask(
            "profile",
            "hardware profile",
            record.profile if record else (profiles[0] if len(profiles) == 1 else ""),
            suggestions=profiles,
            label=f"profile ({', '.join(profiles[:4])}{' …' if len(profiles) > 4 else ''})",
            check=profile_ok,
        ),
        Ask(
            "realm",
            "realm",
            default_realm,
            required=False,
            suggestions=realms,
            label="realm",
            check=realm_ok,
        ),
        Ask(
            "state",
            "enabled | no-scheduling | disabled",
            record.state.value if record else "enabled",
            suggestions=("enabled", "no-scheduling", "disabled"),
            label="state",
            check=lambda v: parse_state(v["state"]) and None,
        ),
        Ask(
            "nat_ip", "NAT address (empty: none)", nat.ip if nat else "", required=False, label="NAT address"
        ),
        Ask(
            "nat_port",
            "NAT base port (empty: none)",
            str(nat.base_port) if nat else "",
            required=False,
            label="NAT base port",
            check=lambda v: parse_nat(v["nat_ip"], v["nat_port"]) and None,
        ),
        reason_ask(),
    ]


def ask_add_host(app: App[None], view: FleetView, session: Session) -> None:
    if session.read_only:
        refuse(app, "add a host", READ_ONLY_MESSAGE)
        return

    def name_ok(values: dict[str, str]) -> None:
        check_name(values["name"])
        if values["name"] in view.records:
            raise ValueError(f"host {values['name']!r} already exists (E on its row edits it)")

    def record_of(values: dict[str, str]) -> HostRecord:
        return host_record(
            view.config,
            name=values["name"],
            uri=values["uri"],
            profile=values["profile"],
            realm=values["realm"],
            state=values["state"],
            nat_ip=values["nat_ip"],
            nat_base_port=values["nat_port"],
        )

    def question(values: dict[str, str]) -> str:
        name_ok(values)
        r = record_of(values)
        return f"add host {r.name} ({r.state.label}, profile {r.profile}, realm {r.realm}) because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            record, reason = record_of(values), values["reason"]
            app.post_message(
                ActionRequested(
                    admin_job(
                        f"add host {record.name}",
                        "host.add",
                        record.name,
                        reason,
                        lambda d: add_host(d, record, reason),
                    )
                )
            )

    what = (
        "Registers a host in the store (audited). The URI is checked by vmdeck's rules, then by "
        "connecting read-only; a host that does not answer can still be saved if you confirm."
    )
    asks = [Ask("name", "host name", label="host name", check=name_ok), *_config_asks(view, None)]
    app.push_screen(HostFormScreen("Add a host", what, asks, question, lambda _v: True), done)


def ask_edit_host(app: App[None], view: FleetView, session: Session, host: str) -> None:
    record = view.records.get(host)
    why = READ_ONLY_MESSAGE if session.read_only else (None if record else f"no host named {host!r}")
    if why is None:
        why = busy(app, "host", host)
    if why is not None or record is None:
        refuse(app, f"edit host {host}", why or f"no host named {host!r}", host)
        return

    def changes_of(values: dict[str, str]) -> dict[str, object]:
        nat = parse_nat(values["nat_ip"], values["nat_port"])
        return host_changes(
            view.config,
            record,
            uri=values["uri"],
            profile=values["profile"],
            realm=values["realm"] or record.realm,
            state=values["state"],
            nat=nat,
            no_nat=nat is None,
        )

    def question(values: dict[str, str]) -> str:
        changes = changes_of(values)
        if not changes:
            raise ValueError("nothing changed: edit a field, or esc")
        listed = ", ".join(f"{k} → {_shown(v)}" for k, v in sorted(changes.items()))
        return f"change {host}: {listed} because “{values['reason']}”"

    def done(values: dict[str, str] | None) -> None:
        if values:
            changes, reason = changes_of(values), values["reason"]
            app.post_message(
                ActionRequested(
                    admin_job(
                        f"edit host {host}",
                        "host.edit",
                        host,
                        reason,
                        lambda d: edit_host(d, host, changes, reason),
                    )
                )
            )

    what = "Changes the host's record in the store (audited); a new URI is connected to before saving."
    asks = _config_asks(view, record)
    app.push_screen(
        HostFormScreen(f"Edit host {host}", what, asks, question, lambda v: v["uri"] != record.uri),
        done,
    )


def _shown(value: object) -> str:
    label = getattr(value, "label", None)
    if isinstance(label, str):
        return label
    if value is None:
        return "none"
    ip, port = getattr(value, "ip", None), getattr(value, "base_port", None)
    return f"{ip}:{port}+" if ip is not None else str(value)
