"""Playlist history: order keys that survive shifts, and the rows a version writes.

A playlist's order is kept as an integer *order key* per track
(`playlist_tracks.position`, and `sort_key` in `playlist_track_spans`), not as a
0-based rank: inserting one track at the top would otherwise shift, and so
rewrite, every later row. On a new state, the tracks that keep their old keys
are the longest run of tracks whose old keys are still in increasing order (a
longest increasing subsequence): everything else present before was *moved*
and gets a new key between its new neighbours, like an added track. So an
insertion at the top is one added track, a track dragged from the bottom to
the top is one moved track, and a refresh writes rows in proportion to what
changed. When two neighbours' keys leave no room, the whole playlist is
renumbered (`ORDER_GAP` apart): O(n) writes, after about 20 insertions at one
spot.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Max

from warehouse.models import Playlist, PlaylistVersion
from warehouse.schema import ORDER_GAP

if TYPE_CHECKING:
    from warehouse.loader import PlaylistDimension

SPANS = "playlist_track_spans"
SPAN_COLUMNS = ("playlist_id", "track_id", "valid_from", "valid_to", "sort_key", "occurrences")
# Keeps `track_id IN (…)` well under SQLite's bound-parameter limit.
ID_CHUNK = 500
SPAN_CHUNK = 5000


@dataclass(frozen=True)
class Present:
    """What the warehouse holds of a track present now."""

    key: int
    occurrences: int


@dataclass
class OrderPlan:
    """How one load changes a playlist's tracks, and the keys of its new rows."""

    keys: list[int | None]  # per new row, in the rows' order
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    # Same place, another number of occurrences: a new span, no event.
    recounted: list[str] = field(default_factory=list)
    renumbered: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.recounted)

    def reopened(self) -> set[str]:
        """Tracks whose span closes (if one is open) and opens again."""
        return set(self.moved) | set(self.recounted)


def plan_order(
    present: Mapping[str, Present],
    track_ids: Sequence[str],
    positions: Sequence[int | None],
    occurrences: Sequence[int],
) -> OrderPlan:
    """Order keys for the new rows (`track_ids` with their 0-based `positions`),
    given the tracks present before; None where a position is missing, so the
    table's NOT NULL refuses the row as before."""
    order = sorted(
        (position, index) for index, position in enumerate(positions) if position is not None
    )
    ranked = [index for _, index in order]  # row indexes in playlist order
    old_keys = [present[track_ids[i]].key if track_ids[i] in present else None for i in ranked]
    kept = longest_increasing(old_keys)
    new_keys = _fill_keys(old_keys, kept)
    plan = OrderPlan(keys=[None] * len(track_ids))
    if new_keys is None:
        plan.renumbered = True
        new_keys = [(rank + 1) * ORDER_GAP for rank in range(len(ranked))]
    new_ids = set(track_ids)
    for rank, index in enumerate(ranked):
        track_id = track_ids[index]
        plan.keys[index] = new_keys[rank]
        before = present.get(track_id)
        if before is None:
            plan.added.append(track_id)
        elif rank not in kept:
            plan.moved.append(track_id)
        elif before.occurrences != occurrences[index]:
            plan.recounted.append(track_id)
    plan.removed = [track_id for track_id in present if track_id not in new_ids]
    return plan


def longest_increasing(keys: Sequence[int | None]) -> set[int]:
    """Indexes of a longest strictly increasing subsequence of the non-None keys."""
    tails: list[int] = []  # smallest tail key of an increasing run of each length
    tail_index: list[int] = []
    previous = [-1] * len(keys)
    for index, key in enumerate(keys):
        if key is None:
            continue
        if not tails or key > tails[-1]:  # the usual case in a list mostly in order
            length = len(tails)
            tails.append(key)
            tail_index.append(index)
        else:
            length = bisect.bisect_left(tails, key)
            tails[length] = key
            tail_index[length] = index
        if length:
            previous[index] = tail_index[length - 1]
    kept: set[int] = set()
    index = tail_index[-1] if tail_index else -1
    while index >= 0:
        kept.add(index)
        index = previous[index]
    return kept


def longest_increasing_length(keys: Sequence[int | None]) -> int:
    """The length of `longest_increasing(keys)`, without finding the run (no links
    to follow back): what a count of moves needs."""
    tails: list[int] = []  # smallest tail key of an increasing run of each length
    for key in keys:
        if key is None:
            continue
        if not tails or key > tails[-1]:
            tails.append(key)
        else:
            tails[bisect.bisect_left(tails, key)] = key
    return len(tails)


