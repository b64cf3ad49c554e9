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

The loader changes the counts inside its own transaction, so they commit or
roll back with the rows. After a load the present rows of a loaded playlist are
exactly its staged rows, so the change to the counts is "rows written minus the
rows they replace", where pairs that agree on every counted column cancel and
are left out: a refresh that changes 1% of a playlist touches the counts of that
1%. It is computed
* on a first load (rows written straight into the table), from the loader's
  frame in Python (`record_written`), or the bulk path's columns (`count_columns`);
* on a reload on PostgreSQL, by the merge and the marking of removed rows
  themselves: their statements note what they write in a temporary table
  (`start_noting`, `noting_written`, `noting_removed`, `record_noted`), so a
  no-op reload compares nothing more than the merge does;
* on a reload on SQLite (no data-modifying WITH), before the merge from the
  staging table (`record_staged`).
The kinds with few keys (`genre`, `year`: IN_PLACE) are added with one upsert in
key order (concurrent loads lock summary rows in the same order, so they queue
instead of deadlocking); keys that reach 0 are deleted. The FOLDED kinds
(`track`, `album`, `artist`), a key for nearly every row, are appended as one
row per load to `warehouse_summary_log` instead: an upsert per track was as much
work again as a first load's own rows. `fold` adds the log up into the counts
(after each queued run, on the reaper's schedule, `warehouse_top --fold`); the
reads add what is not folded yet, so they are exact either way, and one index
range read when the log is empty.

`rebuild` recomputes everything from the fact table (`manage.py
rebuild_summaries`, and migration 0006 for an existing warehouse); `from_scratch`
is the same aggregation as rows, for the benchmark and the tests; `counts` and
`differences` compare the two, the log counted in.
Names: a key's name is the one its latest counted load gave it (an id has
one name in practice); a rebuild takes the greatest.
"""

import gc
import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, Min
from django.utils import timezone

from warehouse.models import SummaryChange
from warehouse.schema import TABLE

SUMMARY = "warehouse_summary"
LOG = "warehouse_summary_log"
# A reload's rows noted by its merge (PostgreSQL): `start_noting`.
NOTED = "warehouse_summary_noted"
# A load's changed rows, computed once for `_apply`'s two statements (SQLite).
CHANGED = "warehouse_summary_changed"
KINDS = ("artist", "genre", "track", "album", "year")
# Kinds with a key for nearly every row (a first load of a new catalog makes
# one count per track): their changes are appended to the log and folded into
# the counts later, instead of an upsert per key in the load (benchmarks.md).
FOLDED = ("track", "album", "artist")
IN_PLACE = tuple(kind for kind in KINDS if kind not in FOLDED)
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
# The sort of a fold's entries on PostgreSQL (`_fold_in_sql`), this transaction only:
# ten bulk slices log ~1 M entries; past it the sort spills to disk.
FOLD_WORK_MEM = "64MB"
# Keys one upsert of the counts adds at most (`_add_entries`).
ENTRIES_CHUNK = 50_000

_DIALECT = {
    "postgresql": {
        "artists": "jsonb_array_elements_text(c.artist_ids) WITH ORDINALITY AS a(value, ord)",
        "artist_name": "(c.artist_names ->> (a.ord - 1)::int)",
        "genres": "jsonb_array_elements_text(c.track_genres) AS g(value)",
        "same": "IS NOT DISTINCT FROM",
        # Entries as JSON [kind, key, name, entries]: a parameter's, a log row's.
        "entries_of_param": "jsonb_array_elements(%s::jsonb) AS e",
        "entry": "e ->> 0 AS kind, e ->> 1 AS key, e ->> 2 AS name, (e ->> 3)::bigint AS entries",
        "aggregate_entries": "json_agg(json_build_array(kind, key, name, entries))::text",
    },
    "sqlite": {
        "artists": "json_each(c.artist_ids) AS a",
        "artist_name": "json_extract(c.artist_names, '$[' || a.key || ']')",
        "genres": "json_each(c.track_genres) AS g",
        "same": "IS",
        "entries_of_param": "json_each(%s) AS e",
        "entry": "json_extract(e.value, '$[0]') AS kind, json_extract(e.value, '$[1]') AS key, "
        "json_extract(e.value, '$[2]') AS name, json_extract(e.value, '$[3]') AS entries",
        "aggregate_entries": "json_group_array(json_array(kind, key, name, entries))",
    },
}


def _dialect(name: str) -> str:
    return _DIALECT[connection.vendor][name]


def _contributions(changed: str, kinds: Sequence[str] = KINDS) -> str:
    """SQL of (kind, key, name, sign) rows: what each row of the CTE `changed`
    (its COUNTED columns and a `sign` of +1 or -1) adds to each of `kinds`."""
    branches = {
        "track": f"SELECT 'track' AS kind, c.track_id AS key, c.track_name AS name, c.sign "
        f"FROM {changed} c",
        "album": f"SELECT 'album' AS kind, c.album_id AS key, c.album_name AS name, c.sign "
        f"FROM {changed} c WHERE c.album_id IS NOT NULL",
        "year": "SELECT 'year' AS kind, COALESCE(CAST(c.release_year AS TEXT), '') AS key, "
        f"NULL AS name, c.sign FROM {changed} c",
        "artist": f"SELECT 'artist' AS kind, a.value AS key, {_dialect('artist_name')} AS name, "
        f"c.sign FROM {changed} c, {_dialect('artists')}",
        "genre": "SELECT 'genre' AS kind, g.value AS key, NULL AS name, c.sign "
        f"FROM {changed} c, {_dialect('genres')}",
    }
    return " UNION ALL ".join(branches[kind] for kind in kinds)


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


def record_written(cursor: CursorWrapper, rows: pd.DataFrame) -> None:
    """After a first load wrote these rows straight into the table: counted in
    Python from the loader's frame, without reading them back and taking JSON
    apart in SQL (the same counting as a bulk slice's columns: `count_columns`)."""
    record_counted(cursor, count_columns(_columns_of(rows)))


@dataclass
class NewRows:
    """Rows new to the table as the columns the counts read. Per row: the
    track, the album (None: none), the release year (None: unknown); per artist
    credit, flat: the artist id (None: no Spotify artist, not counted) and its
    name; per genre credit: the genre."""

    track_ids: list[str]
    track_names: list[str | None]
    album_ids: list[str | None]
    album_names: list[str | None]
    artist_ids: list[str | None]
    artist_names: list[str | None]
    release_years: Iterable[int | None]
    genres: Iterable[str]


@dataclass(frozen=True)
class Counted:
    """Rows' change to the counts, ready to write: the kinds in place as sorted
    (kind, key, name, n) entries, the FOLDED kinds as one log row's JSON (None:
    nothing to log)."""

    in_place: list[tuple[str, str, str | None, int]]
    logged: str | None


def count_columns(rows: NewRows) -> Counted:
    """Count rows new to the table (no database: a bulk import counts the next
    slice in its reader thread while this one loads)."""
    with _collector_paused():  # a slice's 64,000 rows make ~200,000 tuples
        counts = _counts_of(rows)
        folded = _entries(counts, FOLDED)
        return Counted(
            in_place=sorted(_entries(counts, IN_PLACE)),
            logged=orjson.dumps(folded).decode() if folded else None,
        )


def record_counted(cursor: CursorWrapper, counted: Counted) -> None:
    """Write counted rows: the kinds in place with one upsert in key order, the
    FOLDED ones as one log row."""
    _add_entries(cursor, counted.in_place)
    if counted.logged is not None:
        cursor.execute(
            f"INSERT INTO {LOG} (changes, logged_at) VALUES (%s, %s)", [counted.logged, _db_now()]
        )


def _columns_of(rows: pd.DataFrame) -> NewRows:
    """The loader's frame as the counts' columns."""

    def column(name: str) -> list[Any]:
        values: list[Any] = rows[name].to_numpy(dtype=object, na_value=None).tolist()
        return values

    artist_ids, artist_names = _artists(rows["artist_ids"].tolist(), rows["artist_names"].tolist())
    return NewRows(
        track_ids=column("track_id"),
        track_names=column("track_name"),
        album_ids=column("album_id"),
        album_names=column("album_name"),
        artist_ids=list(artist_ids),
        artist_names=artist_names,
        release_years=column("release_year"),
        genres=itertools.chain.from_iterable(rows["track_genres"].tolist()),
    )


# A load's change to the counts, per kind: (entries added by key, name by key).
Counts = dict[str, tuple[Counter[str], dict[str, str]]]


def _counts_of(rows: NewRows) -> Counts:
    """What rows new to the table add to each count, as `_apply` sums them in
    SQL (a key's name: the greatest of its rows' names, as SQL's MAX takes it; an
    id has one name in practice). ~20 ms for 10,000 rows, a tenth of the same in
    SQL: whole columns at a time, Counter, zip, map and compress in C."""
    years = Counter(rows.release_years)
    return {
        "track": _named(rows.track_ids, rows.track_names),
        "album": _named(*_with_key(rows.album_ids, rows.album_names)),
        "artist": _named(*_with_key(rows.artist_ids, rows.artist_names)),
        "year": (Counter({"" if year is None else str(year): n for year, n in years.items()}), {}),
        "genre": (Counter(rows.genres), {}),
    }


def _with_key(
    keys: list[str | None], names: list[str | None]
) -> tuple[list[str], list[str | None]]:
    """The (key, name) pairs whose key is not None, as two aligned lists."""
    present = list(map(operator.is_not, keys, itertools.repeat(None)))
    if all(present):
        return keys, names  # type: ignore[return-value]
    return list(itertools.compress(keys, present)), list(itertools.compress(names, present))  # type: ignore[arg-type]


def _named(keys: list[str], names: list[str | None]) -> tuple[Counter[str], dict[str, str]]:
    """Entries per key, and each key's name: the greatest of its rows' that is
    not None (or empty), as the loads counted in SQL and the bulk path take it
    (MAX): a load's counts do not depend on which path wrote its rows."""
    # The pairs whose name is not None (or empty).
    pairs: list[tuple[str, str]] = list(
        itertools.compress(zip(keys, names, strict=True), names)  # type: ignore[arg-type]
    )
    named = dict(pairs)
    distinct = set(pairs)
    if len(distinct) != len(named):
        # A key with two names (rare): sorted, a key's last pair has its greatest.
        # Sorting every pair took 0.4 of a bulk slice's 1.2 s of Python.
        named = dict(sorted(distinct))
    return Counter(keys), named


def _artists(
    ids: list[list[str]], names: list[list[str | None]]
) -> tuple[list[str], list[str | None]]:
    """Every row's artist ids and names, flat and aligned."""
    flat_ids = list(itertools.chain.from_iterable(ids))
    if all(map(operator.eq, map(len, ids), map(len, names))):
        return flat_ids, list(itertools.chain.from_iterable(names))
    # A row with fewer names than ids (or more) has its names made to fit.
    fitted = [
        row_names
        if len(row_names) == len(row_ids)
        else [*row_names[: len(row_ids)], *[None] * (len(row_ids) - len(row_names))]
        for row_ids, row_names in zip(ids, names, strict=True)
    ]
    return flat_ids, list(itertools.chain.from_iterable(fitted))


def _entries(counts: Counts, kinds: Sequence[str]) -> list[tuple[str, str, str | None, int]]:
    """The counts of these kinds as (kind, key, name, n) entries."""
    # zip and map build the 4-tuples in C: a comprehension took as long as the counting.
    out: list[tuple[str, str, str | None, int]] = []
    for kind in kinds:
        counted, names = counts[kind]
        keys = list(counted)
        out.extend(
            zip(
                itertools.repeat(kind, len(keys)),
                keys,
                map(names.get, keys),
                counted.values(),
                strict=True,
            )
        )
    return out


def _add_entries(cursor: CursorWrapper, entries: Sequence[Sequence[Any]]) -> None:
    """Add sorted (kind, key, name, n) entries to the counts with one upsert. In key
    order, like every upsert of the counts: concurrent loads and folds queue instead
    of deadlocking."""
    # In chunks (still in key order): a fold of many slices adds hundreds of
    # thousands of keys, whose JSON parameter is held once per chunk.
    for start in range(0, len(entries), ENTRIES_CHUNK):
        # WHERE true keeps SQLite from reading ON CONFLICT as a join constraint.
        cursor.execute(
            f"INSERT INTO {SUMMARY} (kind, key, name, entries) "
            f"SELECT {_dialect('entry')} FROM {_dialect('entries_of_param')} WHERE true "
            f"ORDER BY 1, 2 {_ADDED}",
            [orjson.dumps(entries[start : start + ENTRIES_CHUNK]).decode()],
        )


# Adds a load's entries to the counts (an upsert's conflict clause).
_ADDED = (
    f"ON CONFLICT (kind, key) DO UPDATE SET entries = {SUMMARY}.entries + excluded.entries, "
    f"name = COALESCE(excluded.name, {SUMMARY}.name)"
)


# --- a reload on PostgreSQL: the delta noted by the merge itself ----------------------
def start_noting(cursor: CursorWrapper) -> str | None:
    """Before a reload's merge: on PostgreSQL, the name of an empty temporary
    table the merge and the marking of removed rows note the changed rows in
    (`noting_written`, `noting_removed`), for `record_noted` to count after them;
    None on SQLite (which has no data-modifying WITH): count with `record_staged`.

    Why: `record_staged` compares every staged row with its stored one on the
    counted columns before the merge, a quarter of a no-op reload; the merge
    compares them anyway and writes only the rows that differ, so what it writes
    and removes is the delta, and a no-op reload notes nothing."""
    if connection.vendor != "postgresql":
        return None
    cursor.execute(
        f"CREATE TEMP TABLE {NOTED} AS SELECT 1 AS sign, {_counted('t')} FROM {TABLE} t WHERE false"
    )
    return NOTED


def noting_written(noted: str, merged: str) -> str:
    """SQL of a data-modifying WITH entry for the merge's statement, whose CTE
    `merged` returned (playlist_id and the COUNTED columns of) every row it
    inserted or updated: note +1 for each new version and -1 for the version
    present before, leaving out pairs that agree. Reads of the table in the same
    statement see it as it was before the merge (one snapshot)."""
    # LATERAL … LIMIT 1 on the primary key (whether the version was present is
    # asked outside, or the planner takes a partial index of present rows and
    # walks a playlist's rows per probe; the limit keeps it from flattening the
    # lateral into a join, which hashed every present row of the table): one
    # probe per row written, none for a no-op reload.
    before = (
        f"LATERAL (SELECT o.playlist_id, o.removed_at, {_counted('o')} FROM {TABLE} o "
        "WHERE o.playlist_id = m.playlist_id AND o.track_id = m.track_id LIMIT 1) o ON true"
    )
    return (
        f"INSERT INTO {noted} (sign, {', '.join(COUNTED)}) "
        f"SELECT 1, {_counted('m')} FROM {merged} m LEFT JOIN {before} "
        f"WHERE o.track_id IS NULL OR o.removed_at IS NOT NULL OR NOT ({_agrees('o', 'm')}) "
        f"UNION ALL SELECT -1, {_counted('o')} FROM {merged} m JOIN {before} "
        f"WHERE o.removed_at IS NULL AND NOT ({_agrees('o', 'm')})"
    )


def noting_removed(noted: str, removed: str) -> str:
    """The same for rows just marked removed (`removed` returned their COUNTED
    columns, which the marking does not change): -1 each."""
    return (
        f"INSERT INTO {noted} (sign, {', '.join(COUNTED)}) "
        f"SELECT -1, {_counted('r')} FROM {removed} r"
    )


def record_noted(cursor: CursorWrapper, noted: str) -> None:
    """After the merge and the marking of removed rows: count what they noted."""
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {noted})")
    (any_noted,) = cursor.fetchone()
    if any_noted:
        _apply(cursor, [(f"SELECT sign, {', '.join(COUNTED)} FROM {noted}", [])])
    cursor.execute(f"DROP TABLE {noted}")


