"""Warehouse-wide counts kept up to date by the loader: top artists, genres,
tracks, albums and release years across every playlist, in milliseconds.

`warehouse_summary` holds one row per (kind, key) with the number of present
rows (`removed_at IS NULL`) of `playlist_tracks` that credit it:

| kind     | key                                   | name            |
|----------|---------------------------------------|-----------------|
| `artist` | each element of `artist_ids`          | its artist name |
| `genre`  | each element of `track_genres`        | NULL            |
| `track`  | `track_id`                            | `track_name`    |
| `album`  | `album_id` (rows with one)            | `album_name`    |
| `year`   | `release_year` as text, `''` unknown  | NULL            |

The loader keeps them inside its own transaction, so the counts commit or
roll back with the rows, and their work follows what a load changed:
* a first load (rows written straight into the table): `record_written` sums
  the loader's frame per key in Python and adds the sums with one upsert;
* a reload: the merge runs through `merged` and the removals through `removed`,
  which put the changed rows into the temporary table CHANGED: +1 for each row
  written, -1 for the present row it replaced and for each row marked removed,
  leaving out a written row that agrees with the row it replaced on every
  COUNTED column (a move, a new snapshot id, a popularity change). On
  PostgreSQL the pairing is part of the merge's own statement (its RETURNING,
  joined by primary key to the table, which every part of one statement reads
  as it was before it): a reload of the same rows pairs nothing. SQLite cannot
  put a merge in a WITH, so `record_staged` pairs the staged rows with their
  present rows before the merge (one lookup per staged row);
  `apply_changed` then adds CHANGED to the counts.
Every addition is one upsert in key order (concurrent loads lock summary rows
in the same order, so they queue instead of deadlocking); keys that reach 0
are deleted.

`rebuild` recomputes everything from the fact table (`manage.py
rebuild_summaries`, and migration 0006 for an existing warehouse); `from_scratch`
is the same aggregation as rows, for the benchmark and the tests.
Names: a key's name is the one its latest counted load gave it (an id has
one name in practice; within one load the greatest, on a first load the last
row's); a rebuild takes the greatest.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import orjson
from django.db import connection
from django.db.backends.utils import CursorWrapper

from warehouse.schema import TABLE

if TYPE_CHECKING:
    import pandas as pd

SUMMARY = "warehouse_summary"
# A load's changed rows (sign +1 written, -1 replaced or removed; COUNTED
# columns): temporary, emptied after each load's `apply_changed`.
CHANGED = "warehouse_summary_changed"
KINDS = ("artist", "genre", "track", "album", "year")
# The columns a summary counts from: rows that agree on these count the same.
COUNTED = (
    "track_id",
    "track_name",
    "track_genres",
    "album_id",
    "album_name",
    "release_year",
    "artist_ids",
    "artist_names",
)

_DIALECT = {
    "postgresql": {
        "artists": "jsonb_array_elements_text(c.artist_ids) WITH ORDINALITY AS a(value, ord)",
        "artist_name": "(c.artist_names ->> (a.ord - 1)::int)",
        "genres": "jsonb_array_elements_text(c.track_genres) AS g(value)",
        "same": "IS NOT DISTINCT FROM",
    },
    "sqlite": {
        "artists": "json_each(c.artist_ids) AS a",
        "artist_name": "json_extract(c.artist_names, '$[' || a.key || ']')",
        "genres": "json_each(c.track_genres) AS g",
        "same": "IS",
    },
}


def _dialect(name: str) -> str:
    return _DIALECT[connection.vendor][name]


def _contributions(changed: str) -> str:
    """SQL of (kind, key, name, sign) rows: what each row of the CTE `changed`
    (its COUNTED columns and a `sign` of +1 or -1) adds to each kind."""
    return f"""
        SELECT 'track' AS kind, c.track_id AS key, c.track_name AS name, c.sign FROM {changed} c
        UNION ALL SELECT 'album', c.album_id, c.album_name, c.sign
            FROM {changed} c WHERE c.album_id IS NOT NULL
        UNION ALL SELECT 'year', COALESCE(CAST(c.release_year AS TEXT), ''), NULL, c.sign
            FROM {changed} c
        UNION ALL SELECT 'artist', a.value, {_dialect("artist_name")}, c.sign
            FROM {changed} c, {_dialect("artists")}
        UNION ALL SELECT 'genre', g.value, NULL, c.sign FROM {changed} c, {_dialect("genres")}
    """


def _counted(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in COUNTED)


def record_staged(cursor: CursorWrapper, *, staging: str) -> None:
    """Before the loader's merge of `staging` into the table: an empty table of
    changed rows for this load. On SQLite, which cannot run a merge inside a
    WITH, it also gets the staged rows that differ from their present row
    (and those rows): what the merge will write, compared on COUNTED only."""
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {CHANGED} AS "
        f"SELECT 1 AS sign, {_counted('t')} FROM {TABLE} t WHERE false"
    )
    cursor.execute(f"DELETE FROM {CHANGED}")
    if connection.vendor != "postgresql":
        cursor.execute(_keep_pairs(f"SELECT s.* FROM {staging} s", materialized=True))


def merged(cursor: CursorWrapper, merge: str, params: Any) -> list[str]:
    """Run the loader's `merge` (an INSERT … ON CONFLICT … DO UPDATE without
    RETURNING); the playlist id of each row it wrote.

    PostgreSQL: the rows it wrote (RETURNING) are paired in the same statement
    with the present rows they replaced, which every part of one statement reads
    as they were before it. So the counts' work follows what the merge changed:
    nothing for a reload of the same rows, a tenth of a playlist for a 10% change."""
    if connection.vendor != "postgresql":
        cursor.execute(f"{merge} RETURNING {TABLE}.playlist_id", params)
        return [playlist_id for (playlist_id,) in cursor.fetchall()]
    returning = ", ".join(f"{TABLE}.{column}" for column in ("playlist_id", *COUNTED))
    # The plain merge is estimated far below JIT's threshold; a lookup per
    # staged row would put it above, for ~100 ms of compiling.
    with _without_jit(cursor):
        cursor.execute(
            f"WITH written AS ({merge} RETURNING {returning}), "
            + _keep_pairs("SELECT * FROM written", materialized=False, into_cte="kept")
            + " SELECT playlist_id FROM written",
            params,
        )
        return [playlist_id for (playlist_id,) in cursor.fetchall()]


def removed(cursor: CursorWrapper, update: str, params: Any) -> list[str]:
    """Run the loader's `update` that marks rows removed (without RETURNING);
    the playlist id of each row it marked. Those rows' counted values leave."""
    returning = ", ".join(f"{TABLE}.{column}" for column in ("playlist_id", *COUNTED))
    columns = f"sign, {', '.join(COUNTED)}"
    if connection.vendor == "postgresql":
        cursor.execute(
            f"WITH gone AS ({update} RETURNING {returning}), "
            f"kept AS (INSERT INTO {CHANGED} ({columns}) "
            f"SELECT -1, {', '.join(COUNTED)} FROM gone) SELECT playlist_id FROM gone",
            params,
        )
        return [playlist_id for (playlist_id,) in cursor.fetchall()]
    cursor.execute(f"{update} RETURNING {returning}", params)
    rows = cursor.fetchall()
    if rows:
        cursor.executemany(
            f"INSERT INTO {CHANGED} ({columns}) VALUES ({', '.join(['%s'] * (1 + len(COUNTED)))})",
            [(-1, *row[1:]) for row in rows],
        )
    return [row[0] for row in rows]


