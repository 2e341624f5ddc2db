"""Host administration in the console: add, edit, remove, reconcile, and the realm's pools.

The same services as `vmdeck hosts add|edit|remove`, `vmdeck reconcile` and `vmdeck pools` do the
work (tui/services/hostadmin.py, tui/services/actions/pools.py); this module only asks. Every change
asks for a reason, is confirmed, and runs as an ordinary action job on the app's Deck (off the UI
loop, shown on the status line, audited by the store); read-only mode refuses before any question.

Adding a host, or changing its URI, checks the URI twice before saving: the CLI's rules (no `ext`,
no `command=`, sockets only in the allow-list) while typing, then a real, bounded, read-only
connection made by a worker of the dialog, whose result is shown before the question. A failed
connection does not refuse the save: the question then says so and y saves anyway. Why: admins
register hosts before they are reachable (racked but not cabled, ssh key not yet installed), the
CLI saves without connecting, and a Disabled host is never connected at all; refusing would push
them to the CLI. The answer is the admin's, with the failure in front of them.

`HostAdminPane` is the base of the hosts pane: its keys (tui/ui/keymap.py HOSTADMIN_BINDINGS), the
workers that read what a question needs from the store first (so remove and reconcile are refused
or listed before any question), and the empty-store hint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.segment import Segment
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Checkbox, Input, SelectionList, Static
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from tui.core.hosts import HostError, HostRecord, check_name, check_uri, redact_uri
from tui.core.live import Finding, FindingKind, ManagedVm, reconcile
from tui.core.printable import printable
from tui.services.actions import Deck, Outcome, Result, check_pools, create_pools
from tui.services.actions.deck import READ_ONLY_MESSAGE
from tui.services.actions.pools import DEFAULT_POOL_BASE
from tui.services.hostadmin import (
    add_host,
    edit_host,
    host_changes,
    host_record,
    parse_nat,
    parse_state,
    reconcile_changes,
    recorded_on,
    removal_blockers,
    removal_refusal,
    remove_host,
)
from tui.services.libvirt.probe import PROBE_TIMEOUT_S, Probe, probe_uri
from tui.services.store import StoreError
from tui.ui.dialogs import ActionScreen, Ask, reason_ask
from tui.ui.fleetview import FleetView
from tui.ui.jobs import Abandoned, detached
from tui.ui.messages import ActionJob, ActionRefused, ActionRequested, Report
from tui.ui.panes.base import TablePane
from tui.ui.session import Session
from tui.ui.text import plural
from tui.ui.vmactions import busy, refusal

ADD_FIRST_HOST = "vmdeck hosts add NAME --uri URI --profile ID [--realm ID]"
SHOWN_FINDINGS = 200  # the reconcile list; more are listed by `vmdeck reconcile`
ADOPTABLE = (FindingKind.UNMANAGED, FindingKind.LEFTOVER, FindingKind.MOVED)
FORGETTABLE = (FindingKind.MISSING,)


def empty_hint(read_only: bool) -> str:
    """What the hosts pane says while the store has no host: how to add the first one."""
    cli = f"`{ADD_FIRST_HOST}` (or `vmdeck hosts import FILE` for many)"
    if read_only:
        return f"No hosts in this store yet. This console is read-only: add the first host with {cli}."
    return f"No hosts in this store yet. Press a to add the first host, or run {cli}."


def _refuse(app: App[None], action: str, why: str, host: str | None = None) -> None:
    app.post_message(ActionRefused(action, why, host))


def _job(
    label: str, what: str, host: str | None, reason: str | None, act: Callable[[Deck], Outcome]
) -> ActionJob:
    """A job whose refusals that need no lease (HostError: nothing written) are still audited."""

    def run(deck: Deck, _report: Report) -> Outcome:
        try:
            return act(deck)
        except HostError as exc:
            outcome = Outcome(what, host or "", host, Result.REFUSED, str(exc))
            deck.audit(outcome, reason)
            return outcome

    return ActionJob(label, run, None, host, reason, what)


# --- add and edit: fields, the URI check, then the question -------------------------------------------
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
        _refuse(app, "add a host", READ_ONLY_MESSAGE)
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
                    _job(
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
        _refuse(app, f"edit host {host}", why or f"no host named {host!r}", host)
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
                    _job(
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


# --- remove -------------------------------------------------------------------------------------------
def ask_remove_host(
    app: App[None], view: FleetView, session: Session, host: str, recorded: list[ManagedVm]
) -> None:
    """`recorded`: vmdeck's VMs on the host, read from the store by the pane's worker."""
    label = f"remove host {host}"
    why = (
        READ_ONLY_MESSAGE
        if session.read_only
        else (None if host in view.records else f"no host named {host!r}")
    )
    if why is None:
        why = busy(app, "host", host)
    if why is None and (blockers := removal_blockers(recorded, view.snapshots.get(host))):
        why = removal_refusal(host, blockers)
    if why is not None:
        _refuse(app, label, why, host)
        return
    domains = view.domains(host)
    vms = (
        f"vmdeck's VMs recorded here: {len(recorded)}, none running; their records stay "
        "(reconcile, R, forgets them once they are gone)"
        if recorded
        else "vmdeck's VMs recorded here: none"
    )
    others = f"Other domains the host reports: {len(domains)} (they are not touched)" if domains else ""
    what = (
        f"vmdeck forgets {host}: it is no longer polled, shown or scheduled on. Nothing on the host "
        "itself changes."
    )

    def done(values: dict[str, str] | None) -> None:
        if values:
            reason = values["reason"]
            app.post_message(
                ActionRequested(
                    _job(
                        label,
                        "host.remove",
                        host,
                        reason,
                        lambda d: remove_host(d, host, reason, d.snapshots().get(host)),
                    )
                )
            )

    app.push_screen(
        ActionScreen(
            f"Remove host {host}",
            [("what", what), ("vms", "\n".join(t for t in (vms, others) if t))],
            [reason_ask()],
            lambda v: f"remove {host} from the store because “{v['reason']}”",
        ),
        done,
    )


# --- reconcile ---------------------------------------------------------------------------------------
def candidate_label(finding: Finding) -> str:
    verb = "adopt" if finding.kind in ADOPTABLE else "forget"
    where = f"{finding.host}" + (
        f" (recorded on {finding.recorded_host})"
        if finding.recorded_host and finding.recorded_host != finding.host
        else ""
    )
    return printable(f"{verb:<6} {finding.kind.value:<9} {finding.name}  on {where}  {finding.uuid}")


class MarkedSelectionList(SelectionList[str]):
    """A SelectionList whose toggle shows X only when selected: Textual's draws X either way and
    tells them apart by colour alone, which a terminal without colour (or NO_COLOR) cannot show."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 2 or segments[1].text != Checkbox.BUTTON_INNER:
            return strip
        mark = Checkbox.BUTTON_INNER if option.value in self.selected else " "
        segments[1] = Segment(mark, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)


