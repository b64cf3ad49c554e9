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
   `removed_at`; a track that comes back has it cleared by step 2;
4. the warehouse-wide counts (`warehouse.summaries`) change by the rows
   written minus the rows they replace (PostgreSQL: noted by the statements of
   steps 2 and 3 themselves; SQLite: compared before step 2);
5. a playlist that changed gets its next version (`warehouse.history`): one
   `playlist_versions` row, and spans closed and opened for the tracks added,
   removed, moved or recounted only;
6. every load raises each playlist's `loads` (the caches' stamp) and sends
   `warehouse.signals.playlists_loaded` (the warm of the pages across playlists
   listens, after the commit).
Positions are stored as order keys that unmoved tracks keep, so a refresh
writes rows in proportion to what changed (`warehouse.history`).
A failure anywhere rolls the whole batch back.
"""

import io
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import orjson
import pandas as pd
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F
from django.utils import timezone

from warehouse import summaries
from warehouse.history import OrderPlan, Present, VersionMade, plan_order, record_versions
from warehouse.models import Playlist
from warehouse.schema import COLUMN_NAMES, COLUMNS, TABLE
from warehouse.signals import playlists_loaded

STAGING = "playlist_tracks_staging"
KEY = ("playlist_id", "track_id")
# Kept from the first load of a row; everything else follows the source.
INSERT_ONLY = ("first_seen_at",)
# Bookkeeping that changes on every write, so it must not decide whether to write:
# `last_seen_at` is when the snapshot that last wrote the row was first loaded
# (when the playlist was last seen is the dimension's `snapshot_seen_at`).
NOT_COMPARED = KEY + INSERT_ONLY + ("loaded_at", "last_seen_at")


def _kind(postgresql_type: str) -> str:
    """How a column's values are serialized, from its type in the schema."""
    for prefix, kind in (
        ("jsonb", "json"),
        ("boolean", "boolean"),
        ("timestamptz", "timestamp"),
        ("text", "text"),
    ):
        if postgresql_type.startswith(prefix):
            return kind
    return "number"


# The same for every row of a load: passed once to the merge, never staged.
PER_LOAD = ("first_seen_at", "removed_at", "loaded_at")
STAGED = tuple(column for column in COLUMN_NAMES if column not in PER_LOAD)
KIND = {column: _kind(pg_type) for column, pg_type, _ in COLUMNS}
# Rows serialized and written at a time: a 100,000-row load serialized at once
# held several copies of itself (value lists, COPY text), ~300 MB on PostgreSQL.
WRITE_CHUNK = 20_000
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


class PlaylistDimension(Protocol):
    """What the loader reads of a snapshot (ingestion.snapshot.PlaylistSnapshot)
    for the playlist's dimension row."""

    @property
    def playlist_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def owner_id(self) -> str: ...
    @property
    def owner_name(self) -> str: ...
    @property
    def image_url(self) -> str: ...
    @property
    def public(self) -> bool | None: ...
    @property
    def collaborative(self) -> bool: ...
    @property
    def source(self) -> str: ...
    @property
    def snapshot_id(self) -> str: ...
    @property
    def total_items(self) -> int: ...


# Each playlist's `snapshot_seen_at` (the staged rows' `last_seen_at`), by id.
SeenAt = dict[str, datetime | None]


@dataclass(frozen=True)
class LoadResult:
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_removed: int
    # The version this load made; None when nothing changed.
    version: VersionMade | None = None

    @property
    def rows_loaded(self) -> int:
        return self.rows_inserted + self.rows_updated + self.rows_unchanged


def load_playlist(
    snapshot: PlaylistDimension, rows: pd.DataFrame, *, now: datetime | None = None
) -> LoadResult:
    """Upsert one playlist's rows and its dimension row; mark removed tracks."""
    return load_playlists([(snapshot, rows)], now=now)[0]