def _keep_pairs(source: str, *, materialized: bool, into_cte: str | None = None) -> str:
    """SQL that puts into CHANGED, for each row of `source` (playlist_id and
    COUNTED columns, the rows a load writes) that differs on COUNTED from the
    present row of its key (or has none): +1 for it and -1 for that row.
    `into_cte`: written as a WITH item of that name (PostgreSQL), else a statement."""
    same = _dialect("same")
    differs = " OR ".join(f"NOT (b.{column} {same} w.{column})" for column in COUNTED)
    pairs = (
        f"pairs AS {'MATERIALIZED ' if materialized else ''}("
        f"SELECT {_counted('w')}, b.playlist_id AS old_playlist_id, "
        + ", ".join(f"b.{column} AS old_{column}" for column in COUNTED)
        + f" FROM ({source}) w LEFT JOIN {_present_row('w')} "
        f"WHERE b.playlist_id IS NULL OR {differs})"
    )
    insert = (
        f"INSERT INTO {CHANGED} (sign, {', '.join(COUNTED)}) "
        f"SELECT 1, {', '.join(COUNTED)} FROM pairs UNION ALL "
        f"SELECT -1, {', '.join(f'old_{column}' for column in COUNTED)} FROM pairs "
        "WHERE old_playlist_id IS NOT NULL"
    )
    if into_cte:
        return f"{pairs}, {into_cte} AS ({insert})"
    return f"WITH {pairs} {insert}"


