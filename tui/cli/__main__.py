"""`python -m tui.cli`: the `vmdeck` command without the installed script."""

from tui.cli import main

# Guarded so that tools which import every module of the package (the layering test's walk,
# documentation generators) do not open the console.
if __name__ == "__main__":
    raise SystemExit(main())
