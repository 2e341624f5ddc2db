"""Reusable widgets (their own DEFAULT_CSS): the curve plot and the bottom-line prompt."""
