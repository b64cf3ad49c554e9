"""Bulk loads of playlists new to the warehouse, set-based: an MPD slice at COPY speed.

`warehouse.loader.load_playlists` serves every case (refreshes, removals, moves)
and pays for it per playlist and per value: a frame per playlist, an order plan
per playlist, each value turned into a Python object and back into text. An MPD
slice is 1,000 playlists the warehouse has never seen, whose rows the reader has
already collapsed (one row per track, its occurrences counted, its rank in the
playlist known). For them every step of the loader reduces to a few statements:

1. the dimension rows: `INSERT … ON CONFLICT DO NOTHING RETURNING`: any playlist
   already there (or leftovers of one: rows, versions, spans) and nothing is
   written: `load_new_playlists` returns None and the caller takes the loader's
   path, which handles refreshes (so a re-import makes the same versions);
2. the rows (nothing of these playlists is stored, so nothing to merge).
   PostgreSQL: their own values COPY into a temp table, text built a column at a
   time, BULK_CHUNK_ROWS rows per COPY; one `INSERT … SELECT` writes them into
   `playlist_tracks` with what every row shares, another opens version 1's spans
   from them. SQLite: executemany into the table, spans copied from it
   (`history.open_first_spans`, as the loader's first load);
3. version 1 of each playlist (`playlist_versions`), and
   `warehouse.signals.playlists_loaded`, as the loader sends it;
4. the warehouse-wide counts, counted in Python from the batch's own columns
   (`summaries.count_columns`, as the loader's first load counts its frame;
   ahead, off the loading thread: `count_ahead`): the year kind upserted in
   place, tracks, albums and artists appended as one row to the counts' log,
   which the import folds every IMPORT_FOLD_EVERY_SLICES slices and at its end
   (`ingestion.files.iter_ingest_path`). Last: the year kind's key is a row
   every bulk slice updates, so slices loading in parallel (on PostgreSQL,
   IMPORT_PARALLEL_SLICES) queue on it only from there to the commit. Their
   dimension rows are inserted in playlist id order: two loads of overlapping
   playlists queue on the first shared key instead of deadlocking.

All in one transaction: a failure anywhere leaves nothing of the batch. The rows,
order keys, snapshot ids, versions, spans and counts are those `load_playlists`
writes for the same playlists (tests/ingestion/files/test_mpd_bulk.py compares
the tables on both databases).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from warehouse import history, summaries
from warehouse.history import VersionMade, open_first_spans
from warehouse.loader import copy_escaped
from warehouse.models import PlaylistVersion
from warehouse.schema import ORDER_GAP, TABLE
from warehouse.signals import playlists_loaded

# The columns a bulk load writes; every other column takes its default (NULL, or
# `[]` for the JSON lists, `false` for is_local), as the loader writes them for a
# source that says nothing of them.
ROW_COLUMNS = (
    "playlist_id",
    "track_id",
    "track_name",
    "track_duration_ms",
    "track_duration_sec",
    "album_id",
    "album_name",
    "artist_ids",
    "artist_names",
    "position",
    "occurrences",
    "is_local",
    "source",
    "first_seen_at",
    "last_seen_at",
    "loaded_at",
)
PLAYLIST_COLUMNS = (
    "playlist_id",
    "name",
    "description",
    "owner_id",
    "owner_name",
    "image_url",
    "public",
    "collaborative",
    "source",
    "snapshot_id",
    "snapshot_seen_at",
    "total_items",
    "last_ingested_at",
    "created_at",
    "loads",
)
# Dimension rows per INSERT on SQLite (its bound-parameter limit is 999 on old builds).
SQLITE_PLAYLIST_CHUNK = 60
_COPY_NULL = "\\N"


@dataclass
class NewPlaylists:
    """Playlists and their rows as columns, filled by a reader (`ingestion.files.mpd`).

    Playlist `i` owns `row_counts[i]` consecutive rows, in playlist order: one
    row per distinct track, at the place of its first occurrence (`ranks` are
    0, 1, … within each playlist), with the number of its `occurrences`.
    """

    source: str
    # per playlist
    playlist_ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    collaborative: list[bool] = field(default_factory=list)
    snapshot_ids: list[str] = field(default_factory=list)
    total_items: list[int] = field(default_factory=list)
    row_counts: list[int] = field(default_factory=list)
    # per row
    track_ids: list[str] = field(default_factory=list)
    track_names: list[str] = field(default_factory=list)
    durations_ms: list[int | None] = field(default_factory=list)
    album_ids: list[str | None] = field(default_factory=list)
    album_names: list[str | None] = field(default_factory=list)
    # The primary artist: None when its URI names no Spotify artist (no id
    # listed, the name still is), as the transform does.
    artist_ids: list[str | None] = field(default_factory=list)
    artist_names: list[str] = field(default_factory=list)
    ranks: list[int] = field(default_factory=list)
    occurrences: list[int] = field(default_factory=list)
    # What the rows add to the warehouse-wide counts, when counted ahead
    # (`count_ahead`); counted in the load otherwise.
    counted: summaries.Counted | None = None


class _NotNew(Exception):
    """Something of the batch is already stored: roll back, use the loader."""


def chunk_rows() -> int:
    """Rows serialized and written at a time (BULK_CHUNK_ROWS): what bounds the
    COPY text held in memory, whatever the batch's size."""
    return max(1, int(settings.BULK_CHUNK_ROWS))


