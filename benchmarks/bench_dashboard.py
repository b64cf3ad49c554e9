"""Benchmark: server time of the playlist dashboard, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_dashboard [--sizes 100,1000,10000]
        [--requests 30] [--warmup 5] [--database sqlite|postgresql|both] [--keep-db]

For each size a playlist of that many distinct tracks (generated as in
`bench_load`: 2% local files, 1% repeats, realistic genres with 10% unknown and
15% "none listed" artists) is loaded with the real loader, with a succeeded run,
and added to a signed-in user. The dashboard page (`dashboard:playlist`, with its
first table page) is requested `--warmup` times, then `--requests` times with the
Django test Client; p50/p95 are of the whole server-side request (middleware,
session, queries, template rendering), not of a browser. Also timed: the table
fragment alone with a search and a sort (`dashboard:tracks?q=…&sort=album`).

Uses its own databases only: PostgreSQL `bench_dashboard` (dropped and created at
start, dropped at the end unless --keep-db) and a temp SQLite file.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log

MODULE = "benchmarks.bench_dashboard"
PG_DATABASE = "bench_dashboard"
TARGET_P95_MS = 150


# === throwaway PostgreSQL database (ours, not bench_load's) ============================
# === child: load, then time ===========================================================
def load_playlists(sizes):
    """Load one playlist per size for a fresh user; return (user, {size: playlist_id})."""
    from django.contrib.auth import get_user_model

    from accounts.models import Access, UserPlaylist
    from benchmarks.bench_load import generate
    from ingestion.models import IngestRun, RunStatus, Trigger
    from warehouse.loader import load_playlist

    user = get_user_model().objects.create_user("bench", "bench@example.org", "not-used")
    playlist_ids = {}
    for size in sizes:
        with Timer() as generating:
            ((snapshot, rows, _changed),) = generate(size, 1, seed=size)
        playlist_id = f"bench{size:017d}"
        snapshot.playlist_id = playlist_id
        rows["playlist_id"] = playlist_id
        with Timer() as loading:
            load_playlist(snapshot, rows)
        skipped = {"unavailable": size // 200, "episode": size // 500}
        IngestRun.objects.create(
            playlist_id=playlist_id,
            reference=playlist_id,
            trigger=Trigger.SHELL,
            status=RunStatus.SUCCEEDED,
            tracks_loaded=size,
            items_skipped=skipped,
        )
        UserPlaylist.objects.create(user=user, playlist_id=playlist_id, access=Access.GRANTED)
        playlist_ids[size] = playlist_id
        log(
            f"{size:>6} tracks: generated in {generating.seconds:.1f} s, "
            f"loaded in {loading.seconds:.1f} s"
        )
    _analyze()
    return user, playlist_ids


def _analyze():
    """Fresh planner statistics, as autovacuum would have after a real load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def time_requests(client, url, *, warmup, requests):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    # Read now: the capture is a slice of a log that every request clears.
    query_count = len(captured)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
    return {
        "p50_ms": statistics.median(seconds) * 1000,
        "p95_ms": _percentile(seconds, 95) * 1000,
        "max_ms": max(seconds) * 1000,
        "queries": query_count,
        "bytes": len(response.content),
    }


def _percentile(values, percent):
    """Nearest-rank percentile (with 30 samples, p95 is the 29th fastest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def child(args):
    _common.setup_django()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    _common.migrate()
    sizes = [int(size) for size in args.sizes.split(",")]
    user, playlist_ids = load_playlists(sizes)
    client = Client()
    client.force_login(user)
    results = []
    for size in sizes:
        playlist_id = playlist_ids[size]
        pages = {
            "dashboard": reverse("dashboard:playlist", args=[playlist_id]),
            "table search": reverse("dashboard:tracks", args=[playlist_id])
            + "?q=love&sort=album&dir=desc&page=2",
        }
        for page, url in pages.items():
            timing = time_requests(client, url, warmup=args.warmup, requests=args.requests)
            results.append({"vendor": connection.vendor, "size": size, "page": page, **timing})
            log(
                f"{connection.vendor} {size:>6} {page}: p50 {timing['p50_ms']:.1f} ms, "
                f"p95 {timing['p95_ms']:.1f} ms, {timing['queries']} queries"
            )
    Path(args.result).write_text(json.dumps(results))


# === parent ==============================================================================
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    passthrough = ["--sizes", args.sizes, "--requests", str(args.requests)]
    passthrough += ["--warmup", str(args.warmup)]
    results = []
    with _common.temp_dir("bench-dashboard-") as tmp:
        if args.database in ("sqlite", "both"):
            url = f"sqlite:///{tmp / 'bench.sqlite3'}"
            results += _common.run_child(MODULE, url, passthrough, tmp / "sqlite.json")
        if args.database in ("postgresql", "both"):
            _common.recreate_pg_database(PG_DATABASE)
            try:
                url = _common.pg_url(PG_DATABASE)
                results += _common.run_child(MODULE, url, passthrough, tmp / "pg.json")
            finally:
                if not args.keep_db:
                    _common.drop_pg_database(PG_DATABASE)
    print(report(results, args))


def report(results, args):
    headers = ["database", "tracks", "request", "p50 ms", "p95 ms", "max ms", "queries"]
    rows = [
        [
            r["vendor"],
            f"{r['size']:,}",
            r["page"],
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            r["queries"],
        ]
        for r in results
    ]
    machine = _common.machine_info()
    slow = [
        r
        for r in results
        if r["vendor"] == "postgresql"
        and r["page"] == "dashboard"
        and r["size"] >= 10_000
        and r["p95_ms"] > TARGET_P95_MS
    ]
    verdict = "MISSED" if slow else "met"
    return "\n".join(
        [
            _common.format_table(headers, rows),
            "",
            f"{args.requests} timed requests after {args.warmup} warm-up ones per row; "
            f"target p95 < {TARGET_P95_MS} ms at 10,000 tracks on PostgreSQL: {verdict}.",
            f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, "
            f"SQLite {machine['sqlite']}, PostgreSQL {machine['postgresql']}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