def _present_row(alias: str) -> str:
    """The join to the present row `b` of each row of `alias`, by primary key."""
    on_key = f"b.playlist_id = {alias}.playlist_id AND b.track_id = {alias}.track_id"
    if connection.vendor != "postgresql":
        return f"{TABLE} b ON {on_key} AND b.removed_at IS NULL"
    # One primary-key lookup per written row: LATERAL … OFFSET 0 keeps the
    # planner (whose estimate is every staged row) from hashing the whole table.
    return (
        f"LATERAL (SELECT * FROM {TABLE} b WHERE {on_key} AND b.removed_at IS NULL "
        "OFFSET 0) b ON true"
    )


def apply_changed(cursor: CursorWrapper) -> None:
    """After the loader's merge and removals: add what CHANGED holds to the counts."""
    with _without_jit(cursor):
        _apply(cursor, [(f"SELECT * FROM {CHANGED}", [])])
    cursor.execute(f"DELETE FROM {CHANGED}")


def record_written(cursor: CursorWrapper, rows: "pd.DataFrame") -> None:
    """After a first load wrote `rows` (the loader's frame) straight into the
    table: they are all present, so their counts are summed here, per key, and
    added with one upsert: no second read of the rows, no JSON taken apart in SQL."""
    counts = _aggregated(rows)
    if not counts:
        return
    ordered = sorted(counts.items())
    kinds = [kind for (kind, _), _ in ordered]
    keys = [key for (_, key), _ in ordered]
    names = [name for _, (name, _) in ordered]
    entries = [n for _, (_, n) in ordered]
    upsert = (
        f"ON CONFLICT (kind, key) DO UPDATE SET entries = {SUMMARY}.entries + excluded.entries, "
        f"name = COALESCE(excluded.name, {SUMMARY}.name)"
    )
    if connection.vendor == "postgresql":
        # One JSON parameter: array parameters of 20,000 values are sent as an
        # ARRAY[…] expression that takes PostgreSQL ~100 ms to plan. Sorted by
        # the database (its collation) like every other upsert: one lock order.
        cursor.execute(
            f"INSERT INTO {SUMMARY} (kind, key, name, entries) "
            "SELECT d.kind, d.key, d.name, d.n FROM jsonb_to_recordset(%s::jsonb) "
            "AS d(kind text, key text, name text, n bigint) "
            f"ORDER BY d.kind, d.key {upsert}",
            [
                orjson.dumps(
                    [
                        {"kind": kind, "key": key, "name": name, "n": n}
                        for kind, key, name, n in zip(kinds, keys, names, entries, strict=True)
                    ]
                ).decode()
            ],
        )
    else:
        cursor.executemany(
            f"INSERT INTO {SUMMARY} (kind, key, name, entries) VALUES (%s, %s, %s, %s) {upsert}",
            list(zip(kinds, keys, names, entries, strict=True)),
        )


