"""Benchmark: a 10,000-track playlist through daily versions, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_history [--tracks 10000] [--days 365]
        [--churn 0.01] [--queries 40] [--database sqlite|postgresql|both]

Each day removes `churn / 2` of the tracks, adds as many new ones at random
places and moves `churn / 2` others (so ~1% of the tracks change a day), then
loads the new state twice, as two playlists with the same rows: one through
the loader as it is (history written), one with the history writes switched
off, so the ratio of their load times is the cost of history in one run. Rows
are built once per day with pandas (no transform in the timings). Reported:

* load time per refresh with and without history (median and total), and their ratio;
* rows written per refresh in `playlist_tracks` (inserted + updated + marked
  removed) and in the history (one version row + spans closed + spans opened),
  against the tracks that changed;
* history storage after all versions (PostgreSQL: pg_total_relation_size of the
  two history tables; SQLite: their pages, from dbstat when compiled in), against
  the same number of full copies of the playlist's membership;
* the reads of history (READS below) of a random version or two: what the
  dashboard's track table and the diff page run (a page of rows), and the whole
  version and diff (downloads), against the SQL listing a version's track ids and
  the same page of the playlist now: p50 and p95 over `--queries` calls each.

Uses its own databases only (PostgreSQL `bench_playlist_analytics`, or
BENCH_PG_DATABASE, and a temp SQLite file).
"""

import argparse
import os
import random
import sys
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log, median

MODULE = "benchmarks.bench_history"
SEED = 20261201


# The reads timed, as the report names them. The pages' reads (`*_page*`: what the
# dashboard and the diff page run) against two baselines of the same run: the
# SQL listing a version's track ids, and the same table page of the playlist now.
READS = {
    "membership": "baseline: a version's track ids in order (SQL)",
    "now_page": "baseline: track table page now (selector)",
    "as_of_page": "track table page as of a version, in order",
    "as_of_sorted": "track table page as of a version, by name",
    "diff_page": "diff page (counts + a page of added)",
    "diff_page_sorted": "diff page, sorted by name",
    "as_of": "whole version, every column (downloads)",
    "diff": "whole diff, every column (playlist_diff)",
}
# What "as of" costs the database: a version's track ids in order, no details.
MEMBERSHIP_SQL = (
    "SELECT track_id, occurrences FROM playlist_track_spans WHERE playlist_id = %s "
    "AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s) ORDER BY sort_key"
)


def percentile(values, percent):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def build_pool(size):
    """`size` distinct tracks' rows (one snapshot through the real transform)."""
    from devtools.synthetic.snapshots import TrackFactory, snapshot_of
    from ingestion.transform import transform_snapshot

    snapshot = snapshot_of(TrackFactory.create_batch(size), playlist_id="pool", name="Pool")
    return transform_snapshot(snapshot).rows.set_index("track_id", drop=False)


def day_rows(pool, order, playlist_id):
    rows = pool.loc[order].reset_index(drop=True)
    rows["playlist_id"] = playlist_id
    rows["position"] = range(len(rows))
    return rows


def churn(order, spare, rng, rate):
    """The next day's order: removals, additions at random places, moves."""
    changes = max(1, int(len(order) * rate / 2))
    order = list(order)
    for track_id in rng.sample(order, changes):
        order.remove(track_id)
    for _ in range(changes):
        order.insert(rng.randrange(len(order) + 1), spare.pop())
    for track_id in rng.sample(order, changes // 2):
        order.remove(track_id)
        order.insert(rng.randrange(len(order) + 1), track_id)
    return order


def history_bytes(connection):
    tables = ("playlist_track_spans", "playlist_versions")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT SUM(pg_total_relation_size(relname::regclass)) FROM pg_class "
                "WHERE relname IN %s",
                [tables],
            )
            return int(cursor.fetchone()[0])
        try:
            cursor.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN (%s, %s) OR tbl_name IN (%s, %s)",
                [*tables, *tables],
            )
        except Exception:  # noqa: BLE001 - dbstat is optional in SQLite builds
            return None
        return int(cursor.fetchone()[0] or 0)


def span_row_bytes(connection, total_bytes):
    from warehouse.models import PlaylistTrackSpan

    spans = PlaylistTrackSpan.objects.count()
    return total_bytes / spans if total_bytes and spans else None


