"""Benchmark: loading N warehouse rows into `playlist_tracks`, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_load [--rows 100000] [--playlists 10]
        [--orm-rows 10000] [--repeat 3] [--database sqlite|postgresql|both]

Rows are generated once (`devtools.synthetic.snapshots.benchmark_snapshots`, then
`transform_snapshot`), outside every timing, as `--playlists` playlists of
`--rows / --playlists` distinct tracks each. Each method is timed `--repeat` times
(median reported), per playlist as the loader works (one transaction per playlist):

* loader   `warehouse.loader.load_playlist`: first load into an empty table, reload
           of the same snapshot (no-op), a reload with 10% of rows changed under the
           same snapshot id, and one under a new snapshot id;
           With `warehouse.summaries`, each is timed with the warehouse-wide counts'
           upkeep and without it (a no-op), alternating, and the upkeep's own seconds
           are measured within each load: its share of the rest of that load is the
           cost the summaries put on a load, whatever the machine's load; then a
           first load and a 10% change again with the index of present rows by
           track (migration 0010) dropped, in the same child: what it costs a load;
* (a) ORM  per-row `filter().first()` then `create()` / `filter().update()` in one
           transaction, on a subset (`--orm-rows`, default one playlist of 10,000);
* (b)      pandas `DataFrame.to_sql` (SQLAlchemy) into a staging table, then
           `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE content differs`;
* (c)      the ceiling: the same rows, already serialized, bulk-written into an
           unindexed TEMP table (PostgreSQL COPY / SQLite executemany), no merge.

Uses its own databases only: PostgreSQL `bench_playlist_analytics` (or
`BENCH_PG_DATABASE`; dropped and
created at start, dropped at the end unless --keep-db) and a temp SQLite file.
"""

import argparse
import contextlib
import cProfile
import dataclasses
import hashlib
import io
import json
import pickle
import pstats
import sys
import time
from datetime import datetime
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log, median

MODULE = "benchmarks.bench_load"
# Timed with and without the warehouse-wide summaries' upkeep (warehouse.summaries).
SUMMARY_COST_KEYS = (
    "loader_first",
    "loader_noop",
    "loader_10pct",
    "loader_newsnap",
    "loader_batch_first",
)
SEED = 20261126


# === data generation (parent, once) ==================================================
def generate(rows_total, playlists, seed=SEED):
    """[(snapshot, rows, changed_rows)] per playlist; rows are `transform_snapshot` frames."""
    from devtools.synthetic.primitives import seeded
    from devtools.synthetic.snapshots import benchmark_snapshots
    from ingestion.transform import transform_snapshot

    per_playlist = rows_total // playlists
    rng = seeded(seed, "changes")
    out = []
    for snapshot in benchmark_snapshots(rows_total, playlists, seed=seed):
        rows = transform_snapshot(snapshot).rows
        assert len(rows) == per_playlist, (len(rows), per_playlist)
        out.append((snapshot, rows, _changed(rows, rng)))
    return out


