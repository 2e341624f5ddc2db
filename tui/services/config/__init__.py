"""Reading `ticrypt-vm.conf` (and the files it includes) into core objects with located diagnostics."""

from tui.services.config.loader import ConfigFileError, CurveResult, LoadResult, load_config, parse_curve_spec

__all__ = ["ConfigFileError", "CurveResult", "LoadResult", "load_config", "parse_curve_spec"]
