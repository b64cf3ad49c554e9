"""The figures of the pages across a person's playlists, kept in the shared cache.

My library's figures, the overlap map, the duplicate groups (strict and loose) and a
comparison's counts are each a pure function of the present rows of the playlists
the person may see. They are kept in `settings.CACHES["default"]` (the
`django_cache` table, or Redis: seen by every web process and worker) for
ACROSS_CACHE_SECONDS under

    across:<CACHE_FORMAT>:user-<user id>:<what>:<stamp>

where the stamp (`queries.playlists_stamp`) changes with any load of one of those
playlists and with any change of which playlists they are. Nothing is ever
invalidated: a change makes another key (docs/warehouse.md, "Caching the pages
across playlists").

Two callers fill these entries: the pages (`dashboard.views.across`, on a view that
finds nothing), and the warm task after a load (`ingestion.across_warm`, through
`warm`), so that the next view finds them. Both go through `cached`, with the same
`what` and the same ids, so they meet in the same key. This module does not know
who may see what: its callers pass the ids the access rule returned.
"""

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from warehouse import queries

logger = logging.getLogger(__name__)

# Raised whenever what is cached changes shape: older entries are then never read.
CACHE_FORMAT = 1


def key(user_id: int, what: str, playlist_ids: Sequence[str]) -> str:
    """The cache key of `what` over the playlists `playlist_ids` for the person
    `user_id`: the person, and the stamp of the playlists' loads (read now, before
    the data). Another person, another playlist, an access change or any load of one
    of them: another key."""
    return _key(user_id, what, queries.playlists_stamp(playlist_ids=playlist_ids))


def _key(user_id: int, what: str, stamp: str) -> str:
    return f"across:{CACHE_FORMAT}:user-{user_id}:{what}:{stamp}"


def cached(
    user_id: int,
    what: str,
    playlist_ids: Sequence[str],
    compute: Callable[[], Any] | None,
    *,
    compute_if_missing: bool = True,
) -> Any:
    """`compute()`, a function of the present rows of `playlist_ids` alone (the ones
    the person may see: the caller asked the access rule), kept in the shared cache
    for ACROSS_CACHE_SECONDS. Only the first view after a change counts; a cache
    that fails only costs the counting."""
    seconds = settings.ACROSS_CACHE_SECONDS
    if seconds <= 0:
        return compute() if compute and compute_if_missing else None
    name = key(user_id, what, playlist_ids)
    try:
        found = cache.get(name)
    except Exception:  # an unreachable Redis must not take the pages down
        logger.warning("across cache: reading %s failed", what, exc_info=True)
        found = None
    if found is not None or not compute_if_missing or compute is None:
        return found
    value = compute()
    try:
        cache.set(name, value, seconds)
    except Exception:
        logger.warning("across cache: writing %s failed", what, exc_info=True)
    return value


def comparison(playlist_ids: Sequence[str]) -> str:
    """The `what` of a comparison of the playlists in this order (its columns
    follow it): the page and the warm task keep it under the same key."""
    ordered = hashlib.sha256("\x1f".join(playlist_ids).encode()).hexdigest()[:16]
    return f"compare:{ordered}"


# --- what the warm task fills after a load ----------------------------------------------
# `what` → the figure over the person's visible playlists (sorted), exactly as the
# pages ask for it (`dashboard.views.across`: library, overlap, duplicates without
# `?playlist=`). Comparisons depend on which playlists are chosen (19,900 pairs of
# 200 playlists): only the ACROSS_WARM_COMPARISONS pairs sharing the most tracks,
# the overlap map's first, are warmed after these (`_warm_comparisons`).
WARMED: dict[str, Callable[[list[str]], Any]] = {
    "library": lambda ids: queries.library_summary(playlist_ids=ids),
    "overlap": lambda ids: queries.overlap_matrix(playlist_ids=ids),
    "duplicates:strict": lambda ids: queries.duplicate_plans(playlist_ids=ids, loose=False),
    "duplicates:loose": lambda ids: queries.duplicate_plans(playlist_ids=ids, loose=True),
}


@dataclass
class Warmed:
    """What one warm did: the figures it counted, those it found kept already, and
    whether it stopped because a newer load moved the stamp meanwhile."""

    computed: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    stale: bool = False
    comparisons: int = 0  # pairs compared (each kept in both orders)

    def __str__(self) -> str:
        text = f"computed {', '.join(self.computed) or 'nothing'}"
        if self.comparisons:
            text += f"; compared {self.comparisons} pair{'s' if self.comparisons > 1 else ''}"
        if self.found:
            text += f"; already kept: {', '.join(self.found)}"
        return text + ("; stopped: a newer load moved the stamp" if self.stale else "")


def warm(user_id: int, playlist_ids: Sequence[str]) -> Warmed:
    """Count and keep every figure of WARMED for the person over `playlist_ids` (the
    playlists they may see), under the stamp of now.

    Each figure reads the stamp before its data, as a view does, so what it keeps
    is never newer than its key. If the stamp moves between two figures, a load
    committed meanwhile: the warm stops (that load asks for its own warm, which
    counts against the newer stamp). Raises if the cache fails: the task then shows
    as failed in the task history; a page still counts for itself."""
    ids = sorted(set(playlist_ids))
    done = Warmed()
    seconds = settings.ACROSS_CACHE_SECONDS
    if seconds <= 0:
        return done
    first_stamp = None
    kept: dict[str, Any] = {}
    for what, compute in WARMED.items():
        name = key(user_id, what, ids)
        stamp = name.rsplit(":", 1)[1]
        if first_stamp is None:
            first_stamp = stamp
        elif stamp != first_stamp:
            done.stale = True
            break
        kept[what] = cache.get(name)
        if kept[what] is not None:  # a view got there first
            done.found.append(what)
            continue
        kept[what] = compute(ids)
        cache.set(name, kept[what], seconds)
        done.computed.append(what)
    if not done.stale:
        done.comparisons = _warm_comparisons(user_id, kept["overlap"], seconds)
    return done


def _warm_comparisons(user_id: int, overlap: queries.Overlap, seconds: int) -> int:
    """Compare the ACROSS_WARM_COMPARISONS pairs sharing the most tracks in
    `overlap` (the person's overlap map, just kept: its first pairs, the comparisons
    it leads to), each kept in both orders (the map links a cell either way); how
    many pairs were compared. A pair kept already is left as it is."""
    compared = 0
    for pair in overlap.pairs[: max(0, settings.ACROSS_WARM_COMPARISONS)]:
        forward, backward = [pair["a"], pair["b"]], [pair["b"], pair["a"]]
        # One stamp for both orders: it is of the pair's ids, whatever their order.
        stamp = queries.playlists_stamp(playlist_ids=forward)
        names = [_key(user_id, comparison(ids), stamp) for ids in (forward, backward)]
        if all(cache.get(name) is not None for name in names):
            continue
        result = queries.compare_playlists(playlist_ids=forward)
        # The counts are keyed by playlist: the other order only lists them the other way.
        cache.set(names[0], result, seconds)
        cache.set(names[1], dataclasses.replace(result, playlist_ids=backward), seconds)
        compared += 1
    return compared
