"""Benchmark: exporting the warehouse, on PostgreSQL, against the ceiling and the naive way.

    .venv/bin/python -m benchmarks.bench_export [--slices 10] [--runs 10] [--keep-db]
        [--reuse-db] [--database bench_export]
        [--methods copy_csv,pandas_parquet,ours_parquet,ours_json] [--downloads-only]
        [--json FILE]

1. `--slices` synthetic MPD slices of 1,000 playlists (~66 tracks each: 10 slices ≈
   660,000 rows) are written by `devtools.synthetic.mpd` and imported by the real
   importer into a throwaway database `bench_export` (dropped and created here), with
   one extra playlist of 10,000 tracks for the per-playlist downloads.
2. One child process per method exports every row of `playlist_tracks` (the whole
   warehouse) to a file, and reports rows/s and its peak RSS (`ru_maxrss`, Django
   set-up included): PostgreSQL's own `COPY (SELECT …) TO STDOUT (FORMAT csv)` (the
   ceiling: no Python per row), the naive `pandas.read_sql` + `DataFrame.to_parquet`
   (everything in memory), and ours: `warehouse.exports.write_parquet` over
   `queries.export_batches` (what `manage.py export --all --format parquet` runs), and the
   JSON export the same way. Ratios come from this one run, on this machine.
3. A last child downloads the 10,000-track playlist in each format through the real
   view (the Django test client, signed in as a person who loaded it), `--runs` times,
   and reports server time p50/p95. `--downloads-only` runs only this child (with
   `--slices 1` it measures the downloads in a minute instead of the 10-slice import).

It never touches any other database.
"""

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log