def load_playlists(
    batch: Sequence[tuple[PlaylistDimension, pd.DataFrame]], *, now: datetime | None = None
) -> list[LoadResult]:
    """Load many (snapshot, rows) pairs in one transaction through one staging table,
    with `load_playlist`'s semantics for each; results in the batch's order."""
    now = now or timezone.now()
    playlist_ids = [snapshot.playlist_id for snapshot, _ in batch]
    _refuse_repeated_playlists(playlist_ids)
    snapshots = [snapshot for snapshot, _ in batch]
    with transaction.atomic():
        # Locked first: concurrent loads of a playlist queue here, so each sees
        # what an earlier one committed and versions are consecutive.
        known = _locked_playlists(playlist_ids)
        seen_at = _upsert_playlists(snapshots, known, now)
        _count_load(playlist_ids)
        # In the transaction: a receiver acting after the commit registers on_commit.
        # Robust: a receiver that fails is logged by Django and never fails the load.
        playlists_loaded.send_robust(sender=load_playlists, playlist_ids=playlist_ids)
        with connection.cursor() as cursor:
            existing, present = _stored_rows(cursor, playlist_ids)
            plans = [
                _plan(present[pid], rows)
                for pid, (_, rows) in zip(playlist_ids, batch, strict=True)
            ]
            # A playlist new to the warehouse makes version 1, whose history is
            # copied from the table (set-based): its own frame needs no keys.
            frames = [
                _with_keys(rows, plan) if pid in known else rows
                for pid, (_, rows), plan in zip(playlist_ids, batch, plans, strict=True)
            ]
            rows = _concat(frames)
            if len(rows):
                # Every row's key at once: per frame, it cost 3% of an MPD slice.
                keys = itertools.chain.from_iterable(plan.keys for plan in plans)
                rows["position"] = pd.array(list(keys), dtype="Int64")
            reloaded = [pid for pid in playlist_ids if existing[pid]]
            if reloaded:
                written, removed = _merge(cursor, rows, seen_at=seen_at, now=now, reloaded=reloaded)
            else:
                # Nothing of these playlists is stored yet: nothing to merge or
                # mark removed, so the rows go straight into the table.
                _write(cursor, rows, TABLE, COLUMN_NAMES, seen_at=seen_at, now=now)
                summaries.record_written(cursor, rows)
                written, removed = Counter(rows["playlist_id"]), Counter[str]()
            versions = record_versions(cursor, snapshots, frames, plans, known, now)
    return [
        _load_result(set(rows["track_id"]), existing[pid], written[pid], removed[pid], version)
        for pid, rows, version in zip(playlist_ids, frames, versions, strict=True)
    ]


def _plan(present: dict[str, Present], rows: pd.DataFrame) -> OrderPlan:
    return plan_order(
        present,
        rows["track_id"].tolist(),
        rows["position"].to_numpy(dtype=object, na_value=None).tolist(),
        rows["occurrences"].to_numpy(dtype=object, na_value=None).tolist(),
    )


def _with_keys(rows: pd.DataFrame, plan: OrderPlan) -> pd.DataFrame:
    """The rows with their 0-based positions replaced by order keys."""
    if rows.empty:
        return rows
    # A shallow copy: the other columns stay shared (a whole file's rows are large).
    keyed = rows.copy(deep=False)
    keyed["position"] = pd.array(plan.keys, dtype="Int64")
    return keyed


def _refuse_repeated_playlists(playlist_ids: list[str]) -> None:
    # The same key twice in one staging table would make the merge touch a row twice.
    repeated = [pid for pid, count in Counter(playlist_ids).items() if count > 1]
    if repeated:
        raise ValueError(f"Playlists appear more than once in one load: {repeated[:5]}")


