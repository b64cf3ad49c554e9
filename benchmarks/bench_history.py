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
* "as of" a random version, as SQL (track ids and counts in order) and as the
  `playlist_rows_as_of` selector (every column, JSON decoded), and
  `playlist_diff` of two random versions: p50 and p95 over `--queries` calls each.

Uses its own databases only (PostgreSQL `bench_playlist_analytics`, a temp SQLite file).
"""

import argparse
import random
import sys
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log, median

MODULE = "benchmarks.bench_history"
SEED = 20261201


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
    from warehouse import loader, queries

    rng = random.Random(SEED)
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
    versions = queries.latest_version(playlist_id="bench-history")
    as_of, diffs, membership = [], [], []
    for _ in range(args.queries):
        version = rng.randint(1, versions)
        with Timer() as timer, connection.cursor() as cursor:
            cursor.execute(MEMBERSHIP_SQL, ["bench-history", version, version])
            assert len(cursor.fetchall()) == args.tracks
        membership.append(timer.seconds)
        with Timer() as timer:
            rows = queries.playlist_rows_as_of(playlist_id="bench-history", version=version)
        as_of.append(timer.seconds)
        assert len(rows) == args.tracks
        first, second = sorted(rng.sample(range(1, versions + 1), 2))
        with Timer() as timer:
            queries.playlist_diff(
                playlist_id="bench-history", from_version=first, to_version=second
            )
        diffs.append(timer.seconds)
    stored = history_bytes(connection)
    per_span = span_row_bytes(connection, stored)
    result = {
        "database": connection.vendor,
        "versions": versions,
        "load_ms_history": median(timings["history"]) * 1000,
        "load_ms_plain": median(timings["plain"]) * 1000,
        "load_ratio": sum(timings["history"]) / sum(timings["plain"]),
        "changed_per_refresh": median(rows_written["changed"]),
        "table_rows_per_refresh": median(rows_written["table"]),
        "history_rows_per_refresh": median(rows_written["history"]),
        "history_bytes": stored,
        "full_copies_bytes": per_span * args.tracks * versions if per_span else None,
        "as_of_p50_ms": percentile(as_of, 50) * 1000,
        "as_of_p95_ms": percentile(as_of, 95) * 1000,
        "membership_p50_ms": percentile(membership, 50) * 1000,
        "membership_p95_ms": percentile(membership, 95) * 1000,
        "diff_p50_ms": percentile(diffs, 50) * 1000,
        "diff_p95_ms": percentile(diffs, 95) * 1000,
    }
    Path(args.result).write_text(__import__("json").dumps(result))


def parent(args):
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    with _common.temp_dir("bench-history-") as tmp:
        forwarded = [
            "--tracks", str(args.tracks), "--days", str(args.days),
            "--churn", str(args.churn), "--queries", str(args.queries),
        ]  # fmt: skip
        for database in databases:
            if database == "postgresql":
                _common.recreate_pg_database()
                url = _common.pg_url()
            else:
                url = f"sqlite:///{tmp / 'bench.sqlite3'}"
            try:
                results.append(_common.run_child(MODULE, url, forwarded, tmp / f"{database}.json"))
            finally:
                if database == "postgresql":
                    _common.drop_pg_database()
    print(report(results, args))


def _p50_p95(result, name):
    return f"{result[name + '_p50_ms']:.0f} / {result[name + '_p95_ms']:.0f} ms"


def _mb(value):
    return "n/a" if value is None else f"{value / 1e6:.1f} MB"


def report(results, args):
    headers = ["measure", *(r["database"] for r in results)]

    def row(label, cell):
        return (label, *(cell(r) for r in results))

    lines = [
        row("versions", lambda r: r["versions"]),
        row("load per refresh, with history (median)", lambda r: f"{r['load_ms_history']:.0f} ms"),
        row("load per refresh, history off (median)", lambda r: f"{r['load_ms_plain']:.0f} ms"),
        row("ratio with / without (totals)", lambda r: f"{r['load_ratio']:.2f}x"),
        row("tracks changed per refresh (median)", lambda r: r["changed_per_refresh"]),
        row("playlist_tracks rows written per refresh", lambda r: r["table_rows_per_refresh"]),
        row("history rows written per refresh", lambda r: r["history_rows_per_refresh"]),
        row("history storage", lambda r: _mb(r["history_bytes"])),
        row("same number of full membership copies", lambda r: _mb(r["full_copies_bytes"])),
        row("as of, track ids in order (SQL): p50 / p95", lambda r: _p50_p95(r, "membership")),
        row("as of, whole rows (selector): p50 / p95", lambda r: _p50_p95(r, "as_of")),
        row("diff of two versions: p50 / p95", lambda r: _p50_p95(r, "diff")),
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
    return _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
