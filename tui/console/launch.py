"""Opening the console from the command line: the demo, or a real fleet (config + store directory).

The config is parsed and the store read here, before the app starts, so the UI loop never waits on
HOCON parsing or file reads; a config with errors is reported on the terminal instead of opening.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tui.console.app import VmdeckApp, make_app
from tui.console.session import Session
from tui.core.hosts import HostRecord
from tui.services.config import ConfigFileError, load_config
from tui.services.config.paths import default_config_path
from tui.services.poller import PollerSettings
from tui.services.store import StoreError, open_store, redact_url

# The demo's hosts are in-process test:/// files: poll them often so the demo looks alive. A real
# fleet is polled at each realm's poll-frequency.
DEMO_PERIOD_S = 2.0


def build_console(
    config_path: str | Path | None,
    db: str | Path | None,
    *,
    read_only: bool = False,
    demo_dir: Path | None = None,
    poll_period: float | None = None,
) -> VmdeckApp:
    """The app for `vmdeck` (demo when no db is given) — raises SystemExit(1) with a message on bad input.

    `poll_period` overrides the realms' poll-frequency (the demo's default is DEMO_PERIOD_S).
    """
    if db is None:
        from tui.services.demo import prepare_demo

        paths = prepare_demo(demo_dir)
        config_path, db, source = config_path or paths.config, paths.db, "demo fleet"
        poll_period = poll_period or DEMO_PERIOD_S
    else:
        source = str(config_path)
    if config_path is None:
        config_path = default_config_path()
        source = str(config_path)
    try:
        result = load_config(config_path)
    except ConfigFileError as exc:
        raise SystemExit(f"vmdeck: {exc}") from None
    if not result.ok or result.config is None:
        for diag in result.errors[:10]:
            print(diag, file=sys.stderr)
        raise SystemExit(f"vmdeck: {config_path}: invalid config (see vmdeck validate {config_path})")
    try:
        store = open_store(db)
        records: list[HostRecord] = store.hosts()
    except StoreError as exc:  # its message names the directory or the server (password redacted)
        raise SystemExit(f"vmdeck: {exc}") from None
    except (OSError, ValueError) as exc:
        raise SystemExit(f"vmdeck: cannot read the store {redact_url(str(db))}: {exc}") from None
    session = Session(source + (" (read-only)" if read_only else ""), read_only=read_only, db=store.location)
    settings = PollerSettings(read_only=read_only, period=poll_period)
    return make_app(result.config, records, session=session, store=store, poller_settings=settings)


def run_console(config_path: str | None, db: str | None, read_only: bool) -> int:
    app = build_console(config_path, db, read_only=read_only)
    app.run()
    if app.crash_message:
        print(app.crash_message, file=sys.stderr)
    return app.return_code or 0  # 1 after a crash (its one line names the log file)