def _load_result(
    keys: set[str], existing: set[str], written: int, removed: int, version: VersionMade | None
) -> LoadResult:
    inserted = len(keys - existing)
    return LoadResult(
        rows_inserted=inserted,
        rows_updated=written - inserted,
        rows_unchanged=len(keys) - written,
        rows_removed=removed,
        version=version,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    # Empty frames carry no rows but can carry odd dtypes; leave them out.
    non_empty = [frame for frame in frames if len(frame)]
    if not non_empty:
        return frames[0].iloc[0:0]
    return pd.concat(non_empty, ignore_index=True)


def _upsert_playlists(
    snapshots: list[PlaylistDimension], known: dict[str, Playlist], now: datetime
) -> SeenAt:
    """Upsert the dimension rows; each playlist's `snapshot_seen_at`, by id."""
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


def _count_load(playlist_ids: list[str]) -> None:
    """One more load of each playlist (`Playlist.loads`, the caches' stamp), in the
    load's transaction: whoever sees its rows sees the new count."""
    for chunk in _chunks(playlist_ids):
        Playlist.objects.filter(pk__in=chunk).update(loads=F("loads") + 1)


def _locked_playlists(playlist_ids: list[str]) -> dict[str, Playlist]:
    """Existing dimension rows, locked (PostgreSQL) so concurrent loads of the
    same playlist queue up; ordered by id so two batches never deadlock."""
    known: dict[str, Playlist] = {}
    for chunk in _chunks(sorted(playlist_ids)):
        rows = Playlist.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        known.update((playlist.playlist_id, playlist) for playlist in rows)
    return known


def _playlist_fields(
    snapshot: PlaylistDimension, playlist: Playlist | None, now: datetime
) -> dict[str, Any]:
    # The same snapshot as the stored one keeps the time it was first seen.
    seen_at = now
    if (
        playlist is not None
        and snapshot.snapshot_id
        and playlist.snapshot_id == snapshot.snapshot_id
        and playlist.snapshot_seen_at is not None
    ):
        seen_at = playlist.snapshot_seen_at
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
        "snapshot_seen_at": seen_at,
        "total_items": snapshot.total_items,
        "last_ingested_at": now,
    }


def _stored_rows(
    cursor: CursorWrapper, playlist_ids: list[str]
) -> tuple[defaultdict[str, set[str]], defaultdict[str, dict[str, Present]]]:
    """Track ids already in the table (present or removed), and the order key and
    count of those present now, by playlist id."""
    existing: defaultdict[str, set[str]] = defaultdict(set)
    present: defaultdict[str, dict[str, Present]] = defaultdict(dict)
    for chunk in _chunks(playlist_ids):
        cursor.execute(
            f"SELECT playlist_id, track_id, position, occurrences, removed_at IS NULL "
            f"FROM {TABLE} WHERE playlist_id IN ({_marks(chunk)})",
            chunk,
        )
        for playlist_id, track_id, key, occurrences, is_present in cursor.fetchall():
            existing[playlist_id].add(track_id)
            if is_present:
                present[playlist_id][track_id] = Present(key, occurrences)
    return existing, present


def _merge(
    cursor: CursorWrapper,
    rows: pd.DataFrame,
    *,
    seen_at: SeenAt,
    now: datetime,
    reloaded: list[str],
) -> tuple[Counter[str], Counter[str]]:
    """Stage, merge, mark removed; (rows written, rows removed) by playlist id."""
    # The table's column types, none of its constraints (CREATE … AS SELECT).
    cursor.execute(
        f"CREATE TEMP TABLE {STAGING} AS SELECT {', '.join(STAGED)} FROM {TABLE} WHERE false"
    )
    _write(cursor, rows, STAGING, STAGED, seen_at=seen_at, now=now)
    # Without it, marking removed rows compares every row with every staged row
    # (quadratic: minutes for an MPD slice on SQLite). PostgreSQL also needs
    # statistics on a temp table, which autovacuum never analyzes.
    cursor.execute(f"CREATE INDEX {STAGING}_key ON {STAGING} (playlist_id, track_id)")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {STAGING} (playlist_id, track_id)")
    # The warehouse-wide counts: on PostgreSQL from what the merge and the
    # marking write (noted by their statements), on SQLite from what the
    # merge is about to change.
    noted = summaries.start_noting(cursor)
    if noted is None:
        summaries.record_staged(cursor, staging=STAGING, reloaded=reloaded)
    written = _merge_staging(cursor, now, noted=noted)
    removed = _mark_removed(cursor, reloaded, now, noted=noted)
    if noted is not None:
        summaries.record_noted(cursor, noted)
    cursor.execute(f"DROP TABLE {STAGING}")
    return written, removed


def _write(
    cursor: CursorWrapper,
    rows: pd.DataFrame,
    table: str,
    columns: Sequence[str],
    *,
    seen_at: SeenAt,
    now: datetime,
) -> None:
    """Bulk-write `columns` of the rows into `table`: COPY on PostgreSQL,
    executemany on SQLite; WRITE_CHUNK rows at a time."""
    for start in range(0, len(rows), WRITE_CHUNK):
        part = rows.iloc[start : start + WRITE_CHUNK]
        if connection.vendor == "postgresql":
            _copy(cursor, part, table, columns, seen_at=seen_at, now=now)
        else:
            values = _sqlite_columns(_columns(part, columns, seen_at=seen_at, now=now), columns)
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(columns)})",
                list(zip(*values, strict=True)),
            )