def _aggregated(rows: "pd.DataFrame") -> dict[tuple[str, str], tuple[Any, int]]:
    """(kind, key) → (name, entries) for these present rows, as `_contributions`
    counts them. A name is the last row's for its key. Counter and dict over
    whole columns: a loop per row in Python took ~0.5 s for 10,000 rows here."""

    def column(name: str) -> list[Any]:
        return list(rows[name].to_numpy(dtype=object, na_value=None))

    def lists(name: str) -> list[Any]:
        return [() if value is None else value for value in column(name)]

    track_ids, album_ids = column("track_id"), column("album_id")
    artist_ids, genres = lists("artist_ids"), lists("track_genres")
    years = ["" if year is None else str(int(year)) for year in column("release_year")]
    counted: dict[str, tuple[Counter[Any], dict[Any, Any]]] = {
        "track": (Counter(track_ids), dict(zip(track_ids, column("track_name"), strict=True))),
        "album": (Counter(album_ids), dict(zip(album_ids, column("album_name"), strict=True))),
        "year": (Counter(years), {}),
        "artist": (
            Counter(chain.from_iterable(artist_ids)),
            dict(chain.from_iterable(map(zip, artist_ids, lists("artist_names")))),
        ),
        "genre": (Counter(chain.from_iterable(genres)), {}),
    }
    return {
        (kind, key): (names.get(key), n)
        for kind, (counts, names) in counted.items()
        for key, n in counts.items()
        if key is not None
    }


@contextmanager
def _without_jit(cursor: CursorWrapper) -> Iterator[None]:
    """PostgreSQL JIT-compiles a statement whose estimated cost is high, and
    the set-returning JSON functions are estimated at 100 rows each: ~200 ms of
    compiling for a statement that runs in a few. Off for the statement only."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    (before, _) = cursor.fetchone()
    yield
    # Not on an error: the transaction is aborted then, and its rollback
    # restores the setting (set_config(…, true) lasts the transaction at most).
    cursor.execute("SELECT set_config('jit', %s, true)", [before])


def _apply(cursor: CursorWrapper, sides: list[tuple[str, list[Any]]]) -> None:
    """Sum the sides' contributions per key and add them to the counts."""
    changed = " UNION ALL ".join(sql for sql, _ in sides)
    params = [param for _, side_params in sides for param in side_params]
    # MATERIALIZED: the five kinds read the changed rows once, not five times.
    # WHERE true keeps SQLite from reading ON CONFLICT as a join constraint.
    cursor.execute(
        f"""
        WITH changed AS MATERIALIZED ({changed}),
        contributions AS ({_contributions("changed")})
        INSERT INTO {SUMMARY} (kind, key, name, entries)
        SELECT kind, key, MAX(CASE WHEN sign > 0 THEN name END), SUM(sign)
        FROM contributions WHERE true GROUP BY kind, key HAVING SUM(sign) <> 0
        ORDER BY kind, key
        ON CONFLICT (kind, key) DO UPDATE SET
            entries = {SUMMARY}.entries + excluded.entries,
            name = COALESCE(excluded.name, {SUMMARY}.name)
        """,
        params,
    )
    # Served by the partial index on entries = 0: only keys this load emptied.
    cursor.execute(f"DELETE FROM {SUMMARY} WHERE entries = 0")


def _present_rows() -> str:
    return f"SELECT 1 AS sign, {_counted('t')} FROM {TABLE} t WHERE t.removed_at IS NULL"


