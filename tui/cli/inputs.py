"""The one error type of the headless commands for input they refuse before acting (a flag, a file, a
config, a store location): raised anywhere in a command, printed as one line by its handler, exit 1.
"""

from __future__ import annotations


class InputError(Exception):
    """Input a command refuses; the message names the flag, file or key and says what was expected."""