def load_new_playlists(
    batch: NewPlaylists, *, now: datetime | None = None
) -> list[VersionMade] | None:
    """Write the batch as version 1 of each of its playlists, in one transaction;
    the versions made, in the batch's order. None, with nothing written, when any
    playlist of the batch is already in the warehouse (load it with the loader)."""
    now = now or timezone.now()
    ids = batch.playlist_ids
    if len(set(ids)) != len(ids):
        raise ValueError("Playlists appear more than once in one bulk load.")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # First: claiming the dimension rows also queues a concurrent load
            # of the same playlists behind this one (the unique key).
            if _insert_playlists(cursor, batch, now) != len(ids) or _has_leftovers(cursor, ids):
                raise _NotNew
            if connection.vendor == "postgresql":
                _stage_rows(cursor, batch)
                _insert_staged(cursor, batch.source, now)
            else:
                _write_rows(cursor, batch, now)
                open_first_spans(cursor, ids)
            versions = _versions(batch)
            PlaylistVersion.objects.bulk_create(_version_rows(batch, now), batch_size=500)
            # As every load does: whoever already sees one of them has their
            # pages across playlists warmed once this commits.
            playlists_loaded.send_robust(sender=load_new_playlists, playlist_ids=ids)
            # Last: the year kind's few keys (every bulk slice's `''`) are rows
            # every concurrent load updates, locked from here to the commit, so
            # slices loading in parallel queue on them only for that moment.
            summaries.record_counted(cursor, batch.counted or count_ahead(batch))
    except _NotNew:
        return None
    return versions


def _insert_playlists(cursor: CursorWrapper, batch: NewPlaylists, now: datetime) -> int:
    """Insert the dimension rows that do not exist yet; how many were inserted.
    In playlist id order: two loads claiming some of the same playlists (two
    imports of overlapping files) lock their keys in one order, so the later
    waits for the earlier instead of each holding a key the other needs."""
    stamp = _db_datetime(now)
    rows = sorted(
        (pid, name, description, "", "", "", None, collaborative, batch.source)
        + (snapshot_id, stamp, total, stamp, stamp, 1)
        for pid, name, description, collaborative, snapshot_id, total in zip(
            batch.playlist_ids,
            batch.names,
            batch.descriptions,
            batch.collaborative,
            batch.snapshot_ids,
            batch.total_items,
            strict=True,
        )
    )
    size = len(rows) if connection.vendor == "postgresql" else SQLITE_PLAYLIST_CHUNK
    one = f"({', '.join(['%s'] * len(PLAYLIST_COLUMNS))})"
    inserted = 0
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        cursor.execute(
            f"INSERT INTO warehouse_playlists ({', '.join(PLAYLIST_COLUMNS)}) VALUES "
            + ", ".join([one] * len(chunk))
            + " ON CONFLICT (playlist_id) DO NOTHING RETURNING playlist_id",
            [value for row in chunk for value in row],
        )
        inserted += len(cursor.fetchall())
    return inserted


def _has_leftovers(cursor: CursorWrapper, playlist_ids: Sequence[str]) -> bool:
    """Rows, versions or spans of these ids without a dimension row (a playlist
    deleted by hand): the loader knows what to do with them (it merges into the
    rows, numbers after the versions, drops the spans). Each probe is `LIMIT 1`
    on an index led by `playlist_id`: a few ms whatever the table's statistics
    (mid-import, autovacuum may not have analyzed a growing table yet, and a
    `DELETE … WHERE playlist_id IN (…)` of nothing then scanned all the spans)."""
    for table in (TABLE, "playlist_versions", history.SPANS):
        for where, params in _in_chunks(playlist_ids):
            cursor.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", params)
            if cursor.fetchone():
                return True
    return False