def _columns(
    rows: pd.DataFrame,
    columns: Sequence[str],
    *,
    seen_at: SeenAt,
    now: datetime,
    skip: Sequence[str] = (),
) -> list[Any]:
    """Each of `columns` as a list of Python values (None for missing):
    `last_seen_at` from `seen_at` (playlist id → time), the PER_LOAD ones from `now`.

    Column by column, not row by row: building and serializing 100,000 rows is
    most of a load's time, and per-column lists keep it a few fast passes.
    Columns in `skip` are left as None, for callers that read them otherwise.
    """
    per_load = {"first_seen_at": now, "loaded_at": now, "removed_at": None}
    playlist_ids = rows["playlist_id"].tolist()
    values: list[Any] = []  # a list per column; None for a skipped one
    for column in columns:
        if column in skip:
            values.append(None)
        elif column == "last_seen_at":
            values.append([seen_at[playlist_id] for playlist_id in playlist_ids])
        elif column in per_load:
            values.append([per_load[column]] * len(playlist_ids))
        else:
            values.append(rows[column].to_numpy(dtype=object, na_value=None).tolist())
    return values


def _copy(
    cursor: CursorWrapper,
    rows: pd.DataFrame,
    table: str,
    columns: Sequence[str],
    *,
    seen_at: SeenAt,
    now: datetime,
) -> None:
    """COPY the rows into `table` in PostgreSQL's text format."""
    values = _columns(rows, columns, seen_at=seen_at, now=now, skip=("added_at",))
    fields = [
        _copy_added_at(rows[column])
        if column == "added_at"
        else _copy_column(column_values, KIND[column])
        for column, column_values in zip(columns, values, strict=True)
    ]
    # Bytes: a StringIO of any text takes 4 bytes a character.
    buffer = io.BytesIO(("\n".join(map("\t".join, zip(*fields, strict=True))) + "\n").encode())
    # copy_expert lives on the psycopg2 cursor under Django's wrapper; the
    # error wrapper turns its errors into Django's (IntegrityError, …).
    with connection.wrap_database_errors:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", buffer
        )


_COPY_NULL = "\\N"
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# Never in PostgreSQL text: safe to join values with before escaping them at once.
_NUL = "\0"


def _copy_column(values: list[Any], kind: str) -> list[str]:
    """One column's values as COPY text fields."""
    if kind == "text":
        return copy_escaped([None if v is None else str(v) for v in values])
    if kind == "json":
        # orjson: ~10× the standard library's speed on 300,000 small lists.
        return copy_escaped([None if v is None else orjson.dumps(v).decode() for v in values])
    if kind == "number":
        return [_COPY_NULL if v is None else str(v) for v in values]
    # Booleans and bookkeeping timestamps take few distinct values: format each once.
    format_one: Callable[[Any], str] = _copy_bool if kind == "boolean" else _copy_timestamp
    formatted: dict[Any, str] = {}
    return [
        formatted[v] if v in formatted else formatted.setdefault(v, format_one(v)) for v in values
    ]


def copy_escaped(texts: list[str | None]) -> list[str]:
    """Escape for COPY in one pass over the whole column instead of one per value."""
    if not texts:
        return []
    escaped = _NUL.join(["" if text is None else text for text in texts])
    # str.replace scans at C speed; str.translate is slow on non-ASCII text.
    for special, escape in _COPY_ESCAPES:
        escaped = escaped.replace(special, escape)
    return [
        _COPY_NULL if text is None else field
        for text, field in zip(texts, escaped.split(_NUL), strict=True)
    ]


