"""Load transformed rows into `playlist_tracks`, idempotently.

For one playlist, inside one transaction:
1. the rows go into a temporary staging table (PostgreSQL: COPY; SQLite:
   executemany), stamped with the snapshot's `last_seen_at`;
2. one `INSERT … SELECT … ON CONFLICT (playlist_id, track_id) DO UPDATE` merges
   them, updating only rows whose content differs: re-loading the same snapshot
   writes nothing;
3. present rows missing from the staging table are marked `removed_at`; a track
   that comes back has it cleared by step 2.
A failure anywhere rolls the whole playlist back.
"""

import io
import json
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
    now = now or timezone.now()
    with transaction.atomic():
        playlist = _upsert_playlist(snapshot, now)
        seen_at = playlist.snapshot_seen_at
        with connection.cursor() as cursor:
            existing = _present_and_removed_ids(cursor, snapshot.playlist_id)
            records = _records(rows, seen_at=seen_at, now=now)
            _fill_staging(cursor, records)
            written = _merge_staging(cursor)
            removed = _mark_removed(cursor, snapshot.playlist_id, now)
            cursor.execute(f"DROP TABLE {STAGING}")
    keys = set(rows["track_id"])
    inserted = len(keys - existing)
    return LoadResult(
        rows_inserted=inserted,
        rows_updated=written - inserted,
        rows_unchanged=len(keys) - written,
        rows_removed=removed,
    )


def _upsert_playlist(snapshot, now):
    playlist = Playlist.objects.select_for_update().filter(pk=snapshot.playlist_id).first()
    same_snapshot = (
        playlist is not None
        and snapshot.snapshot_id
        and playlist.snapshot_id == snapshot.snapshot_id
        and playlist.snapshot_seen_at is not None
    )
    fields = {
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
    playlist, _ = Playlist.objects.update_or_create(pk=snapshot.playlist_id, defaults=fields)
    return playlist


def _present_and_removed_ids(cursor, playlist_id):
    cursor.execute(f"SELECT track_id FROM {TABLE} WHERE playlist_id = %s", [playlist_id])
    return {track_id for (track_id,) in cursor.fetchall()}


def _records(rows, *, seen_at, now):
    """Rows as tuples in COLUMN_NAMES order, with bookkeeping columns added."""
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
        cursor.executemany(
            f"INSERT INTO {STAGING} ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
            [_sqlite_values(record) for record in records],
        )


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


def _sqlite_values(record):
    values = []
    for value, column in zip(record, COLUMN_NAMES, strict=True):
        if value is not None and column in JSON_COLUMNS:
            value = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
    return values


def _merge_staging(cursor):
    """Merge staging into the table; the number of rows inserted or changed."""
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    updated = [column for column in COLUMN_NAMES if column not in KEY + INSERT_ONLY]
    compared = [column for column in COLUMN_NAMES if column not in NOT_COMPARED]
    columns = ", ".join(COLUMN_NAMES)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    cursor.execute(
        f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {STAGING} WHERE true "
        f"ON CONFLICT (playlist_id, track_id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in updated)
        + " WHERE "
        + " OR ".join(f"{TABLE}.{column} {distinct} excluded.{column}" for column in compared)
    )
    return cursor.rowcount


def _mark_removed(cursor, playlist_id, now):
    cursor.execute(
        f"UPDATE {TABLE} SET removed_at = %s, loaded_at = %s "
        f"WHERE playlist_id = %s AND removed_at IS NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {STAGING} s WHERE s.track_id = {TABLE}.track_id)",
        [_db_datetime(now), _db_datetime(now), playlist_id],
    )
    return cursor.rowcount


def _db_datetime(value):
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)