def _in_chunks(playlist_ids: Sequence[str]) -> list[tuple[str, list[Any]]]:
    if connection.vendor == "postgresql":
        return [("playlist_id = ANY(%s)", [list(playlist_ids)])]
    return [
        (f"playlist_id IN ({', '.join(['%s'] * len(chunk))})", list(chunk))
        for chunk in (playlist_ids[i : i + 500] for i in range(0, len(playlist_ids), 500))
    ]


def count_ahead(batch: NewPlaylists) -> summaries.Counted:
    """Count what the batch adds to the warehouse-wide counts, before its load
    (no database): the importer does it in its reader thread, so the counting
    runs while the slice before loads instead of inside this one's transaction."""
    batch.counted = summaries.count_columns(_counted(batch))
    return batch.counted


def _counted(batch: NewPlaylists) -> summaries.NewRows:
    """The batch's rows as the counts read them, from its own columns (nothing
    read back from the table: mid-import, with the growing table's statistics
    stale, PostgreSQL read a slice's rows back with a bitmap scan of every
    present row). Bulk rows have no genres and no release year; their artist is
    the primary one (none counted for a URI naming no Spotify artist)."""
    return summaries.NewRows(
        track_ids=batch.track_ids,
        track_names=cast(list[str | None], batch.track_names),
        album_ids=batch.album_ids,
        album_names=batch.album_names,
        artist_ids=batch.artist_ids,
        artist_names=cast(list[str | None], batch.artist_names),
        release_years=itertools.repeat(None, len(batch.track_ids)),
        genres=(),
    )


def _versions(batch: NewPlaylists) -> list[VersionMade]:
    return [VersionMade(version=1, added=rows, removed=0, moved=0) for rows in batch.row_counts]


def _version_rows(batch: NewPlaylists, now: datetime) -> list[PlaylistVersion]:
    """Version 1 of each playlist, as `history.record_versions` writes a first one."""
    versions, start = [], 0
    for index, count in enumerate(batch.row_counts):
        durations = batch.durations_ms[start : start + count]
        start += count
        versions.append(
            PlaylistVersion(
                playlist_id=batch.playlist_ids[index],
                version=1,
                snapshot_id=batch.snapshot_ids[index],
                seen_at=now,
                source=batch.source,
                name=batch.names[index],
                description=batch.descriptions[index],
                image_url="",
                tracks=count,
                # Missing durations count 0, as the loader's pandas sum skips them.
                duration_ms=sum(ms for ms in durations if ms is not None),
                added=count,
                removed=0,
                moved=0,
            )
        )
    return versions


# --- the rows ----------------------------------------------------------------------------
# PostgreSQL: the rows' own values go through COPY into a temporary table; what
# every row shares (the load's time, the source) and what follows from a value
# (seconds from milliseconds, JSON lists from the primary artist) is added by the
# INSERT … SELECT that writes them into the table, once per statement instead of
# parsed per row: that parse (three timestamps, two JSON lists) was most of the
# server's time in a COPY of the whole rows.
STAGING = "bulk_rows_staging"
STAGED = (
    "playlist_id text",
    "track_id text",
    "track_name text",
    "track_duration_ms integer",
    "album_id text",
    "album_name text",
    "artist_id text",
    "artist_name text",
    "position bigint",
    "occurrences integer",
)


def _stage_rows(cursor: CursorWrapper, batch: NewPlaylists) -> None:
    cursor.execute(f"CREATE TEMP TABLE {STAGING} ({', '.join(STAGED)}) ON COMMIT DROP")
    owners = _row_playlist_ids(batch)
    size = chunk_rows()
    for start in range(0, len(batch.track_ids), size):
        _copy_chunk(cursor, batch, owners, start, min(start + size, len(batch.track_ids)))


