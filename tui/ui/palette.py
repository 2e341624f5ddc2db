"""The command palette (ctrl+p): every action of the console, searchable by name.

The app lists its actions (`VmdeckApp.palette_actions`); this provider only matches and runs them, so
the palette and the keys can never drift apart.
"""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider


class VmdeckCommands(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.app.palette_actions():  # type: ignore[attr-defined]
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, callback in self.app.palette_actions():  # type: ignore[attr-defined]
            yield DiscoveryHit(title, callback, text=title, help=help_text)
