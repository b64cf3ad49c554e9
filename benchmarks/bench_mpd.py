"""Benchmark: a synthetic Million Playlist Dataset at scale into PostgreSQL.

    .venv/bin/python -m benchmarks.bench_mpd [--slices 100] [--runs 20] [--keep-db]
        [--queries-only] [--import-only] [--candidate-index SQL] [--summary-scale 10]
        [--json FILE]

1. `--slices` slices of 1,000 playlists (~66 tracks each: 100 slices ≈ 100,000
   playlists, ~6.35 million rows) are written by `devtools.synthetic.mpd` into a
   temp directory, outside every timing (their generation time is reported apart).
2. A child process imports the directory into a throwaway PostgreSQL database
   `bench_mpd` (dropped and created by this script) with the real importer,
   `ingestion.files.iter_ingest_path`: one transaction per slice. Reported: total
   time, rows/s, rows and playlists loaded, per-slice times, and the child's peak
   RSS (`ru_maxrss`): the importer's own memory, Django set-up included.
3. A second child runs `VACUUM ANALYZE` (what autovacuum does after a bulk load,
   done at once so the numbers do not depend on when it would have) and times,
   p50/p95 over `--runs` runs each, the per-playlist dashboard selectors of
   `warehouse.queries` on a few playlists (short, median, longest), a user
   overview over 20 playlists, and the warehouse-wide `warehouse_top_artists` —
   once with the indexes of the migrations, once with candidate indexes added
   (`--candidate-index`, default a partial btree on `artist_ids`) inside a
   transaction that is rolled back. EXPLAIN (ANALYZE, BUFFERS) of the
   warehouse-wide query is printed for both.

With `warehouse.summaries`, step 3 first checks `warehouse_summary` against a fresh
aggregation (`summaries.differences`), then also times the warehouse-wide selectors
read from it (`warehouse_overview`, `top` per kind) against the same top 20s
aggregated from scratch (the "before"), and once more on a summary table holding
`--summary-scale` times its keys (a long tail added in a rolled-back transaction:
their cost depends on the summary's keys, not on the fact table's rows).
`BENCH_MPD_DATABASE` names the throwaway database (default `bench_mpd`).

`--keep-db` keeps `bench_mpd` (e.g. for EXPLAIN by hand); `--queries-only` reruns
step 3 on a kept database. `--import-only` stops after step 2 (the import's
numbers only, e.g. to compare settings such as IMPORT_PARALLEL_SLICES).
It never touches any other database.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log

MODULE = "benchmarks.bench_mpd"
PG_DATABASE = os.environ.get("BENCH_MPD_DATABASE", "bench_mpd")  # see _common.PG_DATABASE
# Measured: ~17.5 MB of JSON per slice; ~25 MB of PostgreSQL table and indexes per
# slice (100 slices: 2.5 GB), plus WAL. Refuse to start without twice that free.
BYTES_PER_SLICE_FILES = 18 * 1024**2
BYTES_PER_SLICE_DB = 40 * 1024**2
USER_PLAYLISTS = 20
# Candidate index timed against the migrations' own (see --candidate-index).
ARTISTS_INDEX = (
    "CREATE INDEX bench_artists_idx ON playlist_tracks (artist_ids) WHERE removed_at IS NULL"
)


# === throwaway PostgreSQL database ======================================================
def _rss_mb():
    """Current resident set size (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# === child 1: the import ================================================================
def child_import(args):
    _common.setup_django()
    _common.migrate()
    from ingestion.files import iter_ingest_path

    baseline_rss = _rss_mb()
    slices, playlists, rows, failed = [], 0, 0, []
    current = None
    folds = _timing_folds()
    log(f"importing {args.data} (RSS {baseline_rss:.0f} MB after set-up)")
    with Timer() as total:
        slice_started = total.started
        # A slice's results come once it is loaded, so the first result of each
        # slice ends that slice's time (read, transform, load, commit).
        for result in iter_ingest_path(args.data):
            if result.reference != current:
                now = time.perf_counter()
                slices.append(now - slice_started)
                current, slice_started = result.reference, now
                if len(slices) > 1:
                    _log_progress(len(slices) - 1, args.slices, rows, total.started)
            if result.status != "succeeded":
                failed.append(f"{result.reference}: {result.error}")
                continue
            playlists += 1
            rows += result.tracks_loaded
        # The counts exact and folded: an import that left its log unfolded
        # (a loader folding nowhere) has it folded here, inside the total.
        if _has_summaries() and summaries_pending():
            from warehouse import summaries

            summaries.fold()
    if failed:
        raise SystemExit(f"{len(failed)} failed: {failed[:3]}")
    report = {
        "seconds": total.seconds,
        "playlists": playlists,
        "rows": rows,
        "slice_seconds": slices,
        "baseline_rss_mb": baseline_rss,
        "peak_rss_mb": _peak_rss_mb(),
        # (seconds, loads folded) of each fold during the import, the last one
        # at its end (after the last slice's time: in the total, in no slice).
        "folds": folds,
    }
    log(f"imported {rows:,} rows in {total.seconds:.1f} s; peak RSS {report['peak_rss_mb']:.0f} MB")
    Path(args.result).write_text(json.dumps(report, indent=2))


def summaries_pending():
    from warehouse import summaries

    return hasattr(summaries, "pending") and summaries.pending()["loads"] > 0


def _timing_folds():
    """The list each `summaries.fold()` of the import appends (seconds, loads
    folded) to: the importer calls it through the module, so a timed wrapper in
    its place sees every fold. Empty for a loader without the log."""
    folds = []
    if not _has_summaries():
        return folds
    from warehouse import summaries

    if not hasattr(summaries, "fold"):
        return folds
    untimed = summaries.fold

    def timed():
        started = time.perf_counter()
        loads = untimed()
        folds.append((time.perf_counter() - started, loads))
        log(f"  fold of {loads} loads' counts in {folds[-1][0]:.2f} s, RSS {_rss_mb():.0f} MB")
        return loads

    summaries.fold = timed
    return folds


def _log_progress(done, total_slices, rows, started):
    if done % 10 and done != total_slices:
        return
    seconds = time.perf_counter() - started
    log(
        f"{done}/{total_slices} slices, {rows:,} rows, {seconds:.0f} s, "
        f"{rows / seconds:,.0f} rows/s, RSS {_rss_mb():.0f} MB (peak {_peak_rss_mb():.0f})"
    )


# === child 2: the queries ===============================================================
def child_queries(args):
    _common.setup_django()
    from django.db import connection

    with connection.cursor() as cursor, Timer() as vacuum:
        cursor.execute("VACUUM ANALYZE playlist_tracks")
    log(f"VACUUM ANALYZE in {vacuum.seconds:.1f} s")
    report = {"vacuum_analyze_seconds": vacuum.seconds, "sizes": _sizes()}
    if _has_summaries():
        with Timer() as checking:
            report["summary_differences"] = _summaries_exact()
        log(
            f"summaries vs a fresh aggregation: {report['summary_differences'] or 'exact'}"
            f" (checked in {checking.seconds:.1f} s)"
        )
    if _has_summaries():
        report.update(_time_fold(args.runs))
    if _has_summaries() and args.summary_scale > 1:
        report["scaled_summaries"] = _time_scaled_summaries(args.runs, args.summary_scale)
    playlists = _chosen_playlists()
    report["playlists"] = playlists
    report["variants"] = {}
    for variant in ("without", "with"):
        report["variants"][variant] = _time_variant(
            variant, playlists, args.runs, args.candidate_index
        )
    Path(args.result).write_text(json.dumps(report, indent=2, default=str))


def _sizes():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('playlist_tracks'), pg_relation_size('playlist_tracks'),"
            " (SELECT count(*) FROM playlist_tracks), pg_database_size(current_database())"
        )
        total, heap, rows, database = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = 'playlist_tracks'::regclass ORDER BY 1"
        )
        indexes = dict(cursor.fetchall())
    return {"total": total, "heap": heap, "rows": rows, "database": database, "indexes": indexes}