def _changed(rows, rng):
    """A copy with 10% of the rows' content changed (names; half also genres)."""
    changed = rows.copy()
    picked = rng.sample(range(len(rows)), len(rows) // 10)
    names = changed["track_name"].tolist()
    genres = [list(g) for g in changed["track_genres"]]
    for n, i in enumerate(picked):
        names[i] = f"{names[i]} (Remastered 2026)"
        if n % 2:
            genres[i] = [*genres[i], "hyperpop"]
    changed["track_name"] = names
    changed["track_genres"] = genres
    return changed


# === child: the timings ==============================================================
class Bench:
    def __init__(self, data, *, repeat, orm_rows):
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.data = data
        self.repeat = repeat
        self.orm_rows = orm_rows
        self.rows_total = sum(len(rows) for _, rows, _ in data)
        self.results = {}

    # helpers -----------------------------------------------------------------------
    def clear(self):
        from warehouse.schema import TABLE

        # Every table a load writes (history's and the summaries' too, if this
        # loader has them), so each run starts from an empty warehouse.
        tables = [
            TABLE,
            "playlist_track_spans",
            "playlist_versions",
            "warehouse_summary",
            "warehouse_summary_log",
        ]
        with self.connection.cursor() as cursor:
            existing = set(self.connection.introspection.table_names(cursor))
            tables = [table for table in tables if table in existing]
            if self.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)}, warehouse_playlists")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
                cursor.execute("DELETE FROM warehouse_playlists")

    def count(self):
        from warehouse.schema import TABLE

        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            return cursor.fetchone()[0]

    def record(self, key, label, rows, seconds, **extra):
        self.results[key] = {
            "label": label,
            "rows": rows,
            "runs": [round(s, 4) for s in seconds],
            "seconds": median(seconds),
            **extra,
        }
        log(f"{label}: median {median(seconds):.3f} s over {len(seconds)} runs ({rows} rows)")

    # project loader ----------------------------------------------------------------
    def load_all(self, which, snapshot_id="snap-1"):
        from warehouse.loader import load_playlist

        totals = {"inserted": 0, "updated": 0, "unchanged": 0, "removed": 0}
        for snapshot, rows, changed in self.data:
            if snapshot.snapshot_id != snapshot_id:
                snapshot = dataclasses.replace(snapshot, snapshot_id=snapshot_id)
            result = load_playlist(snapshot, rows if which == "base" else changed)
            totals["inserted"] += result.rows_inserted
            totals["updated"] += result.rows_updated
            totals["unchanged"] += result.rows_unchanged
            totals["removed"] += result.rows_removed
        return totals

    def bench_loader(self):
        steps = (
            ("loader_first", "loader: first load (empty table)", "base", "snap-1"),
            ("loader_noop", "loader: reload same snapshot (no-op)", "base", "snap-1"),
            ("loader_10pct", "loader: 10% rows changed, same snapshot id", "changed", "snap-1"),
            ("loader_newsnap", "loader: new snapshot id (+10% content)", "base", "snap-2"),
        )
        # With the warehouse-wide counts kept (the loader as shipped) and without
        # (their upkeep switched off), alternating within each run: the cost of
        # the summaries is the ratio of the two, under the same machine load.
        variants = ("", "nosummary_") if _has_summaries() else ("",)
        times = {prefix + key: [] for prefix in variants for key, *_ in steps}
        counts = {}
        # The summaries' own seconds within each timed load: their share of the
        # same load does not depend on how busy the machine was at that moment.
        shares = {key: [] for key, *_ in steps}
        # The log of the folded kinds (the four steps' changes) added up after
        # them: outside the loads, as a worker does after its run; timed on its own.
        folds = []
        for run in range(self.repeat):
            for prefix in variants:
                self.clear()
                for key, _, which, snapshot_id in steps:
                    spent = {}
                    with _summaries_kept(not prefix, spent), Timer() as timer:
                        counts[prefix + key] = self.load_all(which, snapshot_id)
                    times[prefix + key].append(timer.seconds)
                    if not prefix and variants != ("",):
                        summary = spent.get("summaries", 0.0)
                        shares[key].append(summary / max(1e-9, timer.seconds - summary))
                if not prefix:
                    # After the four steps, not between them: a fold's writes
                    # (and the vacuum they set off) would slow the next timed
                    # step, which the loads without summaries never meet.
                    fold_seconds = _fold()
                    if fold_seconds is not None:
                        folds.append(fold_seconds)
                assert self.count() == self.rows_total
            summary = ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
            log(f"loader run {run + 1}: {summary}")
        if any(shares.values()):
            self.results["summary_share"] = {key: median(v) for key, v in shares.items() if v}
        if folds:
            self.results["summary_fold_seconds"] = median(folds)
        for prefix in variants:
            for key, label, *_ in steps:
                if prefix:
                    label = label.replace("loader:", "loader without summaries:")
                self.record(
                    prefix + key,
                    label,
                    self.rows_total,
                    times[prefix + key],
                    counts=counts[prefix + key],
                )

    def orm_subset(self):
        """Row dicts (no bookkeeping columns) for the first `orm_rows` rows."""
        out = []
        for snapshot, rows, _ in self.data:
            frame = rows.astype(object).where(rows.notna(), None)
            for record in frame.to_dict("records"):
                out.append((snapshot, record))
                if len(out) >= self.orm_rows:
                    return out
        return out

    def orm_load(self, subset):
        from django.db import transaction
        from django.utils import timezone

        from warehouse.models import PlaylistTrack

        now = timezone.now()
        created = updated = 0
        with transaction.atomic():
            for _snapshot, record in subset:
                key = {"playlist_id": record["playlist_id"], "track_id": record["track_id"]}
                existing = PlaylistTrack.objects.filter(**key).first()
                if existing is None:
                    PlaylistTrack.objects.create(
                        **record, first_seen_at=now, last_seen_at=now, loaded_at=now
                    )
                    created += 1
                    continue
                changed = {
                    field: value
                    for field, value in record.items()
                    if getattr(existing, field) != value
                }
                if existing.removed_at is not None:
                    changed["removed_at"] = None
                if changed:
                    PlaylistTrack.objects.filter(**key).update(**changed, loaded_at=now)
                    updated += 1
        return created, updated

    def bench_orm(self):
        subset = self.orm_subset()
        first, noop = [], []
        counts = {}
        for run in range(self.repeat):
            self.clear()
            with Timer() as timer:
                counts["first"] = self.orm_load(subset)
            first.append(timer.seconds)
            assert self.count() == len(subset)
            with Timer() as timer:
                counts["noop"] = self.orm_load(subset)
            noop.append(timer.seconds)
            log(f"ORM run {run + 1}: first {first[-1]:.2f}s, no-op {noop[-1]:.2f}s {counts}")
        assert counts["noop"] == (0, 0), counts
        self.record("orm_first", "(a) per-row ORM: first load", len(subset), first)
        self.record("orm_noop", "(a) per-row ORM: reload unchanged", len(subset), noop)

    # (b) pandas to_sql + INSERT … SELECT … ON CONFLICT ------------------------------
    def sqlalchemy_engine(self):
        import sqlalchemy

        db = self.connection.settings_dict
        if self.vendor == "postgresql":
            url = sqlalchemy.engine.URL.create(
                "postgresql+psycopg2",
                username=db["USER"] or None,
                password=db["PASSWORD"] or None,
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                database=db["NAME"],
            )
            return sqlalchemy.create_engine(url)
        engine = sqlalchemy.create_engine(f"sqlite:///{db['NAME']}")

        @sqlalchemy.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # same per-connection pragma as settings.py
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        return engine

    def pandas_merge_sql(self, staging):
        from warehouse.loader import INSERT_ONLY, KEY, NOT_COMPARED
        from warehouse.schema import COLUMN_NAMES, COLUMNS, TABLE

        if self.vendor == "postgresql":
            types = {name: pg.split(" NOT NULL")[0].split(" DEFAULT")[0] for name, pg, _ in COLUMNS}
            select = ", ".join(f"CAST({c} AS {types[c]})" for c in COLUMN_NAMES)
            distinct = "IS DISTINCT FROM"
        else:
            select = ", ".join(COLUMN_NAMES)
            distinct = "IS NOT"
        updated = [c for c in COLUMN_NAMES if c not in KEY + INSERT_ONLY]
        compared = [c for c in COLUMN_NAMES if c not in NOT_COMPARED]
        return (
            f"INSERT INTO {TABLE} ({', '.join(COLUMN_NAMES)}) SELECT {select} FROM {staging} "
            "WHERE true ON CONFLICT (playlist_id, track_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in updated)
            + " WHERE "
            + " OR ".join(f"{TABLE}.{c} {distinct} excluded.{c}" for c in compared)
        )

    def pandas_load(self, engine, seen_at):
        from django.utils import timezone

        from warehouse.schema import COLUMN_NAMES, COLUMNS

        json_columns = [name for name, postgresql_type, _ in COLUMNS if "jsonb" in postgresql_type]

        staging = "bench_pandas_staging"
        merge = self.pandas_merge_sql(staging)
        now = timezone.now()
        written = 0
        for _snapshot, rows, _ in self.data:
            frame = rows.assign(
                first_seen_at=now, last_seen_at=seen_at, removed_at=None, loaded_at=now
            ).loc[:, list(COLUMN_NAMES)]
            for column in json_columns:
                frame[column] = [json.dumps(list(v), ensure_ascii=False) for v in frame[column]]
            if self.vendor == "sqlite":
                # Django stores SQLite datetimes as naive UTC text.
                for column in ("added_at", "first_seen_at", "last_seen_at", "loaded_at"):
                    frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
            with engine.begin() as conn:
                frame.to_sql(staging, conn, if_exists="replace", index=False)
                written += conn.exec_driver_sql(merge).rowcount
                conn.exec_driver_sql(f"DROP TABLE {staging}")
        return written

    def bench_pandas(self):
        from django.utils import timezone

        engine = self.sqlalchemy_engine()
        first, noop = [], []
        written = {}
        try:
            for run in range(self.repeat):
                self.clear()
                seen_at = timezone.now()
                with Timer() as timer:
                    written["first"] = self.pandas_load(engine, seen_at)
                first.append(timer.seconds)
                assert self.count() == self.rows_total
                with Timer() as timer:
                    written["noop"] = self.pandas_load(engine, seen_at)
                noop.append(timer.seconds)
                log(f"pandas run {run + 1}: first {first[-1]:.2f}s, no-op {noop[-1]:.2f}s")
        finally:
            engine.dispose()
        self.record(
            "pandas_first",
            "(b) pandas to_sql + merge: first load",
            self.rows_total,
            first,
            written=written["first"],
        )
        self.record(
            "pandas_noop",
            "(b) pandas to_sql + merge: reload same",
            self.rows_total,
            noop,
            written=written["noop"],
        )

    # (c) ceiling ---------------------------------------------------------------------
    def serialized(self):
        """The loader's own wire format of every playlist's rows, built untimed."""
        from django.utils import timezone

        from warehouse.schema import COLUMN_NAMES

        now = timezone.now()
        out = []
        with Timer() as timer:
            for _snapshot, rows, _ in self.data:
                frame = rows.assign(
                    first_seen_at=now, last_seen_at=now, removed_at=None, loaded_at=now
                ).loc[:, list(COLUMN_NAMES)]
                frame = frame.astype(object).where(frame.notna(), None)
                records = frame.itertuples(index=False, name=None)
                if self.vendor == "postgresql":
                    out.append(
                        "".join(
                            "\t".join(
                                _copy_text(v, c) for v, c in zip(record, COLUMN_NAMES, strict=True)
                            )
                            + "\n"
                            for record in records
                        )
                    )
                else:
                    out.append([_sqlite_values(self.connection, r) for r in records])
        return out, timer.seconds

    def bench_ceiling(self):
        from django.db import transaction

        from warehouse.schema import COLUMN_NAMES, TABLE

        payloads, serialize_seconds = self.serialized()
        columns = ", ".join(COLUMN_NAMES)
        placeholders = ", ".join(["%s"] * len(COLUMN_NAMES))
        times = []
        for run in range(self.repeat):
            loaded = 0
            with Timer() as timer:
                for payload in payloads:
                    with transaction.atomic(), self.connection.cursor() as cursor:
                        if self.vendor == "postgresql":
                            cursor.execute(
                                f"CREATE TEMP TABLE bench_ceiling (LIKE {TABLE} INCLUDING DEFAULTS)"
                                " ON COMMIT DROP"
                            )
                            cursor.cursor.copy_expert(
                                f"COPY bench_ceiling ({columns}) FROM STDIN WITH (FORMAT text)",
                                io.StringIO(payload),
                            )
                            loaded += cursor.cursor.rowcount
                        else:
                            cursor.execute(
                                f"CREATE TEMP TABLE bench_ceiling AS SELECT * FROM {TABLE} WHERE 0"
                            )
                            cursor.executemany(
                                f"INSERT INTO bench_ceiling ({columns}) VALUES ({placeholders})",
                                payload,
                            )
                            loaded += len(payload)
                            cursor.execute("DROP TABLE bench_ceiling")
            times.append(timer.seconds)
            assert loaded == self.rows_total, loaded
            log(f"ceiling run {run + 1}: {times[-1]:.3f}s")
        method = "COPY" if self.vendor == "postgresql" else "executemany"
        label = f"(c) ceiling: bare {method} into unindexed TEMP table"
        self.record(
            "ceiling", label, self.rows_total, times, serialize_seconds=round(serialize_seconds, 3)
        )

    # where the loader's time goes ----------------------------------------------------
    def profile_loader(self):
        """One extra first load + no-op reload with each loader phase timed, then cProfile."""
        from warehouse import loader

        candidates = (
            "_upsert_playlist",
            "_upsert_playlists",
            "_present_and_removed_ids",
            "_concat",
            "_records",
            "_columns",
            "_fill_staging",
            "_merge_staging",
            "_mark_removed",
        )
        # The loader's private phases, whichever of them this version has.
        phases = [name for name in candidates if hasattr(loader, name)]
        spent = {}
        originals = {name: getattr(loader, name) for name in phases}

        def timed(name, function):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

            return wrapper

        report = {}
        try:
            for name, function in originals.items():
                setattr(loader, name, timed(name, function))
            self.clear()
            for label in ("first", "noop", "noop_after_ANALYZE"):
                if label == "noop_after_ANALYZE":
                    # Fresh planner statistics for playlist_tracks (autovacuum would
                    # get there eventually); shows how plan-dependent _mark_removed is.
                    with self.connection.cursor() as cursor:
                        cursor.execute("ANALYZE playlist_tracks")
                spent.clear()
                with Timer() as timer:
                    self.load_all("base")
                report[label] = {
                    "total": round(timer.seconds, 3),
                    **{name: round(spent.get(name, 0.0), 3) for name in phases},
                }
                report[label]["other (commit, DROP, result)"] = round(
                    timer.seconds - sum(spent.values()), 3
                )
        finally:
            for name, function in originals.items():
                setattr(loader, name, function)

        # cProfile of one first load: the hottest functions by own time.
        self.clear()
        profiler = cProfile.Profile()
        profiler.enable()
        self.load_all("base")
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(12)
        report["cprofile_first_load_top"] = _trim_pstats(stream.getvalue())
        self.results["profile"] = report
        log(f"loader phases: {json.dumps(report['first'])}")

    def bench_loader_batch(self):
        """`load_playlists` (all playlists in one transaction), if this loader has it."""
        from warehouse import loader

        if not hasattr(loader, "load_playlists"):
            return
        batch = [(snapshot, rows) for snapshot, rows, _ in self.data]
        variants = ("", "nosummary_") if _has_summaries() else ("",)
        times = {prefix: [] for prefix in variants}
        shares = []
        for _run in range(self.repeat):
            for prefix in variants:
                self.clear()
                spent = {}
                with _summaries_kept(not prefix, spent), Timer() as timer:
                    loader.load_playlists(batch)
                times[prefix].append(timer.seconds)
                if not prefix and variants != ("",):
                    summary = spent.get("summaries", 0.0)
                    shares.append(summary / max(1e-9, timer.seconds - summary))
                assert self.count() == self.rows_total
        if shares and "summary_share" in self.results:
            self.results["summary_share"]["loader_batch_first"] = median(shares)
        for prefix in variants:
            self.record(
                f"{prefix}loader_batch_first",
                "loader batch load_playlists (1 txn): first load"
                + (", without summaries" if prefix else ""),
                self.rows_total,
                times[prefix],
            )

    def bench_without_track_index(self):
        """A first load and a 10% change with the index of present rows by track
        (`schema.TRACK_PRESENT_INDEX`, migration 0010) dropped, then the index put back:
        beside `loader_first` and `loader_10pct`, what that index costs a load."""
        from warehouse import schema

        with self.connection.cursor() as cursor:
            for statement in schema.drop_track_present_index_sql():
                cursor.execute(statement)
        times = {"first": [], "10pct": []}
        try:
            for _run in range(self.repeat):
                self.clear()
                with Timer() as timer:
                    self.load_all("base")
                times["first"].append(timer.seconds)
                with Timer() as timer:
                    self.load_all("changed")
                times["10pct"].append(timer.seconds)
        finally:
            self.clear()
            with self.connection.cursor() as cursor:
                for statement in schema.create_track_present_index_sql():
                    cursor.execute(statement)
        self.record(
            "no_track_index_first",
            "loader: first load, without the track index",
            self.rows_total,
            times["first"],
        )
        self.record(
            "no_track_index_10pct",
            "loader: 10% rows changed, without the track index",
            self.rows_total,
            times["10pct"],
        )

    def run(self, *, loader_only=False):
        self.bench_loader()
        self.bench_without_track_index()
        self.bench_loader_batch()
        if loader_only:
            return self.results
        self.bench_ceiling()
        self.bench_pandas()
        self.bench_orm()
        self.profile_loader()
        return self.results


