"""Counted words, the same in the console, the CLI and the action services' messages."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """`1 host`, `2 hosts`: English plural by adding s (every word vmdeck counts takes it)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