def _fill_keys(old_keys: Sequence[int | None], kept: set[int]) -> list[int] | None:
    """Kept ranks keep their old key; every run of others is spread between its
    kept neighbours (ORDER_GAP apart past either end). None when a run does not fit."""
    keys: list[int] = [0] * len(old_keys)
    run: list[int] = []
    low: int | None = None
    for rank in range(len(old_keys) + 1):
        if rank < len(old_keys) and rank not in kept:
            run.append(rank)
            continue
        high = old_keys[rank] if rank < len(old_keys) else None
        spread = _spread(low, high, len(run))
        if spread is None:
            return None
        for run_rank, key in zip(run, spread, strict=True):
            keys[run_rank] = key
        if rank < len(old_keys):
            assert high is not None
            keys[rank] = low = high
        run = []
    return keys


def _spread(low: int | None, high: int | None, count: int) -> list[int] | None:
    """`count` increasing keys strictly between `low` and `high` (None: open end)."""
    if not count:
        return []
    if low is None and high is None:
        return [(i + 1) * ORDER_GAP for i in range(count)]
    if low is None:
        assert high is not None
        return [high - (count - i) * ORDER_GAP for i in range(count)]
    if high is None:
        return [low + (i + 1) * ORDER_GAP for i in range(count)]
    step = (high - low) // (count + 1)
    if step < 1:
        return None
    return [low + (i + 1) * step for i in range(count)]


@dataclass(frozen=True)
class VersionMade:
    """The version a load made, with its counts."""

    version: int
    added: int
    removed: int
    moved: int


def record_versions(
    cursor: CursorWrapper,
    snapshots: Sequence[PlaylistDimension],
    frames: Sequence[pd.DataFrame],
    plans: Sequence[OrderPlan],
    known: Mapping[str, Playlist],
    now: datetime,
) -> list[VersionMade | None]:
    """Write the next version of each playlist that changed (in the loader's
    transaction, after its dimension row was locked); what each load made."""
    last = _last_versions([snapshot.playlist_id for snapshot in snapshots])
    made: list[VersionMade | None] = []
    versions: list[PlaylistVersion] = []
    opened: list[Iterator[tuple[Any, ...]]] = []
    for snapshot, rows, plan in zip(snapshots, frames, plans, strict=True):
        previous = last.get(snapshot.playlist_id)
        if previous is not None and not _changed(snapshot, known.get(snapshot.playlist_id), plan):
            made.append(None)
            continue
        number = (previous or 0) + 1
        first = previous is None
        result = VersionMade(
            version=number,
            added=len(rows) if first else len(plan.added),
            removed=0 if first else len(plan.removed),
            moved=0 if first else len(plan.moved),
        )
        made.append(result)
        versions.append(_version_row(snapshot, rows, result, now))
        if not first:
            _close_spans(cursor, snapshot.playlist_id, plan, number)
            opened.append(_opened_spans(snapshot.playlist_id, rows, plan, number))
    firsts = [version.playlist_id for version in versions if version.version == 1]
    # A playlist without versions has no spans; left-overs of a deleted playlist would clash.
    _drop_spans(cursor, firsts)
    open_first_spans(cursor, firsts)
    PlaylistVersion.objects.bulk_create(versions, batch_size=ID_CHUNK)
    # In chunks: a first import of a large file opens a span per row.
    spans = itertools.chain.from_iterable(opened)
    while chunk := list(itertools.islice(spans, SPAN_CHUNK)):
        _insert_spans(cursor, chunk)
    return made


def open_first_spans(cursor: CursorWrapper, playlist_ids: list[str]) -> None:
    """Version 1 opens a span per present row, copied from the rows the loader
    has just written (set-based: a first import of an MPD slice opens 60,000)."""
    for start in range(0, len(playlist_ids), ID_CHUNK):
        chunk = playlist_ids[start : start + ID_CHUNK]
        cursor.execute(
            f"INSERT INTO {SPANS} ({', '.join(SPAN_COLUMNS)}) "
            "SELECT playlist_id, track_id, 1, NULL, position, occurrences FROM playlist_tracks "
            f"WHERE playlist_id IN ({', '.join(['%s'] * len(chunk))}) AND removed_at IS NULL",
            chunk,
        )