def _copy_added_at(series: pd.Series) -> list[str]:
    """added_at: mostly distinct values, formatted by numpy at once when pandas
    holds them as UTC-convertible timestamps (else one by one)."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        return _copy_column(series.to_numpy(dtype=object, na_value=None).tolist(), "timestamp")
    utc = series.dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]")
    texts: list[str] = np.datetime_as_string(utc, unit="us").tolist()
    return [_COPY_NULL if text == "NaT" else f"{text}+00:00" for text in texts]


def _copy_bool(value: bool | None) -> str:
    return _COPY_NULL if value is None else ("t" if value else "f")


def _copy_timestamp(value: datetime | None) -> str:
    return _COPY_NULL if value is None else value.isoformat()


def _sqlite_columns(values: list[Any], columns: Sequence[str]) -> list[list[Any]]:
    """Columns as sqlite3 parameters: JSON as text, timestamps as Django stores them."""
    adapted: list[list[Any]] = []
    for column, column_values in zip(columns, values, strict=True):
        if KIND[column] == "json":
            column_values = [None if v is None else orjson.dumps(v).decode() for v in column_values]
        elif KIND[column] == "timestamp":
            formatted: dict[Any, Any] = {}
            column_values = [
                formatted[v]
                if v in formatted
                else formatted.setdefault(v, connection.ops.adapt_datetimefield_value(v))
                for v in column_values
            ]
        adapted.append(column_values)
    return adapted


def _merge_staging(cursor: CursorWrapper, now: datetime, *, noted: str | None) -> Counter[str]:
    """Merge staging into the table; rows inserted or changed, by playlist id.
    With `noted` (PostgreSQL), the statement also notes the rows it writes there
    for the warehouse-wide counts (`summaries.noting_written`)."""
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    updated = [column for column in COLUMN_NAMES if column not in KEY + INSERT_ONLY]
    compared = [column for column in COLUMN_NAMES if column not in NOT_COMPARED]
    per_load = {"first_seen_at": "%(now)s", "loaded_at": "%(now)s", "removed_at": "NULL"}
    selected = ", ".join(per_load.get(column, column) for column in COLUMN_NAMES)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    # RETURNING yields exactly the rows inserted or updated (not those the
    # DO UPDATE … WHERE skipped), so a batch gets per-playlist counts.
    merge = (
        f"INSERT INTO {TABLE} ({', '.join(COLUMN_NAMES)}) SELECT {selected} FROM {STAGING} "
        "WHERE true ON CONFLICT (playlist_id, track_id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in updated)
        + " WHERE "
        + " OR ".join(f"{TABLE}.{column} {distinct} excluded.{column}" for column in compared)
    )
    if noted is None:
        cursor.execute(f"{merge} RETURNING {TABLE}.playlist_id", {"now": _db_datetime(now)})
        return Counter(playlist_id for (playlist_id,) in cursor.fetchall())
    returned = ", ".join(f"{TABLE}.{column}" for column in summaries.COUNTED)
    # Its estimate (a probe per staged row) would have it JIT-compiled.
    with summaries.no_jit(cursor):
        cursor.execute(
            f"WITH merged AS ({merge} RETURNING {TABLE}.playlist_id, {returned}), "
            f"noted AS ({summaries.noting_written(noted, 'merged')}) "
            "SELECT playlist_id FROM merged",
            {"now": _db_datetime(now)},
        )
        return Counter(playlist_id for (playlist_id,) in cursor.fetchall())


def _mark_removed(
    cursor: CursorWrapper, playlist_ids: list[str], now: datetime, *, noted: str | None
) -> Counter[str]:
    """Mark present rows of these playlists that are not staged; count by playlist id.
    With `noted`, the rows marked are noted there too (`summaries.noting_removed`)."""
    removed: Counter[str] = Counter()
    if not playlist_ids:
        return removed
    for chunk in _chunks(playlist_ids):
        mark = (
            f"UPDATE {TABLE} SET removed_at = %s, loaded_at = %s "
            f"WHERE playlist_id IN ({_marks(chunk)}) AND removed_at IS NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {STAGING} s WHERE s.playlist_id = {TABLE}.playlist_id "
            f"AND s.track_id = {TABLE}.track_id) RETURNING playlist_id"
        )
        if noted is not None:
            mark = (
                f"WITH removed AS ({mark}, {', '.join(summaries.COUNTED)}), "
                f"noted AS ({summaries.noting_removed(noted, 'removed')}) "
                "SELECT playlist_id FROM removed"
            )
        cursor.execute(mark, [_db_datetime(now), _db_datetime(now), *chunk])
        removed.update(playlist_id for (playlist_id,) in cursor.fetchall())
    return removed


def _chunks(values: Iterable[str]) -> list[list[str]]:
    items = list(values)
    return [items[start : start + ID_CHUNK] for start in range(0, len(items), ID_CHUNK)]


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def _db_datetime(value: datetime) -> Any:
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)