def child(args):
    _common.setup_django()
    _common.migrate()
    from unittest import mock

    from django.db import connection

    from devtools.synthetic.snapshots import snapshot_of
    from warehouse import loader

    rng = random.Random(SEED)
    if args.reads_only:  # a database an earlier run built (and kept)
        result = {"database": connection.vendor, **time_reads(args, rng)}
        Path(args.result).write_text(__import__("json").dumps(result))
        return
    changes_per_day = max(1, int(args.tracks * args.churn / 2))
    log(f"{connection.vendor}: building {args.tracks} tracks + spares")
    pool = build_pool(args.tracks + changes_per_day * (args.days + 1))
    ids = pool["track_id"].tolist()
    order, spare = ids[: args.tracks], ids[args.tracks :]
    timings = {"history": [], "plain": []}
    rows_written = {"table": [], "history": [], "changed": []}

    def load(playlist_id, order, day, *, with_history):
        snapshot = snapshot_of([], playlist_id=playlist_id, name="Bench", snapshot_id=f"s{day}")
        rows = day_rows(pool, order, playlist_id)
        off = mock.patch.object(
            loader, "record_versions", lambda _c, snapshots, *a: [None] * len(snapshots)
        )
        with Timer() as timer:
            if with_history:
                result = loader.load_playlist(snapshot, rows)
            else:
                with off:
                    result = loader.load_playlist(snapshot, rows)
        return result, timer.seconds

    previous = list(order)
    for day in range(args.days + 1):
        if day:
            order = churn(order, spare, rng, args.churn)
        result, seconds = load("bench-history", order, day, with_history=True)
        _, plain_seconds = load("bench-plain", order, day, with_history=False)
        if day:  # the first load is an initial import, not a refresh
            timings["history"].append(seconds)
            timings["plain"].append(plain_seconds)
            made = result.version
            changed = made.added + made.removed + made.moved
            rows_written["changed"].append(changed)
            rows_written["table"].append(
                result.rows_inserted + result.rows_updated + result.rows_removed
            )
            # One version row; each removed or moved track closes a span, each
            # added or moved one opens one (recounts do not happen here).
            rows_written["history"].append(1 + made.removed + made.added + 2 * made.moved)
        previous = order
        if day % 50 == 0:
            log(f"day {day}: {seconds * 1000:.0f} ms with history")
    del previous
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    reads = time_reads(args, rng)
    stored = history_bytes(connection)
    per_span = span_row_bytes(connection, stored)
    result = {
        "database": connection.vendor,
        "load_ms_history": median(timings["history"]) * 1000,
        "load_ms_plain": median(timings["plain"]) * 1000,
        "load_ratio": sum(timings["history"]) / sum(timings["plain"]),
        "changed_per_refresh": median(rows_written["changed"]),
        "table_rows_per_refresh": median(rows_written["table"]),
        "history_rows_per_refresh": median(rows_written["history"]),
        "history_bytes": stored,
        "full_copies_bytes": per_span * args.tracks * reads["versions"] if per_span else None,
        **reads,
    }
    Path(args.result).write_text(__import__("json").dumps(result))


