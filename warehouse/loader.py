"""Load transformed rows into `playlist_tracks`, idempotently.

For one playlist (`load_playlist`) or a batch of them (`load_playlists`, used
by bulk imports such as the Million Playlist Dataset), inside one transaction:
1. the dimension rows are upserted and the rows go into one temporary staging
   table (PostgreSQL: COPY; SQLite: executemany), stamped with each snapshot's
   `last_seen_at`;
2. one `INSERT … SELECT … ON CONFLICT (playlist_id, track_id) DO UPDATE` merges
   them, updating only rows whose content differs: re-loading the same snapshot
   writes nothing;
3. present rows of these playlists missing from the staging table are marked
   `removed_at`; a track that comes back has it cleared by step 2.
A failure anywhere rolls the whole batch back.
"""

import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from warehouse.models import Playlist
from warehouse.schema import COLUMN_NAMES, TABLE

STAGING = "playlist_tracks_staging"
KEY = ("playlist_id", "track_id")
# Kept from the first load of a row; everything else follows the source.
INSERT_ONLY = ("first_seen_at",)
# Bookkeeping that changes on every write, so it must not decide whether to write.
NOT_COMPARED = KEY + INSERT_ONLY + ("loaded_at",)
JSON_COLUMNS = ("track_genres", "artist_ids", "artist_names")
# Keeps `playlist_id IN (…)` well under SQLite's bound-parameter limit.
ID_CHUNK = 500
PLAYLIST_FIELDS = (
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
)


@dataclass(frozen=True)
class LoadResult:
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_removed: int

    @property
    def rows_loaded(self):
        return self.rows_inserted + self.rows_updated + self.rows_unchanged


def load_playlist(snapshot, rows: pd.DataFrame, *, now: datetime | None = None) -> LoadResult:
    """Upsert one playlist's rows and its dimension row; mark removed tracks."""
    return load_playlists([(snapshot, rows)], now=now)[0]


def load_playlists(
    batch: list[tuple[object, pd.DataFrame]], *, now: datetime | None = None
) -> list[LoadResult]:
    """Load many (snapshot, rows) pairs in one transaction through one staging table,
    with `load_playlist`'s semantics for each; results in the batch's order."""
    now = now or timezone.now()
    playlist_ids = [snapshot.playlist_id for snapshot, _ in batch]
    _refuse_repeated_playlists(playlist_ids)
    frames = [rows for _, rows in batch]
    with transaction.atomic():
        seen_at = _upsert_playlists([snapshot for snapshot, _ in batch], now)
        rows = _concat(frames)
        with connection.cursor() as cursor:
            existing = _present_and_removed_ids(cursor, playlist_ids)
            records = _records(rows, seen_at=rows["playlist_id"].map(seen_at), now=now)
            _fill_staging(cursor, records)
            written = _merge_staging(cursor)
            removed = _mark_removed(cursor, playlist_ids, now)
            cursor.execute(f"DROP TABLE {STAGING}")
    return [
        _load_result(set(rows["track_id"]), existing[pid], written[pid], removed[pid])
        for pid, rows in zip(playlist_ids, frames, strict=True)
    ]


def _refuse_repeated_playlists(playlist_ids):
    # The same key twice in one staging table would make the merge touch a row twice.
    repeated = [pid for pid, count in Counter(playlist_ids).items() if count > 1]
    if repeated:
        raise ValueError(f"Playlists appear more than once in one load: {repeated[:5]}")


def _load_result(keys, existing, written, removed):
    inserted = len(keys - existing)
    return LoadResult(
        rows_inserted=inserted,
        rows_updated=written - inserted,
        rows_unchanged=len(keys) - written,
        rows_removed=removed,
    )


def _concat(frames):
    # Empty frames carry no rows but can carry odd dtypes; leave them out.
    non_empty = [frame for frame in frames if len(frame)]
    if not non_empty:
        return frames[0].iloc[0:0]
    return pd.concat(non_empty, ignore_index=True)


def _upsert_playlists(snapshots, now):
    """Upsert the dimension rows; each playlist's `snapshot_seen_at`, by id."""
    known = _locked_playlists([snapshot.playlist_id for snapshot in snapshots])
    playlists = [
        Playlist(
            pk=snapshot.playlist_id,
            **_playlist_fields(snapshot, known.get(snapshot.playlist_id), now),
        )
        for snapshot in snapshots
    ]
    Playlist.objects.bulk_create(
        playlists,
        update_conflicts=True,
        unique_fields=["playlist_id"],
        update_fields=list(PLAYLIST_FIELDS),
        batch_size=ID_CHUNK,
    )
    return {playlist.playlist_id: playlist.snapshot_seen_at for playlist in playlists}


def _locked_playlists(playlist_ids):
    """Existing dimension rows, locked (PostgreSQL) so concurrent loads of the
    same playlist queue up; ordered by id so two batches never deadlock."""
    known = {}
    for chunk in _chunks(sorted(playlist_ids)):
        rows = Playlist.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        known.update((playlist.playlist_id, playlist) for playlist in rows)
    return known


def _playlist_fields(snapshot, playlist, now):
    same_snapshot = (
        playlist is not None
        and snapshot.snapshot_id
        and playlist.snapshot_id == snapshot.snapshot_id
        and playlist.snapshot_seen_at is not None
    )
    return {
        "name": snapshot.name,
        "description": snapshot.description,
        "owner_id": snapshot.owner_id,
        "owner_name": snapshot.owner_name,
        "image_url": snapshot.image_url,
        "public": snapshot.public,
        "collaborative": snapshot.collaborative,
        "source": snapshot.source,
        "snapshot_id": snapshot.snapshot_id,
        "snapshot_seen_at": playlist.snapshot_seen_at if same_snapshot else now,
        "total_items": snapshot.total_items,
        "last_ingested_at": now,
    }