def _apply(cursor: CursorWrapper, sides: list[tuple[str, list[Any]]]) -> None:
    """Sum the sides' contributions per key: add those of the kinds kept in
    place to the counts, and append those of the FOLDED kinds to the log."""
    changed = " UNION ALL ".join(sql for sql, _ in sides)
    params = [param for _, side_params in sides for param in side_params]
    if connection.vendor == "sqlite":
        # Two statements read the changed rows: on SQLite (a reload's comparison
        # of staged and stored rows) computed once. PostgreSQL's sides are cheap
        # reads (the noted table, a first load's rows by playlist).
        cursor.execute(f"CREATE TEMP TABLE {CHANGED} AS {changed}", params)
        changed, params = f"SELECT * FROM {CHANGED}", []
    with no_jit(cursor):
        # MATERIALIZED: the kinds read the changed rows once, not once each.
        # WHERE true keeps SQLite from reading ON CONFLICT as a join constraint.
        cursor.execute(
            f"""
            WITH changed AS MATERIALIZED ({changed}),
            contributions AS ({_contributions("changed", IN_PLACE)})
            INSERT INTO {SUMMARY} (kind, key, name, entries)
            SELECT kind, key, MAX(CASE WHEN sign > 0 THEN name END), SUM(sign)
            FROM contributions WHERE true GROUP BY kind, key HAVING SUM(sign) <> 0
            ORDER BY kind, key {_ADDED}
            """,
            params,
        )
        # One log row: an append, no conflicts, no locks on popular keys.
        cursor.execute(
            f"""
            WITH changed AS MATERIALIZED ({changed}),
            contributions AS ({_contributions("changed", FOLDED)})
            INSERT INTO {LOG} (changes, logged_at)
            SELECT changes, %s FROM (
                SELECT {_dialect("aggregate_entries")} AS changes, COUNT(*) AS keys FROM (
                    SELECT kind, key, MAX(CASE WHEN sign > 0 THEN name END) AS name,
                        SUM(sign) AS entries
                    FROM contributions GROUP BY kind, key HAVING SUM(sign) <> 0
                ) summed
            ) logged WHERE keys > 0
            """,
            [*params, _db_now()],
        )
    if connection.vendor == "sqlite":
        cursor.execute(f"DROP TABLE {CHANGED}")
    # Served by the partial index on entries = 0: only keys this load emptied.
    cursor.execute(f"DELETE FROM {SUMMARY} WHERE entries = 0")