def _drop_spans(cursor: CursorWrapper, playlist_ids: list[str]) -> None:
    for start in range(0, len(playlist_ids), ID_CHUNK):
        chunk = playlist_ids[start : start + ID_CHUNK]
        cursor.execute(
            f"DELETE FROM {SPANS} WHERE playlist_id IN ({', '.join(['%s'] * len(chunk))})", chunk
        )


def _last_versions(playlist_ids: list[str]) -> dict[str, int]:
    last: dict[str, int] = {}
    for start in range(0, len(playlist_ids), ID_CHUNK):
        chunk = playlist_ids[start : start + ID_CHUNK]
        rows = (
            PlaylistVersion.objects.filter(playlist_id__in=chunk)
            .values("playlist_id")
            .annotate(last=Max("version"))
            .values_list("playlist_id", "last")
        )
        last.update(rows)
    return last


def _changed(snapshot: PlaylistDimension, before: Playlist | None, plan: OrderPlan) -> bool:
    if plan.changed or before is None:
        return True
    described = (snapshot.name, snapshot.description, snapshot.image_url)
    if described != (before.name, before.description, before.image_url):
        return True
    return bool(snapshot.snapshot_id) and snapshot.snapshot_id != before.snapshot_id


def _version_row(
    snapshot: PlaylistDimension, rows: pd.DataFrame, made: VersionMade, now: datetime
) -> PlaylistVersion:
    duration = rows["track_duration_ms"].sum() if len(rows) else 0
    return PlaylistVersion(
        playlist_id=snapshot.playlist_id,
        version=made.version,
        snapshot_id=snapshot.snapshot_id,
        seen_at=now,
        source=snapshot.source,
        name=snapshot.name,
        description=snapshot.description,
        image_url=snapshot.image_url,
        tracks=len(rows),
        duration_ms=int(duration) if pd.notna(duration) else 0,
        added=made.added,
        removed=made.removed,
        moved=made.moved,
    )


def _close_spans(cursor: CursorWrapper, playlist_id: str, plan: OrderPlan, number: int) -> None:
    """End the open spans of the tracks that left, moved or were recounted."""
    if plan.renumbered:
        cursor.execute(
            f"UPDATE {SPANS} SET valid_to = %s WHERE playlist_id = %s AND valid_to IS NULL",
            [number, playlist_id],
        )
        return
    closing = sorted(set(plan.removed) | plan.reopened())
    for start in range(0, len(closing), ID_CHUNK):
        chunk = closing[start : start + ID_CHUNK]
        cursor.execute(
            f"UPDATE {SPANS} SET valid_to = %s WHERE playlist_id = %s AND valid_to IS NULL "
            f"AND track_id IN ({', '.join(['%s'] * len(chunk))})",
            [number, playlist_id, *chunk],
        )


def _opened_spans(
    playlist_id: str, rows: pd.DataFrame, plan: OrderPlan, number: int
) -> Iterator[tuple[Any, ...]]:
    """New spans of a later version: every track for a renumbering, else the
    tracks added, moved or recounted (a first version's: `open_first_spans`)."""
    opening = None if plan.renumbered else set(plan.added) | plan.reopened()
    return (
        (playlist_id, track_id, number, None, int(key), int(occurrences))
        for track_id, key, occurrences in zip(
            rows["track_id"], rows["position"], rows["occurrences"], strict=True
        )
        if opening is None or track_id in opening
    )


def _insert_spans(cursor: CursorWrapper, spans: list[tuple[Any, ...]]) -> None:
    if not spans:
        return
    sql = f"INSERT INTO {SPANS} ({', '.join(SPAN_COLUMNS)}) VALUES "
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values  # type: ignore[import-untyped]

        # One statement per 1,000 rows instead of executemany's one per row.
        with connection.wrap_database_errors:
            execute_values(cursor.cursor, sql + "%s", spans, page_size=1000)
    else:
        cursor.executemany(sql + f"({', '.join(['%s'] * len(SPAN_COLUMNS))})", spans)


# How a moment is written wherever a person picks a past state (`manage.py
# history --as-of`, the dashboard's "as of" date): as the versions list prints it.
MOMENT_FORMATS = "an ISO date (2026-01-31) or an ISO date and time (2026-01-31T18:00:00+00:00)"


def parse_moment(text: str, *, day_end: bool = True) -> datetime:
    """An ISO date (the end of that day in UTC, or its start with `day_end=False`)
    or date and time (UTC unless it has an offset). ValueError if it is neither."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max if day_end else time.min, tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
