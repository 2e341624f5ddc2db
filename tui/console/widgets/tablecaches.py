"""A DataTable whose render caches, when emptied, leave no cycles for the garbage collector.

Textual's `LRUCache` keeps its entries in a ring of `[prev, next, key, value]` lists; `clear()`
drops the dict and the head, which leaves the whole ring (every link, its key tuple and its
rendered segments) as one cycle that only the cyclic collector can free. DataTable empties its
caches on every load, sort and style update (`_clear_caches`, `notify_style_update`): the cell cache
alone holds up to 10,000 entries, seven or so objects each. Those rings had lived long enough to
be in the oldest generation, so each full collection walked and freed them: most of the 5-20k
objects of cyclic garbage each full collection found at 10,000 hosts (bench/ui_keys.py, about one
full collection a minute while snapshots arrive, 20-45 ms each).

Here each link is emptied before the cache is (one C-level `list.clear` per entry, a few tenths
of a ms for 10,000), so reference counting frees the entries at once. `LRUCache._cache` is a
Textual 8 private name (pinned < 9): a cache without it is simply cleared as before.
"""

from __future__ import annotations

from collections import deque

from textual.cache import LRUCache
from textual.widgets import DataTable

# DataTable's LRU caches (Textual 8 names): the ones `_clear_caches` / `notify_style_update` empty.
LRU_CACHES = (
    "_row_render_cache",
    "_cell_render_cache",
    "_row_renderable_cache",
    "_line_cache",
    "_offset_cache",
    "_ordered_row_cache",
)


def unlink(cache: object) -> None:
    """Empty an LRUCache without leaving its ring of links as cyclic garbage."""
    if not isinstance(cache, LRUCache):
        return
    links = getattr(cache, "_cache", None)
    if isinstance(links, dict):
        deque(map(list.clear, links.values()), maxlen=0)  # each link: [prev, next, key, value]
    cache.clear()


class UnlinkedCaches(DataTable[str]):
    """DataTable's cache clearing, with each LRU cache's ring broken first (see the module docstring)."""

    def _unlink_caches(self) -> None:
        for name in LRU_CACHES:
            unlink(getattr(self, name, None))

    def _clear_caches(self) -> None:
        self._unlink_caches()
        super()._clear_caches()

    def notify_style_update(self) -> None:
        self._unlink_caches()
        super().notify_style_update()