@contextmanager
def no_jit(cursor: CursorWrapper) -> Iterator[None]:
    """PostgreSQL estimates 100 rows per set of JSON array elements, so it
    JIT-compiles the upkeep's statements: 50-120 ms each for a 10,000-row load,
    more than they take to run. Off for them, and as before after them."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    (before, _) = cursor.fetchone()
    yield
    # Only after success: a failed statement aborted the transaction, whose
    # rollback (to a savepoint, too) undoes the setting with everything else.
    cursor.execute("SELECT set_config('jit', %s, true)", [before])


def _db_now() -> Any:
    now = timezone.now()
    if connection.vendor == "postgresql":
        return now
    return connection.ops.adapt_datetimefield_value(now)


# --- the log of the FOLDED kinds ------------------------------------------------------
def fold() -> int:
    """Add the logged changes up into `warehouse_summary` and empty the log, in
    one transaction; how many log rows (loads) were folded. Run after each
    queued run (`ingestion.tasks.run_ingest`), by the reaper's schedule, by
    `manage.py warehouse_top --fold` and by imports of many files
    (`ingestion.files.iter_ingest_path`): the reads are exact without it, only
    slower the longer the log.

    It adds up exactly the rows it deletes: a load that commits meanwhile keeps
    its row for the next fold, a row another fold took is skipped."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            folded = _fold_in_sql(cursor)
        else:
            folded = _fold_in_python(cursor)
        cursor.execute(f"DELETE FROM {SUMMARY} WHERE entries = 0")
    return folded


