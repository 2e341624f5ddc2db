"""Where a store lives: a directory (local backend) or a PostgreSQL server (URL or libpq string).

`redact_url` is the one function that makes a location safe to show: every message, log line, audit
entry and `store.location` goes through it, so a password typed into a location never reaches a screen.
vmdeck takes PostgreSQL passwords only from the passfile (~/.pgpass or $PGPASSFILE), which must be
private (mode 0600) like libpq itself requires; a location that carries a password is refused.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from tui.core.hosts import redact_uri
from tui.services.store.files import StoreError

URL_SCHEMES = ("postgresql://", "postgres://")
# libpq's key=value form: at least one "keyword=" at the start (e.g. "host=/run/pg dbname=vmdeck").
_KEYWORD_FORM = re.compile(r"^\s*[a-z_]+\s*=", re.IGNORECASE)
# password=VALUE where VALUE is 'quoted with \' escapes' or a run of non-spaces.
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)
REDACTED = "***"


def is_postgres(location: str | os.PathLike[str]) -> bool:
    if not isinstance(location, str):
        return False
    return location.lower().startswith(URL_SCHEMES) or bool(_KEYWORD_FORM.match(location))


def redact_url(location: str) -> str:
    """The location with any password replaced by ***; anything else (a directory) unchanged."""
    if location.lower().startswith(URL_SCHEMES):
        try:
            # The password in user:password@ is hidden by the one rule for URIs (core.hosts); a
            # libpq URL may also carry ?password=, hidden here.
            urlsplit(location)  # raises ValueError on a URL that cannot be parsed (handled below)
            parts = urlsplit(redact_uri(location))
            query = [(k, REDACTED if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)]
            return urlunsplit(
                SplitResult(parts.scheme, parts.netloc, parts.path, urlencode(query, safe="/*"), "")
            )
        except ValueError:
            return f"{location.split(':', 1)[0]}://{REDACTED} (unparsable URL)"
    if _KEYWORD_FORM.match(location):
        return _KV_PASSWORD.sub(lambda m: m[1] + REDACTED, location)
    return location


def passfile_path(params: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Path:
    """The passfile libpq will read: the `passfile` parameter, $PGPASSFILE, or ~/.pgpass."""
    env = os.environ if environ is None else environ
    chosen = params.get("passfile") or env.get("PGPASSFILE")
    return Path(chosen).expanduser() if chosen else Path.home() / ".pgpass"


def check_passfile(path: Path) -> None:
    """Refuse a passfile others can read (libpq would silently ignore it and fail later, unclearly)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return  # no passfile: trust, peer or certificate authentication may need none
    except OSError as exc:
        raise StoreError(f"cannot read the PostgreSQL passfile {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"PostgreSQL passfile {path} is not a regular file")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise StoreError(
            f"refusing the PostgreSQL passfile {path}: it is readable by other users (mode {mode:04o}); "
            f"make it private with `chmod 600 {path}`"
        )