def _chosen_playlists():
    """The shortest, a median-length and the longest playlist, and one more by id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT playlist_id, count(*) AS n FROM playlist_tracks "
            "WHERE removed_at IS NULL GROUP BY playlist_id ORDER BY n, playlist_id"
        )
        by_size = cursor.fetchall()
    picks = {
        "shortest": by_size[0],
        "median": by_size[len(by_size) // 2],
        "longest": by_size[-1],
        "last loaded": max(by_size, key=lambda row: int(row[0].split(":")[1])),
    }
    return {label: {"playlist_id": pid, "tracks": n} for label, (pid, n) in picks.items()}


def _time_variant(variant, playlists, runs, candidates):
    from django.db import connection, transaction

    from warehouse import queries

    results = {}
    user_playlists = _user_playlists()
    with transaction.atomic():
        if variant == "with":
            # Built inside this transaction and rolled back with it: the table is
            # left as the migrations made it.
            with connection.cursor() as cursor, Timer() as building:
                for statement in candidates:
                    cursor.execute(statement)
                cursor.execute("ANALYZE playlist_tracks")
            results["candidate indexes built in"] = {"seconds": building.seconds}
            results["candidate index sizes"] = _sizes()["indexes"]
        for label, playlist in playlists.items():
            pid = playlist["playlist_id"]
            results[f"dashboard {label} ({playlist['tracks']} tracks)"] = _timed(
                lambda pid=pid: queries.playlist_dashboard(playlist_id=pid), runs
            )
        pid = playlists["longest"]["playlist_id"]
        results["tracks page, longest, sort by artist"] = _timed(
            lambda: queries.playlist_tracks_page(playlist_id=pid, sort="artist"), runs
        )
        results[f"user_overview ({USER_PLAYLISTS} playlists)"] = _timed(
            lambda: queries.user_overview(playlist_ids=user_playlists), runs
        )
        results["warehouse_top_artists (all playlists)"] = _timed(
            lambda: queries.warehouse_top_artists(limit=20), runs
        )
        results["explain warehouse_top_artists"] = _explain_top_artists()
        if _has_summaries():
            results.update(_time_warehouse_wide(runs, from_scratch=variant == "without"))
        log(f"{variant} candidate indexes: " + ", ".join(_summary(results)))
        transaction.set_rollback(True)
    return results


def _has_summaries():
    import importlib.util

    return importlib.util.find_spec("warehouse.summaries") is not None


# Runs of a from-scratch aggregation (seconds each at 6.3 M rows): the "before".
FROM_SCRATCH_RUNS = 3


def _time_warehouse_wide(runs, *, from_scratch):
    """The warehouse-wide selectors from the loader's counts, and (the "before")
    the same top 20s aggregated from playlist_tracks as they would be without."""
    from warehouse import summaries

    results = {
        "warehouse_overview (summaries, 5 kinds)": _timed(
            lambda: summaries.warehouse_overview(limit=20), runs
        )
    }
    for kind in summaries.KINDS:
        results[f"top 20 {kind}s (summaries)"] = _timed(
            lambda kind=kind: summaries.top(kind=kind, limit=20), runs
        )
        if from_scratch:
            results[f"top 20 {kind}s (from scratch)"] = _timed(
                lambda kind=kind: summaries.from_scratch(kind=kind, limit=20), FROM_SCRATCH_RUNS
            )
    return results


def _time_fold(runs):
    """The reads with the import's log of track, album and artist changes not
    folded yet (as between two runs of the reaper's schedule), then the fold
    itself; the later timings read the folded counts. Nothing for a loader
    without the log."""
    from warehouse import summaries

    if not hasattr(summaries, "fold"):
        return {}
    loads = summaries.pending()["loads"]
    unfolded = _time_warehouse_wide(runs, from_scratch=False)
    with Timer() as folding:
        folded = summaries.fold()
    log(f"fold of {folded} loads' changes in {folding.seconds:.2f} s (unfolded before: {loads})")
    return {"unfolded_reads": unfolded, "fold": {"loads": folded, "seconds": folding.seconds}}


def _time_scaled_summaries(runs, scale):
    """The summary selectors on a summary table `scale` times as large: as many
    keys per kind as `scale` times this import would give (the generator's
    catalog grows with the slices), the added ones a long tail of one entry
    each. Their cost depends on the summary's keys, not on the fact table's
    rows, so this stands for an import `scale` times as large; rolled back."""
    from django.db import connection, transaction

    from warehouse import summaries

    results = {}
    with transaction.atomic():
        with connection.cursor() as cursor, Timer() as filling:
            cursor.execute(
                "SELECT kind, COUNT(*) FROM warehouse_summary WHERE kind <> 'year' GROUP BY kind"
            )
            for kind, keys in cursor.fetchall():
                cursor.execute(
                    "INSERT INTO warehouse_summary (kind, key, name, entries) "
                    "SELECT %s, 'tail-' || n, 'Tail ' || n, 1 FROM generate_series(1, %s) n",
                    [kind, keys * (scale - 1)],
                )
            cursor.execute("ANALYZE warehouse_summary")
            cursor.execute("SELECT kind, COUNT(*) FROM warehouse_summary GROUP BY kind")
            results["keys"] = dict(cursor.fetchall())
        log(f"summary scaled ×{scale} in {filling.seconds:.1f} s: {results['keys']}")
        results["warehouse_overview (summaries, 5 kinds)"] = _timed(
            lambda: summaries.warehouse_overview(limit=20), runs
        )
        for kind in summaries.KINDS:
            results[f"top 20 {kind}s (summaries)"] = _timed(
                lambda kind=kind: summaries.top(kind=kind, limit=20), runs
            )
        transaction.set_rollback(True)
    return results


def _summaries_exact():
    """Kinds whose counts differ from a fresh aggregation ({} when exact)."""
    from warehouse import summaries

    return summaries.differences()


def _user_playlists():
    from warehouse.models import Playlist

    ids = list(Playlist.objects.order_by("pk").values_list("pk", flat=True)[:1000])
    return ids[:: max(1, len(ids) // USER_PLAYLISTS)][:USER_PLAYLISTS]


def _timed(function, runs):
    function()  # warm-up: plan caches, first-touch I/O
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95), "runs": len(times)}


def _percentile(values, percent):
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _explain_top_artists():
    from django.db import connection

    from warehouse.queries import warehouse_top_artists

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        warehouse_top_artists(limit=20)
    sql, params = captured[-1]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [line for (line,) in cursor.fetchall()]


def _summary(results):
    return [
        f"{label}: p50 {value['p50_ms']:.1f} ms"
        for label, value in results.items()
        if "p50_ms" in value
    ]


# === parent =============================================================================
def parent(args):
    machine = _common.machine_info()
    report = {"machine": machine, "args": vars(args)}
    with _common.temp_dir("bench-mpd-") as tmp:
        # Django is set up here only to import the generator (its package imports
        # models); this SQLite URL is never connected to.
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'parent-unused.sqlite3'}"
        _common.setup_django()
        if not args.queries_only:
            _check_disk(tmp, args.slices)
            report["generate"] = _generate(tmp / "mpd", args)
            _common.recreate_pg_database(PG_DATABASE)
            log(f"--- import of {args.slices} slices into {PG_DATABASE} ---")
            report["import"] = _common.run_child(
                MODULE,
                _common.pg_url(PG_DATABASE),
                ["--phase", "import", "--data", str(tmp / "mpd"), "--slices", str(args.slices)],
                tmp / "import.json",
            )
            shutil.rmtree(tmp / "mpd", ignore_errors=True)
        try:
            if args.import_only:
                return _finish(report, args)
            log("--- queries ---")
            report["queries"] = _common.run_child(
                MODULE,
                _common.pg_url(PG_DATABASE),
                [
                    "--phase",
                    "queries",
                    "--runs",
                    str(args.runs),
                    "--summary-scale",
                    str(args.summary_scale),
                    *(f"--candidate-index={sql}" for sql in args.candidate_index),
                ],
                tmp / "queries.json",
            )
        finally:
            if not args.keep_db:
                _common.drop_pg_database(PG_DATABASE)
    return _finish(report, args)


def _finish(report, args):
    print(render(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))


def _check_disk(tmp, slices):
    needed = slices * (BYTES_PER_SLICE_FILES + BYTES_PER_SLICE_DB)
    free = shutil.disk_usage(tmp).free
    log(f"disk: {free / 1024**3:.1f} GB free, ~{needed / 1024**3:.1f} GB needed")
    if free < needed * 2:
        raise SystemExit(
            f"Not enough disk: {free / 1024**3:.1f} GB free for ~{needed / 1024**3:.1f}"
        )


def _generate(out, args):
    from devtools.synthetic.mpd import generate_slices

    log(f"generating {args.slices} slices of {args.playlists_per_slice} playlists (untimed)…")
    with Timer() as timer:
        paths = generate_slices(
            out, slices=args.slices, playlists_per_slice=args.playlists_per_slice, seed=0
        )
    size = sum(path.stat().st_size for path in paths)
    log(f"generated {size / 1024**2:,.0f} MB in {timer.seconds:.1f} s")
    return {"seconds": timer.seconds, "bytes": size}


def render(report):
    machine, args = report["machine"], report["args"]
    out = [
        f"bench_mpd: {args['slices']} slices × {args['playlists_per_slice']} playlists, "
        f"query timings over {args['runs']} runs",
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, "
        f"PostgreSQL {machine.get('postgresql')}",
    ]
    if "generate" in report:
        generate = report["generate"]
        out.append(
            f"generation (untimed for the import): {generate['seconds']:.1f} s, "
            f"{generate['bytes'] / 1024**2:,.0f} MB of JSON"
        )
    if "import" in report:
        result = report["import"]
        slices = result["slice_seconds"]
        out.append("\n## import (iter_ingest_path, one transaction per slice)\n")
        out.append(
            _common.format_table(
                ("playlists", "rows", "total s", "rows/s", "slice s p50 / max", "peak RSS MB"),
                [
                    (
                        f"{result['playlists']:,}",
                        f"{result['rows']:,}",
                        f"{result['seconds']:.1f}",
                        f"{result['rows'] / result['seconds']:,.0f}",
                        f"{statistics.median(slices):.2f} / {max(slices):.2f}",
                        f"{result['peak_rss_mb']:.0f} "
                        f"(after set-up {result['baseline_rss_mb']:.0f})",
                    )
                ],
            )
        )
        tenth = max(1, len(slices) // 10)
        out.append(
            f"slice time, first {tenth} vs last {tenth} slices: "
            f"{statistics.mean(slices[:tenth]):.2f} s vs {statistics.mean(slices[-tenth:]):.2f} s"
        )
        out.append(
            "seconds per ten slices: "
            + ", ".join(f"{sum(slices[i : i + 10]):.1f}" for i in range(0, len(slices), 10))
        )
        folds = result.get("folds", [])
        if folds:
            out.append(
                f"folds of the counts' log (in the total; each after a slice is in the next "
                f"slice's time, the last after the last slice's): {len(folds)}, "
                f"{sum(seconds for seconds, _ in folds):.1f} s in all, the last "
                f"{folds[-1][0]:.2f} s ({folds[-1][1]} loads); each: "
                + ", ".join(f"{seconds:.2f}" for seconds, _ in folds)
            )
    if "queries" not in report:  # --import-only
        return "\n".join(out)
    queries = report["queries"]
    sizes = queries["sizes"]
    out.append(
        f"\n## queries ({sizes['rows']:,} rows; table {sizes['heap'] / 1024**3:.2f} GB, with "
        f"indexes {sizes['total'] / 1024**3:.2f} GB; VACUUM ANALYZE "
        f"{queries['vacuum_analyze_seconds']:.1f} s)\n"
    )
    out.append(
        "indexes: "
        + ", ".join(f"{name} {size / 1024**2:,.0f} MB" for name, size in sizes["indexes"].items())
    )
    if "summary_differences" in queries:
        out.append(
            "warehouse_summary against a fresh aggregation: "
            + (str(queries["summary_differences"]) if queries["summary_differences"] else "exact")
        )
    scaled = queries.get("scaled_summaries")
    if scaled:
        out.append(
            f"\nsummary selectors with the summary scaled ×{args['summary_scale']} "
            f"(keys: {scaled['keys']}):"
        )
        out.extend(
            f"  {label}: p50 {value['p50_ms']:.1f} / p95 {value['p95_ms']:.1f} ms"
            for label, value in scaled.items()
            if "p50_ms" in value
        )
    with_, without = queries["variants"]["with"], queries["variants"]["without"]
    rows = [
        (
            label,
            f"{value['p50_ms']:.1f} / {value['p95_ms']:.1f}",
            f"{with_[label]['p50_ms']:.1f} / {with_[label]['p95_ms']:.1f}"
            if label in with_
            else "",
        )
        for label, value in without.items()
        if "p50_ms" in value
    ]
    out.append("")
    out.append(
        _common.format_table(
            ("selector", "p50 / p95 ms, migrations' indexes", "p50 / p95 ms, + candidates"),
            rows,
        )
    )
    out.append("\ncandidates: " + "; ".join(args["candidate_index"]))
    out.append(
        f"built in {with_['candidate indexes built in']['seconds']:.1f} s; sizes: "
        + ", ".join(
            f"{name} {size / 1024**2:,.0f} MB"
            for name, size in with_["candidate index sizes"].items()
        )
    )
    for variant, results in (("without", without), ("with", with_)):
        out.append(f"\nEXPLAIN (ANALYZE, BUFFERS) warehouse_top_artists, {variant} candidates:")
        out.extend("  " + line for line in results["explain warehouse_top_artists"])
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=100, help="slices (default 100)")
    parser.add_argument("--playlists-per-slice", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=20, help="runs per query (default 20)")
    parser.add_argument("--keep-db", action="store_true", help=f"keep {PG_DATABASE}")
    parser.add_argument(
        "--queries-only", action="store_true", help=f"only time the queries on a kept {PG_DATABASE}"
    )
    parser.add_argument(
        "--candidate-index",
        action="append",
        help="CREATE INDEX statement to time the queries with (repeatable; default: a "
        "partial btree on artist_ids); built in a transaction that is rolled back",
    )
    parser.add_argument(
        "--summary-scale",
        type=int,
        default=10,
        help="also time the summary selectors with this many times the summary's keys "
        "(default 10: 10 slices stand for 100; 1 = off)",
    )
    parser.add_argument(
        "--import-only",
        action="store_true",
        help="time the import only (no VACUUM, exactness check or queries)",
    )
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("import", "queries"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.candidate_index = args.candidate_index or [ARTISTS_INDEX]
    if not args.child:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
        return parent(args)
    return child_import(args) if args.phase == "import" else child_queries(args)


if __name__ == "__main__":
    sys.exit(main())