def _fold_in_sql(cursor: CursorWrapper) -> int:
    """PostgreSQL: the log taken, added up and upserted in one statement, so the
    fold's memory is the server's `work_mem` (its sort spills to disk past it),
    not the keys' sums held in Python: ten slices of the full MPD's catalog touch
    ~1 M keys, ~450–670 bytes each in Python (docs/benchmarks.md). About as
    fast as the Python fold, once the log is read as jsonb (the json type
    parses an element again for each `->>`): 16.1–18.5 s against 17.9–18.1 s
    for ten slices of the 100-slice catalog, alternating; 11–16 s against
    8–11 s in 100-slice imports on a less busy machine. The latest name logged
    wins, as in `_add_up`; keys in order, like every upsert of the counts, so
    concurrent loads and folds queue instead of deadlocking."""
    cursor.execute(f"SET LOCAL work_mem = '{FOLD_WORK_MEM}'")
    cursor.execute(
        f"WITH taken AS (DELETE FROM {LOG} RETURNING id, changes), "
        "logged AS ("
        "  SELECT e.value ->> 0 AS kind, e.value ->> 1 AS key, e.value ->> 2 AS name, "
        "  (e.value ->> 3)::bigint AS n, t.id, e.ord "
        "  FROM taken t, jsonb_array_elements(t.changes::jsonb) WITH ORDINALITY AS e(value, ord)), "
        "summed AS ("
        "  SELECT kind, key, sum(n) AS entries, (array_agg(name ORDER BY id DESC, ord DESC) "
        "  FILTER (WHERE name IS NOT NULL))[1] AS name FROM logged GROUP BY kind, key), "
        f"written AS (INSERT INTO {SUMMARY} (kind, key, name, entries) "
        f"  SELECT kind, key, name, entries FROM summed WHERE entries <> 0 ORDER BY 1, 2 "
        f"  {_ADDED}) "
        "SELECT count(*) FROM taken"
    )
    return int(cursor.fetchone()[0])