def from_scratch(*, kind: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The counts of one kind aggregated from the fact table itself, as
    [{key, name, entries}], most first: what the summary must equal."""
    _check_kind(kind)
    top = "" if limit is None else f" LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH changed AS MATERIALIZED ({_present_rows()}), "
            f"contributions AS ({_contributions('changed')}) "
            "SELECT key, MAX(name) AS name, COUNT(*) AS entries FROM contributions "
            f"WHERE kind = %s GROUP BY key ORDER BY entries DESC, key{top}",
            [kind],
        )
        return [{"key": key, "name": name, "entries": n} for key, name, n in cursor.fetchall()]


def rebuild(cursor: CursorWrapper | None = None) -> int:
    """Recompute every count from the fact table (in the caller's transaction);
    how many summary rows there are now."""
    if cursor is None:
        with connection.cursor() as own:
            return rebuild(own)
    cursor.execute(f"DELETE FROM {SUMMARY}")
    cursor.execute(
        f"WITH changed AS MATERIALIZED ({_present_rows()}), "
        f"contributions AS ({_contributions('changed')}) "
        f"INSERT INTO {SUMMARY} (kind, key, name, entries) "
        "SELECT kind, key, MAX(name), COUNT(*) FROM contributions "
        "GROUP BY kind, key ORDER BY kind, key"
    )
    cursor.execute(f"SELECT COUNT(*) FROM {SUMMARY}")
    (count,) = cursor.fetchone()
    return int(count)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Unknown summary kind {kind!r}: one of {', '.join(KINDS)}.")


# --- reads ---------------------------------------------------------------------------
def top(*, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    """The keys of one kind on most present rows: [{key, name, entries}], most
    first (ties by key). One index range read of `warehouse_summary`."""
    _check_kind(kind)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, name, entries FROM {SUMMARY} WHERE kind = %s "
            "ORDER BY entries DESC, key LIMIT %s",
            [kind, limit],
        )
        return [{"key": key, "name": name, "entries": int(n)} for key, name, n in cursor.fetchall()]


def distinct(*, kind: str) -> int:
    """How many distinct keys of one kind the present rows credit: an index scan
    of all of them (~22,000 tracks at 631,000 rows), so not for every page view."""
    _check_kind(kind)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {SUMMARY} WHERE kind = %s", [kind])
        (count,) = cursor.fetchone()
        return int(count)


def release_years() -> tuple[dict[int, int], int]:
    """Present rows per known release year, and the rows without one."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, entries FROM {SUMMARY} WHERE kind = 'year'")
        counts = {key: int(n) for key, n in cursor.fetchall()}
    unknown = counts.pop("", 0)
    return {int(year): n for year, n in sorted(counts.items(), key=lambda kv: int(kv[0]))}, unknown


def differences() -> dict[str, int]:
    """Per kind, how many keys' counts differ from a fresh aggregation (empty
    when the summary is exact)."""
    differing: dict[str, int] = {}
    for kind in KINDS:
        expected = {row["key"]: row["entries"] for row in from_scratch(kind=kind)}
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT key, entries FROM {SUMMARY} WHERE kind = %s", [kind])
            stored = {key: int(n) for key, n in cursor.fetchall()}
        keys = expected.keys() | stored.keys()
        count = sum(1 for key in keys if expected.get(key) != stored.get(key))
        if count:
            differing[kind] = count
    return differing


@dataclass
class WarehouseOverview:
    """Everything the warehouse holds, present now, by playlist entry (a track
    in 1,000 playlists counts 1,000 times): the admin's and analysts' view."""

    entries: int  # present rows of playlist_tracks
    artists: list[dict[str, Any]]  # [{key, name, entries}], most first
    genres: list[dict[str, Any]]
    tracks: list[dict[str, Any]]
    albums: list[dict[str, Any]]
    decades: list[dict[str, int]]  # [{decade, entries}] in decade order
    unknown_year: int


def warehouse_overview(*, limit: int = 20) -> WarehouseOverview:
    """Top artists, genres, tracks and albums and the decades across the whole
    warehouse: five small index reads, whatever the warehouse's size. (How many
    distinct keys a kind has, `distinct`, reads all of that kind's keys: kept out.)"""
    years, unknown = release_years()
    decades: dict[int, int] = {}
    for year, n in years.items():
        decades[year // 10 * 10] = decades.get(year // 10 * 10, 0) + n
    return WarehouseOverview(
        entries=sum(years.values()) + unknown,
        artists=top(kind="artist", limit=limit),
        genres=top(kind="genre", limit=limit),
        tracks=top(kind="track", limit=limit),
        albums=top(kind="album", limit=limit),
        decades=[{"decade": decade, "entries": n} for decade, n in sorted(decades.items())],
        unknown_year=unknown,
    )