def _fold():
    """Seconds `summaries.fold` takes now (None for a loader without it)."""
    from warehouse import summaries

    if not hasattr(summaries, "fold"):
        return None
    with Timer() as timer:
        summaries.fold()
    return timer.seconds


def _has_summaries():
    import importlib.util

    return importlib.util.find_spec("warehouse.summaries") is not None


@contextlib.contextmanager
def _summaries_kept(kept, spent=None):
    """The loader as shipped (kept; the seconds its summary upkeep took are added
    to `spent["summaries"]`), or with that upkeep made a no-op."""
    from warehouse import summaries

    # Every hook the loader calls (those this loader has): off, a reload on
    # PostgreSQL gets no noting table (start_noting None) and notes nothing.
    hooks = ("record_staged", "record_written", "start_noting", "record_noted")
    originals = {name: getattr(summaries, name) for name in hooks if hasattr(summaries, name)}

    def timed(function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if spent is not None:
                    spent["summaries"] = spent.get("summaries", 0.0) + (
                        time.perf_counter() - started
                    )

        return wrapper

    try:
        for name, function in originals.items():
            setattr(summaries, name, timed(function) if kept else lambda *a, **k: None)
        yield
    finally:
        for name, function in originals.items():
            setattr(summaries, name, function)


_JSON_COLUMNS = ("track_genres", "artist_ids", "artist_names")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value, column):
    """PostgreSQL COPY text format of one value (for the ceiling's payload)."""
    if value is None:
        return "\\N"
    if column in _JSON_COLUMNS:
        value = json.dumps(list(value), ensure_ascii=False)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _sqlite_values(connection, record):
    values = []
    for value, column in zip(record, _COLUMN_NAMES(), strict=True):
        if value is not None and column in _JSON_COLUMNS:
            value = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
    return values