def time_reads(args, rng):
    """p50 and p95 of each of READS over `args.queries` random versions or pairs."""
    from django.db import connection

    from warehouse import queries

    versions = queries.latest_version(playlist_id="bench-history")
    timed = {name: [] for name in READS}
    pages = -(-args.tracks // queries.DEFAULT_PAGE_SIZE)

    def time_it(name, read, *args, **kwargs):
        with Timer() as timer:
            result = read(*args, **kwargs)
        timed[name].append(timer.seconds)
        return result

    def membership(version):
        with connection.cursor() as cursor:
            cursor.execute(MEMBERSHIP_SQL, ["bench-history", version, version])
            return cursor.fetchall()

    def table_page(version, sort):
        with queries.as_of(version):
            return queries.playlist_tracks_page(
                playlist_id="bench-history", sort=sort, page=rng.randint(1, pages)
            )

    for _ in range(args.queries):
        version = rng.randint(1, versions - 1)  # the latest is "now"
        first, second = sorted(rng.sample(range(1, versions + 1), 2))
        pair = {"playlist_id": "bench-history", "from_version": first, "to_version": second}
        assert len(time_it("membership", membership, version)) == args.tracks
        time_it("now_page", table_page, None, "position")
        page = time_it("as_of_page", table_page, version, "position")
        assert page.total == args.tracks and len(page.rows) > 0
        time_it("as_of_sorted", table_page, version, "track")
        time_it("diff_page", queries.playlist_diff_page, **pair)
        time_it("diff_page_sorted", queries.playlist_diff_page, **pair, sort="track")
        # Counted, not kept: a request's rows die with it, and 10,000 rows × 26 values
        # kept alive into the next reads made the garbage collector's sweeps there scan them.
        whole = time_it(
            "as_of", queries.playlist_rows_as_of, playlist_id="bench-history", version=version
        )
        assert len(whole) == args.tracks
        del whole
        time_it("diff", queries.playlist_diff, **pair)
    return {
        "versions": versions,
        "load_average": os.getloadavg()[0],
        **{
            f"{name}_p{percent}_ms": percentile(timed[name], percent) * 1000
            for name in READS
            for percent in (50, 95)
        },
    }


def parent(args):
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    with _common.temp_dir("bench-history-") as tmp:
        forwarded = [
            "--tracks", str(args.tracks), "--days", str(args.days),
            "--churn", str(args.churn), "--queries", str(args.queries),
        ]  # fmt: skip
        if args.reads_only:
            forwarded += ["--reads-only", args.reads_only]
            results.append(_common.run_child(MODULE, args.reads_only, forwarded, tmp / "r.json"))
            print(report(results, args))
            return
        for database in databases:
            with _common.throwaway_database(database, tmp, keep=args.keep) as url:
                results.append(_common.run_child(MODULE, url, forwarded, tmp / f"{database}.json"))
    print(report(results, args))


def _p50_p95(result, name):
    if name + "_p50_ms" not in result:
        return "n/a"
    return f"{result[name + '_p50_ms']:.0f} / {result[name + '_p95_ms']:.0f} ms"


def _count(result, name):
    return result.get(name, "n/a")


def _ms(result, name):
    return f"{result[name]:.0f} ms" if name in result else "n/a"


def _times(value):
    return "n/a" if value is None else f"{value:.2f}x"


def _ratio(result, name, baseline):
    return f"{result[name + '_p50_ms'] / result[baseline + '_p50_ms']:.2f}x"


def _mb(value):
    return "n/a" if value is None else f"{value / 1e6:.1f} MB"


def report(results, args):
    headers = ["measure", *(r["database"] for r in results)]

    def row(label, cell):
        return (label, *(cell(r) for r in results))

    lines = [
        row("versions", lambda r: r["versions"]),
        row("load per refresh, with history (median)", lambda r: _ms(r, "load_ms_history")),
        row("load per refresh, history off (median)", lambda r: _ms(r, "load_ms_plain")),
        row("ratio with / without (totals)", lambda r: _times(r.get("load_ratio"))),
        row("tracks changed per refresh (median)", lambda r: _count(r, "changed_per_refresh")),
        row("playlist_tracks rows written per refresh",
            lambda r: _count(r, "table_rows_per_refresh")),
        row("history rows written per refresh", lambda r: _count(r, "history_rows_per_refresh")),
        row("history storage", lambda r: _mb(r.get("history_bytes"))),
        row("same number of full membership copies", lambda r: _mb(r.get("full_copies_bytes"))),
        *(row(f"{label}: p50 / p95", lambda r, n=name: _p50_p95(r, n))
          for name, label in READS.items()),
        row("as of page / now page (p50)", lambda r: _ratio(r, "as_of_page", "now_page")),
        row("diff page / track ids SQL (p50)", lambda r: _ratio(r, "diff_page", "membership")),
        row("load average (1 min) after the reads", lambda r: f"{r['load_average']:.1f}"),
    ]  # fmt: skip
    title = f"{args.tracks} tracks, {args.days} daily refreshes, {args.churn:.0%} churn"
    return f"{title}\n\n" + _common.format_table(headers, lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database for --reads-only"
    )
    parser.add_argument(
        "--reads-only",
        metavar="DATABASE_URL",
        help="time only the reads, on a database a --keep run built (same --tracks)",
    )
    return _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
