"""Where the console's stylesheets are: inside the installed package, or the checkout's styles/.

One rule for every stylesheet (the app's vmdeck.tcss, the lab's lab.tcss): the wheel ships styles/
through the tui/_data link, a checkout has it beside the package.
"""

from __future__ import annotations

from pathlib import Path


def stylesheet(name: str) -> Path:
    """The stylesheet `name` (e.g. "vmdeck.tcss"); FileNotFoundError names where it was looked for."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_data" / "styles", package.parent / "styles"):
        if (candidate / name).is_file():
            return candidate / name
    raise FileNotFoundError(f"{name} not found next to {package}")