def _COLUMN_NAMES():  # noqa: N802 - imported lazily (needs Django set up)
    from warehouse.schema import COLUMN_NAMES

    return COLUMN_NAMES


def _loader_digest():
    return hashlib.sha256((_common.REPO_ROOT / "warehouse" / "loader.py").read_bytes()).hexdigest()


def _trim_pstats(text):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("ncalls"):
            return "\n".join(line.rstrip() for line in lines[i:] if line.strip())
    return text


def child(args):
    _common.setup_django()
    from django.db import connection

    _common.migrate()
    with open(args.data, "rb") as handle:
        data = pickle.load(handle)
    log(f"{connection.vendor}: {sum(len(r) for _, r, _ in data)} rows in {len(data)} playlists")
    digest = _loader_digest()
    bench = Bench(data, repeat=args.repeat, orm_rows=args.orm_rows)
    results = bench.run(loader_only=args.loader_only)
    results["loader_sha256"] = digest
    if _loader_digest() != digest:
        results["loader_sha256_changed_during_run"] = _loader_digest()
        log("WARNING: warehouse/loader.py changed on disk during this run")
    results["vendor"] = connection.vendor
    connection.close()
    Path(args.result).write_text(json.dumps(results, indent=2, default=str))


# === parent ==========================================================================
def parent(args):
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    machine = _common.machine_info()
    all_results = {}
    with _common.temp_dir("bench-load-") as tmp:
        # Django is set up here only to build the rows; this URL is
        # never connected to (and is not the developer's data/db.sqlite3).
        import os

        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'parent-unused.sqlite3'}"
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
        os.environ["DEBUG"] = "false"
        _common.setup_django()
        log(f"generating {args.rows} rows in {args.playlists} playlists (untimed)…")
        with Timer() as timer:
            data = generate(args.rows, args.playlists)
        log(f"generated in {timer.seconds:.1f} s")
        data_path = tmp / "rows.pickle"
        data_path.write_bytes(pickle.dumps(data))
        child_args = [
            "--data",
            str(data_path),
            "--repeat",
            str(args.repeat),
            "--orm-rows",
            str(args.orm_rows),
            *(["--loader-only"] if args.loader_only else []),
        ]
        for database in databases:
            log(f"--- {database} ---")
            with _common.throwaway_database(database, tmp, keep=args.keep_db) as url:
                all_results[database] = _common.run_child(
                    MODULE, url, child_args, tmp / f"{database}.json"
                )
    report = render(all_results, machine, args)
    print(report)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine, "args": vars(args), "results": all_results}, indent=2)
        )