class ReconcileScreen(ActionScreen):
    """The reconcile candidates first (space selects), then a reason and y/n."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("a", "select_all", "Select all", id="reconcile.all", show=False),
    ]

    def __init__(self, candidates: list[Finding], others: list[Finding]) -> None:
        self.candidates = candidates[:SHOWN_FINDINGS]
        lines = [
            f"{plural(len(candidates), 'candidate')}: space selects, a selects all, tab moves to the reason.",
            "adopt: record a domain vmdeck did not start as vmdeck's; forget: drop the record of a VM "
            "no connected host reports.",
        ]
        if len(candidates) > SHOWN_FINDINGS:
            lines.append(f"… {len(candidates) - SHOWN_FINDINGS} more: `vmdeck reconcile` lists them all")
        if others:
            lines.append(
                f"Not actionable here: {plural(len(others), 'VM')} on hosts that cannot be reached "
                "(`vmdeck reconcile --forget UUID` once you know they are gone)"
            )
        super().__init__(
            "Reconcile vmdeck's records with the hosts",
            [("what", "\n".join(lines))],
            [reason_ask()],
            self._question,
            prefix="reconcile",
        )

    def on_mount(self) -> None:
        selections = [Selection(candidate_label(f), f.uuid, False) for f in self.candidates]
        listing = MarkedSelectionList(*selections, id="reconcile-list")
        dialog = self.query_one("#reconcile-dialog", Vertical)
        dialog.mount(listing, before=self.query_one("#reconcile-reason", Input))
        self.call_after_refresh(self.set_focus, listing)

    def chosen(self) -> tuple[list[str], list[str]]:
        selected = set(self.query_one("#reconcile-list", SelectionList).selected)
        adopt = [f.uuid for f in self.candidates if f.uuid in selected and f.kind in ADOPTABLE]
        forget = [f.uuid for f in self.candidates if f.uuid in selected and f.kind in FORGETTABLE]
        return adopt, forget

    def _question(self, values: dict[str, str]) -> str:
        adopt, forget = self.chosen()
        if not adopt and not forget:
            raise ValueError("select at least one candidate with space (shift+tab goes back to the list)")
        return f"adopt {len(adopt)} and forget {len(forget)} because “{values['reason']}”"

    def action_select_all(self) -> None:
        if self.values is None and isinstance(self.focused, SelectionList):
            self.focused.select_all()

    def action_move(self, step: int) -> None:
        """tab / shift+tab between the list and the reason."""
        if self.values is not None:
            return
        order = [self.query_one("#reconcile-list", SelectionList), self.query_one("#reconcile-reason", Input)]
        position = order.index(self.focused) if self.focused in order else -step
        self.set_focus(order[(position + step) % len(order)])


def ask_reconcile(app: App[None], view: FleetView, session: Session, managed: list[ManagedVm]) -> None:
    """`managed`: vmdeck's VM records, read from the store by the pane's worker."""
    findings = reconcile(managed, view.snapshots)
    candidates = [f for f in findings if f.kind in ADOPTABLE or f.kind in FORGETTABLE]
    others = [f for f in findings if f.kind is FindingKind.UNKNOWN]
    if not candidates:
        extra = f"; {plural(len(others), 'VM')} on unreachable hosts cannot be told" if others else ""
        app.notify(
            f"nothing to reconcile: every domain is vmdeck's and every VM it started is present{extra}",
            title="Reconcile",
        )
        return
    screen = ReconcileScreen(candidates, others)

    def done(values: dict[str, str] | None) -> None:
        if values:
            adopt, forget = screen.chosen()
            reason = values["reason"]

            def act(deck: Deck) -> Outcome:
                lines = reconcile_changes(deck.store, deck.snapshots(), adopt, forget, reason)
                return Outcome("vm.reconcile", "fleet", None, Result.OK, "; ".join(lines))

            app.post_message(ActionRequested(_job("reconcile", "vm.reconcile", None, reason, act)))

    app.push_screen(screen, done)


# --- pools ---------------------------------------------------------------------------------------------
def ask_pools_check(app: App[None], view: FleetView, host: str) -> None:
    """Reads only (allowed in read-only mode): the outcome names each pool that is not ready."""
    if host not in view.records:
        _refuse(app, f"check pools of {host}", f"no host named {host!r}", host)
        return
    run = lambda deck, _report: check_pools(deck, host)  # noqa: E731
    app.post_message(
        ActionRequested(ActionJob(f"check pools of {host}", run, None, host, None, "pool.check"))
    )


def ask_pools_create(app: App[None], view: FleetView, session: Session, host: str) -> None:
    label = f"create pools on {host}"
    why = refusal(view, session, host) or busy(app, "host", host)
    if why is not None:
        _refuse(app, label, why, host)
        return
    record = view.records[host]
    realm = view.config.realms.get(record.realm)
    names = ", ".join(realm.pools().values()) if realm else "(unknown realm)"
    what = (
        f"Realm {record.realm}'s pools on {host}: {names}. What is missing is defined as a directory "
        "pool under the base directory, built, started and set to autostart; ready pools are left alone."
    )

    def base_ok(values: dict[str, str]) -> None:
        if not values["base"].startswith("/"):
            raise ValueError("the base directory must be an absolute path on the host")

    def done(values: dict[str, str] | None) -> None:
        if values:
            base, reason = values["base"], values["reason"]
            run = lambda deck, _report: create_pools(deck, host, base, reason)  # noqa: E731
            app.post_message(ActionRequested(ActionJob(label, run, None, host, reason, "pool.create")))

    asks = [
        Ask("base", "base directory on the host", DEFAULT_POOL_BASE, label="base directory", check=base_ok),
        reason_ask(),
    ]
    app.push_screen(
        ActionScreen(
            f"Create realm {record.realm}'s pools on {host}",
            [("what", what)],
            asks,
            lambda v: (
                f"create what is missing of {names} under {v['base']} on {host} because “{v['reason']}”"
            ),
        ),
        done,
    )


# --- the hosts pane's part ------------------------------------------------------------------------------
class HostAdminPane(TablePane):
    """The hosts pane's administration keys, the store reads behind them, and the empty-store hint."""

    @dataclass
    class StoreRead(Message):
        """vmdeck's VM records, read by a worker for the question `purpose` ("remove" or "reconcile")."""

        purpose: str
        host: str | None
        managed: list[ManagedVm] | None
        error: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="hosts-empty", markup=False)
        yield from super().compose_body()

    def refresh_all(self) -> None:
        super().refresh_all()
        self.show_empty_hint()

    def update_rows(self, names: list[str]) -> None:
        super().update_rows(names)
        self.show_empty_hint()

    def show_empty_hint(self) -> None:
        hint = self.query_one("#hosts-empty", Static)
        empty = not self.view.records
        hint.display = empty
        if empty:
            hint.update(empty_hint(self.session.read_only))

    def _selected_host(self) -> str | None:
        host = self.selected_key()
        if host is None:
            self.notify("No host selected", severity="warning")
        return host

    def action_add_host(self) -> None:
        ask_add_host(self.app, self.view, self.session)

    def action_edit_host(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_edit_host(self.app, self.view, self.session, host)

    def action_remove_host(self) -> None:
        if (host := self._selected_host()) is not None:
            self.remove_host(host)

    def remove_host(self, host: str) -> None:
        """Read vmdeck's VMs first (a worker), then refuse or ask (the key and the palette)."""
        label = f"remove host {host}"
        why = READ_ONLY_MESSAGE if self.session.read_only else busy(self.app, "host", host)
        if why is not None:
            _refuse(self.app, label, why, host)
            return
        self._read_managed("remove", host)

    def reconcile(self) -> None:
        if self.session.read_only:
            _refuse(self.app, "reconcile", READ_ONLY_MESSAGE + " (`vmdeck reconcile` lists what differs)")
            return
        self._read_managed("reconcile", None)

    def action_reconcile(self) -> None:
        self.reconcile()

    def action_pools_check(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_pools_check(self.app, self.view, host)

    def action_pools_create(self) -> None:
        if (host := self._selected_host()) is not None:
            ask_pools_create(self.app, self.view, self.session, host)

    def _read_managed(self, purpose: str, host: str | None) -> None:
        store = getattr(self.app, "store", None)
        if store is None:
            _refuse(self.app, purpose, "no store: this console cannot act", host)
            return
        self._read_worker(store, purpose, host)

    @work(thread=True, group="hostadmin-read")
    def _read_worker(self, store: object, purpose: str, host: str | None) -> None:
        try:
            managed = detached(lambda: store.managed_vms())  # type: ignore[attr-defined]
        except Abandoned:
            return
        except (StoreError, OSError) as exc:
            self.post_message(self.StoreRead(purpose, host, None, str(exc)))
            return
        self.post_message(self.StoreRead(purpose, host, list(managed)))

    @on(StoreRead)
    def _store_read(self, message: StoreRead) -> None:
        label = f"{message.purpose} {message.host}" if message.host else message.purpose
        if message.managed is None:
            _refuse(self.app, label, f"cannot read vmdeck's VM records: {message.error}", message.host)
        elif message.purpose == "remove" and message.host is not None:
            ask_remove_host(
                self.app, self.view, self.session, message.host, recorded_on(message.managed, message.host)
            )
        elif message.purpose == "reconcile":
            ask_reconcile(self.app, self.view, self.session, message.managed)


def palette_actions(pane: HostAdminPane, view: FleetView) -> list[tuple[str, str, Callable[[], object]]]:
    """The command palette's host administration entries (tui/ui/palette.py lists them)."""
    app, session = pane.app, pane.session
    actions: list[tuple[str, str, Callable[[], object]]] = [
        (
            "Add a host",
            "a on the Hosts pane: name, URI (checked by connecting), profile, realm",
            partial(ask_add_host, app, view, session),
        ),
        (
            "Reconcile: adopt or forget VMs",
            "R on the Hosts pane: the list first, then choose",
            pane.reconcile,
        ),
    ]
    for host in view.records:
        actions += [
            (
                f"Edit host {host}",
                "E: URI, profile, realm, state, NAT (asks for a reason)",
                partial(ask_edit_host, app, view, session, host),
            ),
            (
                f"Remove host {host}",
                "del: refused while vmdeck's VMs run there",
                partial(pane.remove_host, host),
            ),
            (
                f"Check pools of host {host}",
                "p: do the realm's four pools exist, run and autostart?",
                partial(ask_pools_check, app, view, host),
            ),
            (
                f"Create pools on host {host}",
                "P: define/build/start/autostart what is missing",
                partial(ask_pools_create, app, view, session, host),
            ),
        ]
    return actions