def _present_and_removed_ids(cursor, playlist_ids):
    """Track ids already in the table, by playlist id."""
    existing = defaultdict(set)
    for chunk in _chunks(playlist_ids):
        cursor.execute(
            f"SELECT playlist_id, track_id FROM {TABLE} WHERE playlist_id IN ({_marks(chunk)})",
            chunk,
        )
        for playlist_id, track_id in cursor.fetchall():
            existing[playlist_id].add(track_id)
    return existing


def _records(rows, *, seen_at, now):
    """Rows as tuples in COLUMN_NAMES order, with bookkeeping columns added.
    `seen_at` is one time or, for a batch, a Series aligned with the rows."""
    frame = rows.assign(
        first_seen_at=now, last_seen_at=seen_at, removed_at=None, loaded_at=now
    ).loc[:, list(COLUMN_NAMES)]
    # object dtype + None: one representation of "missing" for both drivers.
    frame = frame.astype(object).where(frame.notna(), None)
    return list(frame.itertuples(index=False, name=None))


def _fill_staging(cursor, records):
    if connection.vendor == "postgresql":
        cursor.execute(
            f"CREATE TEMP TABLE {STAGING} (LIKE {TABLE} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        _copy(cursor, records)
    else:
        cursor.execute(f"CREATE TEMP TABLE {STAGING} AS SELECT * FROM {TABLE} WHERE 0")
        placeholders = ", ".join(["%s"] * len(COLUMN_NAMES))
        # The same few times (now, seen_at) are on every row: adapt each once.
        adapted = {}
        cursor.executemany(
            f"INSERT INTO {STAGING} ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
            [_sqlite_values(record, adapted) for record in records],
        )
    # Without it, marking removed rows compares every row with every staged row
    # (quadratic: minutes for an MPD slice on SQLite). PostgreSQL also needs
    # statistics on a temp table, which autovacuum never analyzes.
    cursor.execute(f"CREATE INDEX {STAGING}_key ON {STAGING} (playlist_id, track_id)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {STAGING}")


def _copy(cursor, records):
    """COPY records into the staging table in PostgreSQL's text format."""
    buffer = io.StringIO()
    for record in records:
        buffer.write(
            "\t".join(
                _copy_text(value, column)
                for value, column in zip(record, COLUMN_NAMES, strict=True)
            )
        )
        buffer.write("\n")
    buffer.seek(0)
    # copy_expert lives on the psycopg2 cursor under Django's wrapper; the
    # error wrapper turns its errors into Django's (IntegrityError, …).
    with connection.wrap_database_errors:
        cursor.cursor.copy_expert(
            f"COPY {STAGING} ({', '.join(COLUMN_NAMES)}) FROM STDIN WITH (FORMAT text)", buffer
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value, column):
    if value is None:
        return "\\N"
    if column in JSON_COLUMNS:
        value = json.dumps(list(value), ensure_ascii=False)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _sqlite_values(record, adapted):
    values = []
    for value, column in zip(record, COLUMN_NAMES, strict=True):
        if value is not None and column in JSON_COLUMNS:
            value = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, datetime):
            if value not in adapted:
                adapted[value] = connection.ops.adapt_datetimefield_value(value)
            value = adapted[value]
        values.append(value)
    return values


def _merge_staging(cursor):
    """Merge staging into the table; rows inserted or changed, by playlist id."""
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    updated = [column for column in COLUMN_NAMES if column not in KEY + INSERT_ONLY]
    compared = [column for column in COLUMN_NAMES if column not in NOT_COMPARED]
    columns = ", ".join(COLUMN_NAMES)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    # RETURNING yields exactly the rows inserted or updated (not those the
    # DO UPDATE … WHERE skipped), so a batch gets per-playlist counts.
    cursor.execute(
        f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {STAGING} WHERE true "
        f"ON CONFLICT (playlist_id, track_id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in updated)
        + " WHERE "
        + " OR ".join(f"{TABLE}.{column} {distinct} excluded.{column}" for column in compared)
        + f" RETURNING {TABLE}.playlist_id"
    )
    return Counter(playlist_id for (playlist_id,) in cursor.fetchall())


def _mark_removed(cursor, playlist_ids, now):
    """Mark present rows of these playlists that are not staged; count by playlist id."""
    removed = Counter()
    for chunk in _chunks(playlist_ids):
        cursor.execute(
            f"UPDATE {TABLE} SET removed_at = %s, loaded_at = %s "
            f"WHERE playlist_id IN ({_marks(chunk)}) AND removed_at IS NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {STAGING} s WHERE s.playlist_id = {TABLE}.playlist_id "
            f"AND s.track_id = {TABLE}.track_id) RETURNING playlist_id",
            [_db_datetime(now), _db_datetime(now), *chunk],
        )
        removed.update(playlist_id for (playlist_id,) in cursor.fetchall())
    return removed


def _chunks(values):
    values = list(values)
    return [values[start : start + ID_CHUNK] for start in range(0, len(values), ID_CHUNK)]


def _marks(values):
    return ", ".join(["%s"] * len(values))


def _db_datetime(value):
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)