def render(all_results, machine, args):
    per = args.rows // args.playlists
    digests = {r.get("loader_sha256", "?")[:12] for r in all_results.values()}
    out = [
        f"warehouse/loader.py sha256: {', '.join(sorted(digests))}",
        f"bench_load: {args.playlists} playlists × {per} rows = {per * args.playlists} rows, "
        f"median of {args.repeat} runs; (a) on a {args.orm_rows}-row subset",
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, "
        f"PostgreSQL {machine.get('postgresql')}, SQLite {machine['sqlite']}",
    ]
    order = (
        "loader_first",
        "loader_noop",
        "loader_10pct",
        "loader_newsnap",
        "loader_batch_first",
        *(f"nosummary_{key}" for key in SUMMARY_COST_KEYS),
        "no_track_index_first",
        "no_track_index_10pct",
        "orm_first",
        "orm_noop",
        "pandas_first",
        "pandas_noop",
        "ceiling",
    )
    for database, results in all_results.items():
        rows = []
        for key in order:
            r = results.get(key)
            if not r:
                continue
            note = ""
            if "counts" in r:
                c = r["counts"]
                note = f"ins {c['inserted']}, upd {c['updated']}, unch {c['unchanged']}"
            elif "written" in r:
                note = f"written {r['written']}"
            elif "serialize_seconds" in r:
                note = f"serializing beforehand (untimed): {r['serialize_seconds']} s"
            rows.append(
                (
                    r["label"],
                    r["rows"],
                    f"{r['seconds']:.3f}",
                    f"{r['rows'] / r['seconds']:,.0f}",
                    " / ".join(f"{s:.2f}" for s in r["runs"]),
                    note,
                )
            )
        out.append(f"\n## {database}\n")
        out.append(
            _common.format_table(("method", "rows", "median s", "rows/s", "runs s", "notes"), rows)
        )
        if "pandas_first" in results:  # not with --loader-only
            loader = results["loader_first"]["seconds"]
            pandas = results["pandas_first"]["seconds"]
            ceiling = results["ceiling"]["seconds"]
            orm_rate = results["orm_first"]["rows"] / results["orm_first"]["seconds"]
            loader_rate = results["loader_first"]["rows"] / loader
            out.append("")
            out.append(
                f"loader vs (b) pandas, first load: {pandas / loader:.2f}× faster"
                + (
                    "  (target ≥ 3×: " + ("MET" if pandas / loader >= 3 else "MISSED") + ")"
                    if database == "postgresql"
                    else "  (no target on SQLite)"
                )
            )
            out.append(
                "loader vs (b) pandas, no-op reload: "
                f"{results['pandas_noop']['seconds'] / results['loader_noop']['seconds']:.2f}"
                "× faster"
            )
            out.append(
                f"loader vs (c) ceiling: loader takes {loader / ceiling:.2f}× the ceiling's time"
                f"  (target ≤ 4×: {'MET' if loader / ceiling <= 4 else 'MISSED'})"
            )
            out.append(f"loader vs (a) per-row ORM, rows/s: {loader_rate / orm_rate:.1f}× faster")
        costs = [
            (key, results[key]["seconds"] / results[f"nosummary_{key}"]["seconds"])
            for key in SUMMARY_COST_KEYS
            if key in results and f"nosummary_{key}" in results
        ]
        if costs:
            out.append(
                "loader with / without the summaries' upkeep, median of each (same run): "
                + ", ".join(f"{key} {ratio:.2f}×" for key, ratio in costs)
            )
        index_costs = [
            (
                step,
                results[f"loader_{step}"]["seconds"] / results[f"no_track_index_{step}"]["seconds"],
            )
            for step in ("first", "10pct")
            if f"no_track_index_{step}" in results
        ]
        if index_costs:
            out.append(
                "loader with / without the track index (0010), median of each (same run): "
                + ", ".join(f"{step} {ratio:.2f}×" for step, ratio in index_costs)
            )
        if "summary_share" in results:
            out.append(
                "summaries' upkeep as a share of the rest of the same load (target ≤ 15%): "
                + ", ".join(f"{key} {share:.1%}" for key, share in results["summary_share"].items())
            )
        if "summary_fold_seconds" in results:
            out.append(
                "folding the four steps' logged counts after them (outside the loads, median): "
                f"{results['summary_fold_seconds']:.3f} s"
            )
        profile = results.get("profile")
        if profile:
            out.append("\nloader phases (one extra, instrumented run; seconds, all playlists):")
            for label in ("first", "noop", "noop_after_ANALYZE"):
                phases = ", ".join(f"{k} {v}" for k, v in profile[label].items())
                out.append(f"  {label}: {phases}")
            out.append("cProfile, first load, top functions by own time:")
            top = profile["cprofile_first_load_top"].splitlines()
            out.append("\n".join("  " + line for line in top))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="total rows (default 100000)")
    parser.add_argument("--playlists", type=int, default=10, help="playlists (default 10)")
    parser.add_argument("--orm-rows", type=int, default=10_000, help="(a) subset (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (default 3)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep-db", action="store_true", help="keep bench_playlist_analytics")
    parser.add_argument(
        "--loader-only",
        action="store_true",
        help="time the project's loader only (with and without summaries), not (a)-(c)",
    )
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--data", help=argparse.SUPPRESS)
    _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