def _fold_in_python(cursor: CursorWrapper) -> int:
    """SQLite: the log read one row at a time (`_added_up`), summed in Python, upserted."""
    folded, totals = _added_up(cursor, take=True)
    with _collector_paused():
        entries = sorted(
            [kind, key, name, n] for (kind, key), (name, n) in totals.items() if n != 0
        )
    del totals
    _add_entries(cursor, entries)
    return folded


def _added_up(cursor: CursorWrapper, *, take: bool) -> tuple[int, dict[tuple[str, str], list[Any]]]:
    """The log's rows added up per (kind, key): [latest name, sum]; and how many
    rows. One row at a time, oldest first (the latest name wins): a bulk slice's
    row is megabytes of JSON, so one is held at once. `take`: each row deleted
    as it is read (`DELETE … RETURNING`), for a fold."""
    cursor.execute(f"SELECT id FROM {LOG} ORDER BY id")
    ids = [log_id for (log_id,) in cursor.fetchall()]
    read = (
        f"DELETE FROM {LOG} WHERE id = %s RETURNING changes"
        if take
        else (f"SELECT changes FROM {LOG} WHERE id = %s")
    )
    totals: dict[tuple[str, str], list[Any]] = {}
    rows = 0
    for log_id in ids:
        cursor.execute(read, [log_id])
        row = cursor.fetchone()
        if row is not None:
            with _collector_paused():
                _add_up(totals, row[0])
            rows += 1
    return rows, totals


