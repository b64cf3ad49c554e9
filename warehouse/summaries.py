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

The loader calls `record_staged` (a reload: before its merge, while the new
rows sit in the staging table) or `record_written` (a first load: after the
rows went straight into the table) inside its own transaction, so the counts
commit or roll back with the rows. After a load the present rows of a loaded
playlist are exactly its staged rows, so the change to the counts is "staged
rows minus the rows present before", where pairs that agree on every counted
column cancel and are left out: a refresh that changes 1% of a playlist
touches the counts of that 1%. The delta is summed per key in SQL and added
with one upsert in key order (concurrent loads lock summary rows in the same
order, so they queue instead of deadlocking); keys that reach 0 are deleted.

`rebuild` recomputes everything from the fact table (`manage.py
rebuild_summaries`, and migration 0006 for an existing warehouse); `from_scratch`
is the same aggregation as rows, for the benchmark and the tests.
Names: a key's name is the one its latest counted load gave it (an id has
one name in practice); a rebuild takes the greatest.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from warehouse.schema import TABLE

SUMMARY = "warehouse_summary"
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
# Keeps `playlist_id IN (…)` well under SQLite's bound-parameter limit.
ID_CHUNK = 500

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


def _agrees(left: str, right: str) -> str:
    """Same row (playlist and track) with the same counted values."""
    same = _dialect("same")
    return " AND ".join(
        [f"{left}.playlist_id = {right}.playlist_id"]
        + [f"{left}.{column} {same} {right}.{column}" for column in COUNTED]
    )


def _playlists_in(alias: str, playlist_ids: Sequence[str]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return f"{alias}.playlist_id = ANY(%s)", [list(playlist_ids)]
    return f"{alias}.playlist_id IN ({', '.join(['%s'] * len(playlist_ids))})", list(playlist_ids)


def _chunks(playlist_ids: Sequence[str]) -> list[Sequence[str]]:
    """One chunk on PostgreSQL (an array parameter), ID_CHUNK ids on SQLite.
    One statement per load keeps the upsert's lock order whole on PostgreSQL;
    SQLite has one writer at a time anyway."""
    if connection.vendor == "postgresql" or not playlist_ids:
        return [playlist_ids]
    return [playlist_ids[i : i + ID_CHUNK] for i in range(0, len(playlist_ids), ID_CHUNK)]


def record_staged(cursor: CursorWrapper, *, staging: str, reloaded: Sequence[str]) -> None:
    """Before the loader's merge: add the staged rows and take away the rows
    present now of the `reloaded` playlists, leaving out pairs that agree."""
    # On PostgreSQL the rows probed are named by playlist too: otherwise the
    # planner may hash every present row of the table to probe a few thousand.
    reloaded_only, reloaded_params = (
        ("AND t.playlist_id = ANY(%s) ", [list(reloaded)])
        if connection.vendor == "postgresql"
        else ("", [])
    )
    added = (
        f"SELECT 1 AS sign, {_counted('s')} FROM {staging} s WHERE NOT EXISTS ("
        f"SELECT 1 FROM {TABLE} t WHERE t.track_id = s.track_id AND t.removed_at IS NULL "
        f"{reloaded_only}AND {_agrees('t', 's')})"
    )
    chunks = _chunks(reloaded)
    for index, chunk in enumerate(chunks):
        sides: list[tuple[str, list[Any]]] = [(added, reloaded_params)] if index == 0 else []
        if chunk:
            where, params = _playlists_in("t", chunk)
            taken = (
                f"SELECT -1 AS sign, {_counted('t')} FROM {TABLE} t "
                f"WHERE {where} AND t.removed_at IS NULL AND NOT EXISTS ("
                f"SELECT 1 FROM {staging} s WHERE s.track_id = t.track_id "
                f"AND {_agrees('s', 't')})"
            )
            sides.append((taken, params))
        _apply(cursor, sides)


def record_written(cursor: CursorWrapper, playlist_ids: Sequence[str]) -> None:
    """After a first load wrote these playlists' rows straight into the table."""
    for chunk in _chunks(playlist_ids):
        if chunk:
            where, params = _playlists_in("t", chunk)
            _apply(
                cursor,
                [
                    (
                        f"SELECT 1 AS sign, {_counted('t')} FROM {TABLE} t "
                        f"WHERE {where} AND t.removed_at IS NULL",
                        params,
                    )
                ],
            )


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