def _insert_staged(cursor: CursorWrapper, source: str, now: datetime) -> None:
    """The staged rows into the table, then version 1's span of each (from the
    same staged rows, not read back through the table's index)."""
    cursor.execute(
        f"INSERT INTO {TABLE} ({', '.join(ROW_COLUMNS)}) "
        "SELECT playlist_id, track_id, track_name, track_duration_ms, "
        # The double nearest ms / 1000, as the transform's round(ms / 1000, 3).
        "track_duration_ms::double precision / 1000, album_id, album_name, "
        "CASE WHEN artist_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(artist_id) END, "
        "jsonb_build_array(artist_name), position, occurrences, false, %(source)s, "
        f"%(now)s, %(now)s, %(now)s FROM {STAGING}",
        {"now": now, "source": source},
    )
    cursor.execute(
        f"INSERT INTO {history.SPANS} ({', '.join(history.SPAN_COLUMNS)}) "
        f"SELECT playlist_id, track_id, 1, NULL, position, occurrences FROM {STAGING}"
    )
    # Dropped now, not only at commit: a caller's outer transaction may load more.
    cursor.execute(f"DROP TABLE {STAGING}")


def _copy_chunk(
    cursor: CursorWrapper, batch: NewPlaylists, owners: list[str], start: int, stop: int
) -> None:
    """COPY rows start…stop into the staging table, in PostgreSQL's text format,
    built a column at a time."""
    fields = [
        # Playlist ids are the reader's (`mpd:<int>`); track and album ids are
        # whatever a file's URIs end with, so they are escaped like any text.
        owners[start:stop],
        _escaped(batch.track_ids[start:stop]),
        _escaped(batch.track_names[start:stop]),
        [_COPY_NULL if ms is None else str(ms) for ms in batch.durations_ms[start:stop]],
        _escaped(batch.album_ids[start:stop]),
        _escaped(batch.album_names[start:stop]),
        _escaped(batch.artist_ids[start:stop]),
        _escaped(batch.artist_names[start:stop]),
        list(map(str, _keys(batch.ranks[start:stop]))),
        list(map(str, batch.occurrences[start:stop])),
    ]
    text = "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"
    buffer = io.BytesIO(text.encode())
    del text, fields
    with connection.wrap_database_errors:
        cursor.cursor.copy_expert(f"COPY {STAGING} FROM STDIN WITH (FORMAT text)", buffer)


def _escaped(values: Sequence[str | None]) -> list[str]:
    # The loader's escaping, one pass over the joined column (a list is not copied).
    return copy_escaped(cast(list[str | None], values))


# SQLite: the rows straight into the table with executemany, then the spans
# copied from them, as the loader's first load.
def _write_rows(cursor: CursorWrapper, batch: NewPlaylists, now: datetime) -> None:
    owners = _row_playlist_ids(batch)
    size = chunk_rows()
    for start in range(0, len(batch.track_ids), size):
        _insert_chunk(cursor, batch, owners, start, min(start + size, len(batch.track_ids)), now)


def _row_playlist_ids(batch: NewPlaylists) -> list[str]:
    owners: list[str] = []
    for pid, count in zip(batch.playlist_ids, batch.row_counts, strict=True):
        owners += [pid] * count
    return owners


def _keys(ranks: list[int]) -> list[int]:
    # A first load's keys: ORDER_GAP apart in playlist order (history.plan_order
    # with nothing present before).
    return [(rank + 1) * ORDER_GAP for rank in ranks]


def _json_lists(values: Sequence[str | None], *, skip_none: bool) -> list[str]:
    """Each value as a one-element JSON list (`[]` for None when `skip_none`),
    serialized as the loader does (orjson), equal values once."""
    done: dict[str | None, str] = {}
    out = []
    for value in values:
        text = done.get(value)
        if text is None:
            text = "[]" if value is None and skip_none else orjson.dumps([value]).decode()
            done[value] = text
        out.append(text)
    return out


def _insert_chunk(
    cursor: CursorWrapper,
    batch: NewPlaylists,
    owners: list[str],
    start: int,
    stop: int,
    now: datetime,
) -> None:
    """SQLite: the same rows through executemany."""
    stamp = _db_datetime(now)
    durations = batch.durations_ms[start:stop]
    columns = [
        owners[start:stop],
        batch.track_ids[start:stop],
        batch.track_names[start:stop],
        durations,
        [None if ms is None else ms / 1000 for ms in durations],
        batch.album_ids[start:stop],
        batch.album_names[start:stop],
        _json_lists(batch.artist_ids[start:stop], skip_none=True),
        _json_lists(batch.artist_names[start:stop], skip_none=False),
        _keys(batch.ranks[start:stop]),
        batch.occurrences[start:stop],
    ]
    constant = (False, batch.source, stamp, stamp, stamp)
    cursor.executemany(
        f"INSERT INTO {TABLE} ({', '.join(ROW_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))})",
        [row + constant for row in zip(*columns, strict=True)],
    )


def _db_datetime(value: datetime) -> Any:
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)