def _add_up(totals: dict[tuple[str, str], list[Any]], changes: str) -> None:
    """One log row's changes added to `totals` ((kind, key): [latest name, sum]).
    In Python: orjson reads a 10,000-row load's megabyte in milliseconds, where
    PostgreSQL's JSON functions took 0.3-0.5 s for two loads."""
    for kind, key, name, n in orjson.loads(changes):
        found = totals.get((kind, key))
        if found is None:
            totals[(kind, key)] = [name, n]
            continue
        found[1] += n
        if name is not None:
            found[0] = name


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while counts are added up: a fold of ten
    bulk slices makes a million lists (orjson's entries, the totals), and the
    collector, run every 700 allocations, walked the growing totals again and
    again: 8.4 s of CPU for one fold, 3.6 s without it (nothing here makes a
    cycle). Back as it was after (the switch is the process's: a thread that
    finds it off leaves it to the one that turned it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def pending() -> dict[str, Any]:
    """The log not folded yet: {"loads": its rows, "since": the oldest's time or None}."""
    found = SummaryChange.objects.aggregate(loads=Count("id"), since=Min("logged_at"))
    return {"loads": found["loads"], "since": found["since"]}


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
    # Migration 0006 rebuilds before migration 0012 made the log.
    if LOG in connection.introspection.table_names(cursor):
        cursor.execute(f"DELETE FROM {LOG}")
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
def _logged(kind: str) -> dict[str, tuple[str | None, int]]:
    """The log's changes to one kind not folded yet: {key: (latest name, sum)};
    empty for the kinds in place and after a fold (one probe of the log)."""
    if kind not in FOLDED or not SummaryChange.objects.exists():
        return {}
    with connection.cursor() as cursor:
        _, totals = _added_up(cursor, take=False)
    return {key: (name, n) for (of, key), (name, n) in totals.items() if of == kind and n != 0}


def _stored(kind: str, keys: Sequence[str]) -> dict[str, tuple[str | None, int]]:
    """The stored (name, entries) of these keys of one kind."""
    found: dict[str, tuple[str | None, int]] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            if not chunk:
                continue
            params: list[Any]
            if connection.vendor == "postgresql":
                where, params = "key = ANY(%s)", [list(chunk)]
            else:
                where, params = f"key IN ({', '.join(['%s'] * len(chunk))})", list(chunk)
            cursor.execute(
                f"SELECT key, name, entries FROM {SUMMARY} WHERE kind = %s AND {where}",
                [kind, *params],
            )
            found.update((key, (name, int(n))) for key, name, n in cursor.fetchall())
    return found


def _with_log(
    stored: dict[str, tuple[str | None, int]], logged: dict[str, tuple[str | None, int]]
) -> dict[str, tuple[str | None, int]]:
    """Stored counts with the log's changes added (keys that reach 0 left out)."""
    now = dict(stored)
    for key, (name, delta) in logged.items():
        stored_name, entries = now.get(key, (None, 0))
        now[key] = (stored_name if name is None else name, entries + delta)
    return {key: value for key, value in now.items() if value[1] != 0}


def _top_stored(kind: str, limit: int) -> dict[str, tuple[str | None, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, name, entries FROM {SUMMARY} WHERE kind = %s "
            "ORDER BY entries DESC, key LIMIT %s",
            [kind, limit],
        )
        return {key: (name, int(n)) for key, name, n in cursor.fetchall()}


def top(*, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    """The keys of one kind on most present rows: [{key, name, entries}], most
    first (ties by key). One index range read of `warehouse_summary`, and for
    a FOLDED kind with changes not folded yet, those changes added (exact)."""
    _check_kind(kind)
    logged = _logged(kind)
    # Exact: a key the log does not touch keeps its stored count, so it is in the
    # top `limit` only if it is in the stored top `limit` + (keys the log touches).
    candidates = _top_stored(kind, limit + len(logged))
    if logged:
        candidates.update(_stored(kind, list(logged)))
        candidates = _with_log(candidates, logged)
    ranked = sorted(candidates.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
    return [{"key": key, "name": name, "entries": n} for key, (name, n) in ranked]


def distinct(*, kind: str) -> int:
    """How many distinct keys of one kind the present rows credit: an index scan
    of all of them (~22,000 tracks at 631,000 rows), so not for every page view."""
    _check_kind(kind)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {SUMMARY} WHERE kind = %s", [kind])
        (count,) = cursor.fetchone()
    logged = _logged(kind)
    if logged:
        # The stored keys, plus the log's new ones, minus those it empties.
        stored = _stored(kind, list(logged))
        now = _with_log(stored, logged)
        count += len(now.keys() - stored.keys()) - len(stored.keys() - now.keys())
    return int(count)


def counts(*, kind: str) -> dict[str, int]:
    """Every key of one kind with its count now (the log added): {key: entries}."""
    _check_kind(kind)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, name, entries FROM {SUMMARY} WHERE kind = %s", [kind])
        stored = {key: (name, int(n)) for key, name, n in cursor.fetchall()}
    return {key: n for key, (_name, n) in _with_log(stored, _logged(kind)).items()}


def release_years() -> tuple[dict[int, int], int]:
    """Present rows per known release year, and the rows without one."""
    year_counts = counts(kind="year")
    unknown = year_counts.pop("", 0)
    years = {int(year): n for year, n in sorted(year_counts.items(), key=lambda kv: int(kv[0]))}
    return years, unknown


def differences() -> dict[str, int]:
    """Per kind, how many keys' counts (the log not folded yet added) differ from
    a fresh aggregation (empty when the counts are exact)."""
    differing: dict[str, int] = {}
    for kind in KINDS:
        expected = {row["key"]: row["entries"] for row in from_scratch(kind=kind)}
        stored = counts(kind=kind)
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