MODULE = "benchmarks.bench_export"
PG_DATABASE = "bench_export"
METHODS = ("copy_csv", "pandas_parquet", "ours_parquet", "ours_json")
BIG_PLAYLIST = "bench:big"
BIG_TRACKS = 10_000
USERNAME = "bench-exporter"


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# === child: the import ==================================================================
def child_import(args):
    _common.setup_django()
    _common.migrate()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from accounts import library
    from ingestion.files import iter_ingest_path
    from warehouse.models import Playlist
    from warehouse.schema import COLUMN_NAMES

    rows = 0
    with Timer() as imported:
        for result in iter_ingest_path(args.data):
            if result.status != "succeeded":
                raise SystemExit(f"{result.reference}: {result.error}")
            rows += result.tracks_loaded
    log(f"imported {rows:,} rows in {imported.seconds:.0f} s")
    # One long playlist: 10,000 distinct tracks copied from the others (when there are
    # fewer, as in one slice, copies of them under other ids make up the number).
    Playlist.objects.create(playlist_id=BIG_PLAYLIST, name="Big", last_ingested_at=timezone.now())
    columns = ", ".join(COLUMN_NAMES)
    renamed = {"playlist_id": "%s", "position": "0", "track_id": "track_id || copies.suffix"}
    chosen = ", ".join(renamed.get(c, c) for c in COLUMN_NAMES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO playlist_tracks ({columns}) SELECT {chosen} FROM ("
            "  SELECT DISTINCT ON (track_id) * FROM playlist_tracks ORDER BY track_id) AS firsts"
            "  CROSS JOIN (SELECT n, CASE n WHEN 0 THEN '' ELSE '-' || n END AS suffix"
            "  FROM generate_series(0, 9) AS n) AS copies ORDER BY copies.n, track_id LIMIT %s",
            [BIG_PLAYLIST, BIG_TRACKS],
        )
        cursor.execute(
            "UPDATE playlist_tracks SET position = numbered.n - 1 FROM ("
            "  SELECT track_id, row_number() OVER (ORDER BY track_id) AS n"
            "  FROM playlist_tracks WHERE playlist_id = %s) AS numbered "
            "WHERE playlist_id = %s AND playlist_tracks.track_id = numbered.track_id",
            [BIG_PLAYLIST, BIG_PLAYLIST],
        )
        cursor.execute("VACUUM ANALYZE playlist_tracks")
        cursor.execute("SELECT count(*) FROM playlist_tracks")
        (total,) = cursor.fetchone()
    user = get_user_model().objects.create_user(USERNAME, password="unused-password-123")
    library.grant(user.pk, BIG_PLAYLIST, add=True)
    report = {"seconds": imported.seconds, "rows": total, "imported_rows": rows}
    Path(args.result).write_text(json.dumps(report))


# === child: one export method ===========================================================
def child_export(args):
    _common.setup_django()
    out = Path(args.out)
    rows = {"copy_csv": _copy_csv, "pandas_parquet": _pandas_parquet,
            "ours_parquet": _ours_parquet, "ours_json": _ours_json}[args.method]  # fmt: skip
    with Timer() as timer:
        count = rows(out)
    report = {
        "seconds": timer.seconds,
        "rows": count,
        "rows_per_second": count / timer.seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "bytes": out.stat().st_size,
    }
    log(f"{args.method}: {count:,} rows in {timer.seconds:.1f} s, peak {_peak_rss_mb():.0f} MB")
    Path(args.result).write_text(json.dumps(report))


def _copy_csv(out):
    from django.db import connection

    with connection.cursor() as cursor, open(out, "wb") as file:
        cursor.cursor.copy_expert(
            "COPY (SELECT * FROM playlist_tracks ORDER BY playlist_id, position) "
            "TO STDOUT (FORMAT csv, HEADER)",
            file,
        )
    return _count()


def _pandas_parquet(out):
    import pandas
    import sqlalchemy

    engine = sqlalchemy.create_engine(
        _database_url().replace("postgres://", "postgresql+psycopg2://", 1)
    )
    frame = pandas.read_sql("SELECT * FROM playlist_tracks ORDER BY playlist_id, position", engine)
    frame.to_parquet(out)
    return len(frame)


def _ours_parquet(out):
    from warehouse import exports, queries

    batches = queries.export_batches(
        None, present_only=False, rows_per_batch=exports.ROWS_PER_BATCH
    )
    return exports.write_parquet(batches, str(out))


def _ours_json(out):
    from warehouse import exports, queries

    count = 0

    def counted(playlist):
        nonlocal count
        for row in queries.export_rows([playlist["playlist_id"]], present_only=False):
            count += 1
            yield row

    with open(out, "wb") as file:
        for chunk in exports.json_library_chunks(queries.export_playlists(None), counted):
            file.write(chunk)
    return count


def _count():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM playlist_tracks")
        return cursor.fetchone()[0]


def _database_url():
    import os

    return os.environ["DATABASE_URL"]


# === child: per-playlist downloads ======================================================
def child_downloads(args):
    _common.setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    report = {}
    for file_format in ("csv", "json", "parquet"):
        url = reverse("dashboard:download", args=[BIG_PLAYLIST, file_format])
        times, size = [], 0
        for _ in range(args.runs + 1):  # the first is a warm-up
            started = time.perf_counter()
            response = client.get(url)
            size = sum(len(chunk) for chunk in response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
        times = sorted(times[1:])
        report[file_format] = {
            "p50_ms": statistics.median(times),
            "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "bytes": size,
        }
        log(f"download {file_format}: p50 {report[file_format]['p50_ms']:.0f} ms")
    Path(args.result).write_text(json.dumps(report))


# === parent =============================================================================
def parent(args):
    from devtools.synthetic.mpd import generate_slices

    report = {"machine": _common.machine_info(), "slices": args.slices}
    url = _common.pg_url(args.database)
    saved_import = Path(f"/tmp/{args.database}-import.json")
    with _common.temp_dir("bench-export-") as tmp:
        if args.reuse_db and saved_import.exists():
            report["import"] = json.loads(saved_import.read_text())
            log(f"reusing the warehouse kept in {args.database}")
        else:
            with Timer() as generated:
                generate_slices(tmp / "mpd", slices=args.slices)
            log(f"generated {args.slices} slices in {generated.seconds:.0f} s")
            _common.recreate_pg_database(args.database)
            report["import"] = _common.run_child(
                MODULE, url, ["--part", "import", "--data", str(tmp / "mpd")], tmp / "import.json"
            )
            if args.keep_db:
                saved_import.write_text(json.dumps(report["import"]))
        try:
            report["exports"] = {}
            for method in [] if args.downloads_only else args.methods.split(","):
                out = tmp / f"export-{method}"
                report["exports"][method] = _common.run_child(
                    MODULE, url, ["--part", "export", "--method", method, "--out", str(out)],
                    tmp / f"{method}.json",
                )  # fmt: skip
                out.unlink()
            report["downloads"] = _common.run_child(
                MODULE, url, ["--part", "downloads", "--runs", str(args.runs)],
                tmp / "downloads.json",
            )  # fmt: skip
        finally:
            if not args.keep_db:
                _common.drop_pg_database(args.database)
                saved_import.unlink(missing_ok=True)
    print(render(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def render(report):
    table = _exports_table(report["exports"]) if report["exports"] else "(no export run)"
    downloads = _common.format_table(
        ["10,000-track download", "p50 ms", "p95 ms", "MB"],
        [
            (f, f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}", f"{r['bytes'] / 1e6:.1f}")
            for f, r in report["downloads"].items()
        ],
    )
    machine = report["machine"]
    return (
        f"{report['import']['rows']:,} rows ({report['slices']} MPD slices), PostgreSQL "
        f"{machine.get('postgresql')}, {machine['cpus']} CPUs, Python {machine['python']}\n\n"
        f"{table}\n\n{downloads}\n"
    )


def _exports_table(exports):
    ceiling = exports["copy_csv"]["rows_per_second"]
    naive = exports["pandas_parquet"]["rows_per_second"]
    rows = [
        (
            method,
            f"{result['rows']:,}",
            f"{result['seconds']:.1f}",
            f"{result['rows_per_second']:,.0f}",
            f"{result['rows_per_second'] / naive:.2f}×",
            f"{ceiling / result['rows_per_second']:.2f}×",
            f"{result['peak_rss_mb']:.0f}",
            f"{result['bytes'] / 1e6:,.0f}",
        )
        for method, result in exports.items()
    ]
    return _common.format_table(
        ["method", "rows", "s", "rows/s", "vs pandas", "COPY is … faster", "peak RSS MB", "MB"],
        rows,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse-db", action="store_true", help="export the database a --keep-db run left"
    )
    parser.add_argument("--database", default=PG_DATABASE, help="the throwaway database's name")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument(
        "--downloads-only", action="store_true", help="only the 10,000-track downloads"
    )
    parser.add_argument("--json", help="also write the report as JSON here")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)

    def child(args):
        {"import": child_import, "export": child_export, "downloads": child_downloads}[args.part](
            args
        )

    return _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
