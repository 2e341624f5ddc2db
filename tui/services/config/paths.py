"""Where vmdeck finds a config when none is named on the command line."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/ticrypt/ticrypt-vm.conf")
# tui/_data/config links to the repository's config/ and is copied into the wheel, so the sample
# config is found both in a checkout and in an installed package.
SAMPLE_CONFIG = (Path(__file__).resolve().parents[2] / "_data" / "config" / "ticrypt-vm.conf").resolve()


def default_config_path() -> Path:
    """$VMDECK_CONFIG, else the service's own /etc/ticrypt/ticrypt-vm.conf, else the bundled sample."""
    env = os.environ.get("VMDECK_CONFIG")
    if env:
        return Path(env)
    if SYSTEM_CONFIG.is_file():
        return SYSTEM_CONFIG
    return SAMPLE_CONFIG
