"""Benchmark: enrichment of imported Spotify account data exports against the sandbox.

    .venv/bin/python -m benchmarks.bench_enrich [--tracks 2000] [--repeats 20]
        [--latency-ms 20] [--repeat 1] [--fill-rows 10000] [--import-runs 5]
        [--database sqlite|postgresql|both] [--json FILE]

Per database (a throwaway one: a temp SQLite file, PostgreSQL `bench_enrich`), the
child starts the Spotify sandbox in-process (Development Mode), points settings at
it with the app credentials only (no refresh token: an app token is enough for
`GET /v1/tracks/{id}` and `GET /v1/artists/{id}`), and writes a `Playlist1.json`
export of `--tracks` distinct catalog tracks (a seeded sample) plus `--repeats`
items repeating some of them, shaped as Spotify exports them (track URI, name, the
first artist's name, album name; see `devtools/synthetic/exports.py`):

1. import (`ingest_path`) with empty caches: seconds, rows, `missing_details`;
2. cold caches: `enrich_playlist` with the project's client (`SPOTIFY_MAX_CONCURRENCY`,
   default 8): `api_calls` against distinct tracks + distinct artists, the sandbox's
   own request counter (reset after the token request), seconds, rows updated;
3. warm caches: `enrich_playlist` again: calls, seconds, rows written (expected 0);
4. the import cost of `fill_details` (imports apply it from the caches, no call):
   a re-import over the enriched playlist, then imports into an empty warehouse
   with warm vs empty caches (median of `--import-runs`); and on a `--fill-rows`
   export (caches filled straight from the sandbox catalog, untimed), `fill_details`
   alone against `transform_snapshot` of the same snapshot, and the whole import;
5. with `--latency-ms` per request: `enrich_playlist` with cold caches, the project's
   concurrency vs a serial client (`max_concurrency=1`), split by phase from the
   progress callbacks (rows + track lookups, artist lookups, fill + load).
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log, median

MODULE = "benchmarks.bench_enrich"
PG_DATABASE = "bench_enrich"
OWNER_KEY = "bench-enrich"
ADDED = "2025-05-30"


# === the export ===========================================================================
def _pick_tracks(catalog, count, seed):
    """`count` distinct catalog tracks, a seeded sample (the same in every run)."""
    ids = sorted(catalog.tracks)
    if count > len(ids):
        raise SystemExit(f"the sandbox catalog has {len(ids)} tracks, fewer than {count}")
    return [catalog.tracks[track_id] for track_id in random.Random(seed).sample(ids, count)]


def _write_export(path, catalog, tracks, *, repeats, name):
    from devtools.synthetic.exports import export_item, export_playlist, write_export_json

    repeated = tracks[: min(repeats, len(tracks))]
    items = [export_item(catalog, track, added=ADDED) for track in [*tracks, *repeated]]
    write_export_json(path, [export_playlist(name, items)])
    return {"items": len(items), "repeats": len(repeated)}


def _fill_caches_from_catalog(catalog, tracks):
    """The track and artist caches as an enrichment would leave them, written
    straight from the catalog (what the sandbox serves), with no API call."""
    from django.utils import timezone

    from warehouse.models import Artist, Track

    now = timezone.now()
    Track.objects.bulk_create(
        [
            Track(
                track_id=track.id,
                name=track.name,
                duration_ms=track.duration_ms,
                explicit=track.explicit,
                isrc=track.isrc,
                album_id=track.album_id,
                album_name=catalog.albums[track.album_id].name,
                album_release_date=catalog.albums[track.album_id].release_date,
                album_release_date_precision=catalog.albums[track.album_id].release_date_precision,
                artists=[[a, catalog.artists[a].name] for a in track.artist_ids],
                found=True,
                fetched_at=now,
            )
            for track in tracks
        ],
        batch_size=500,
    )
    artists = [catalog.artists[a] for a in dict.fromkeys(a for t in tracks for a in t.artist_ids)]
    Artist.objects.bulk_create(
        [
            Artist(
                artist_id=artist.id,
                name=artist.name,
                # None: the sandbox leaves `genres` out, and the cache stores it so.
                genres=None if artist.genres is None else list(artist.genres),
                fetched_at=now,
            )
            for artist in artists
        ],
        batch_size=500,
    )


# === warehouse helpers ====================================================================
def _clear_caches():
    from warehouse.models import Artist, Track

    Track.objects.all().delete()
    Artist.objects.all().delete()


def _drop_playlist(playlist_id):
    from django.db import connection

    from warehouse.models import Playlist
    from warehouse.schema import TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE playlist_id = %s", [playlist_id])
    Playlist.objects.filter(pk=playlist_id).delete()


def _import(path):
    from ingestion.files import ingest_path

    with Timer() as timer:
        results = ingest_path(path, owner_key=OWNER_KEY)
    [result] = results
    if result.status != "succeeded":
        raise SystemExit(f"import of {path} failed: {result.error}")
    return {
        "seconds": timer.seconds,
        "playlist_id": result.playlist_id,
        "rows_loaded": result.tracks_loaded,
        "rows_inserted": result.rows_inserted,
        "rows_updated": result.rows_updated,
        "rows_unchanged": result.rows_unchanged,
    }


def _fresh_imports(path, playlist_id, runs):
    """`runs` imports of `path`, each into a warehouse without the playlist."""
    timings = []
    for _ in range(runs):
        _drop_playlist(playlist_id)
        timings.append(_import(path))
    return {
        "seconds": median([t["seconds"] for t in timings]),
        "runs": [t["seconds"] for t in timings],
        "rows_inserted": timings[-1]["rows_inserted"],
    }


def _timed(function, runs):
    values = []
    for _ in range(runs):
        with Timer() as timer:
            function()
        values.append(timer.seconds)
    return {"seconds": median(values), "runs": values}


# === enrichment ===========================================================================
def _enrich(server, playlist_id, concurrency):
    """`enrich_playlist` with a fresh client of `concurrency`, split by phase."""
    from django.conf import settings

    from ingestion.enrichment import enrich_playlist
    from spotify_client import SpotifyClient

    settings.SPOTIFY_MAX_CONCURRENCY = concurrency
    client = SpotifyClient.from_settings()
    assert client.max_concurrency == concurrency, client.max_concurrency
    assert not client.tokens.is_user_token
    client.tokens.get_access_token()  # the token request is neither timed nor counted
    server.state.reset_counters()
    marks = {}

    def progress(step, done, total):
        marks.setdefault(step, time.perf_counter())

    with Timer() as timer:
        result = enrich_playlist(playlist_id, client=client, progress=progress)
    ended = timer.started + timer.seconds
    artists_at = marks.get("artists", ended)
    load_at = marks.get("load", ended)
    return {
        "max_concurrency": concurrency,
        "status": str(result.status),
        "error": result.error,
        "api_calls": result.api_calls,
        "sandbox_requests": server.state.stats(),
        "seconds": timer.seconds,
        "tracks_phase_seconds": artists_at - timer.started,
        "artists_phase_seconds": load_at - artists_at,
        "load_phase_seconds": ended - load_at,
        "rows_loaded": result.tracks_loaded,
        "rows_updated": result.rows_updated,
        "rows_unchanged": result.rows_unchanged,
    }


# === child: one database ==================================================================
def child(args):
    _common.setup_django()
    from django.conf import settings
    from django.db import connection

    from devtools.sandbox import (
        DEVELOPMENT,
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SandboxServer,
    )
    from warehouse.models import Artist, Track
    from warehouse.queries import missing_details

    _common.migrate()
    results = {"vendor": connection.vendor}
    with (
        SandboxServer(mode=DEVELOPMENT) as server,
        _common.temp_dir("bench-enrich-files-") as tmp,
    ):
        settings.SPOTIFY_API_BASE_URL = server.api_base_url
        settings.SPOTIFY_ACCOUNTS_BASE_URL = server.accounts_base_url
        settings.SPOTIFY_CLIENT_ID = SANDBOX_CLIENT_ID
        settings.SPOTIFY_CLIENT_SECRET = SANDBOX_CLIENT_SECRET
        settings.SPOTIFY_REFRESH_TOKEN = ""  # app credentials: catalog lookups only
        settings.SPOTIFY_MAX_REQUESTS_PER_SECOND = 0
        default_concurrency = settings.SPOTIFY_MAX_CONCURRENCY
        catalog = server.catalog

        tracks = _pick_tracks(catalog, args.tracks, seed=0)
        path = tmp / "export" / "Playlist1.json"
        export = _write_export(path, catalog, tracks, repeats=args.repeats, name="Bench enrich")
        artist_ids = {a for track in tracks for a in track.artist_ids}
        export.update(tracks=len(tracks), artists=len(artist_ids))
        results["export"] = export

        # 1. import, empty caches -------------------------------------------------------
        _clear_caches()
        first = _import(path)
        playlist_id = first["playlist_id"]
        first["missing_details"] = missing_details(playlist_id)
        results["import"] = first
        log(f"import: {json.dumps(first)}")

        # 2. cold caches ----------------------------------------------------------------
        cached_tracks, cached_artists = Track.objects.count(), Artist.objects.count()
        cold = _enrich(server, playlist_id, default_concurrency)
        cold["expected_calls"] = (len(tracks) - cached_tracks) + (len(artist_ids) - cached_artists)
        cold["cache_after"] = {"tracks": Track.objects.count(), "artists": Artist.objects.count()}
        cold["missing_details"] = missing_details(playlist_id)
        results["cold"] = cold
        log(f"cold: {json.dumps(cold)}")

        # 3. warm caches ----------------------------------------------------------------
        warm = _enrich(server, playlist_id, default_concurrency)
        results["warm"] = warm
        log(f"warm: {json.dumps(warm)}")

        # 4. import cost of fill_details ------------------------------------------------
        server.state.reset_counters()
        reimport = _import(path)
        reimport["sandbox_requests"] = server.state.stats()
        results["reimport_over_enriched"] = reimport
        warm_imports = _fresh_imports(path, playlist_id, args.import_runs)
        warm_imports["missing_details"] = missing_details(playlist_id)
        warm_imports["sandbox_requests"] = server.state.stats()
        _clear_caches()
        cold_imports = _fresh_imports(path, playlist_id, args.import_runs)
        cold_imports["missing_details"] = missing_details(playlist_id)
        results["imports"] = {"warm": warm_imports, "cold": cold_imports}
        log(f"imports: {json.dumps(results['imports'])}")
        results["fill"] = _fill_cost(args, catalog, tmp)

        # 5. latency: project concurrency vs serial, cold caches -------------------------
        server.state.set_faults(latency_ms=args.latency_ms)
        runs = {"concurrent": [], "serial": []}
        for run in range(args.repeat):
            for label, concurrency in (("concurrent", default_concurrency), ("serial", 1)):
                _clear_caches()
                _drop_playlist(playlist_id)
                _import(path)
                runs[label].append(_enrich(server, playlist_id, concurrency))
                log(
                    f"run {run + 1} {label} (max_concurrency={concurrency}): "
                    f"{runs[label][-1]['seconds']:.2f} s, {runs[label][-1]['api_calls']} calls"
                )
        server.state.clear_faults()
        settings.SPOTIFY_MAX_CONCURRENCY = default_concurrency
        results["latency"] = {
            label: {
                "max_concurrency": values[0]["max_concurrency"],
                "seconds": median([r["seconds"] for r in values]),
                "runs": values,
            }
            for label, values in runs.items()
        }
    Path(args.result).write_text(json.dumps(results, indent=2, default=str))


def _fill_cost(args, catalog, tmp):
    """fill_details alone vs transform_snapshot, and whole imports, on --fill-rows rows."""
    from ingestion.enrichment import fill_details
    from ingestion.files.spotify_export import read_export
    from ingestion.transform import transform_snapshot

    tracks = _pick_tracks(catalog, args.fill_rows, seed=1)
    path = tmp / "export-fill" / "Playlist1.json"
    _write_export(path, catalog, tracks, repeats=0, name="Bench fill")
    [(_, snapshot)] = read_export([path], owner_key=OWNER_KEY)
    runs = args.import_runs
    report = {"rows": len(tracks)}
    report["transform"] = _timed(lambda: transform_snapshot(snapshot), runs)
    rows = transform_snapshot(snapshot).rows

    _clear_caches()
    _fill_caches_from_catalog(catalog, tracks)
    report["fill_warm"] = _timed(lambda: fill_details(rows), runs)
    filled = fill_details(rows)
    report["fill_warm"]["rows_without_duration"] = int(filled["track_duration_ms"].isna().sum())
    report["fill_warm"]["rows_without_genres"] = sum(not g for g in filled["track_genres"])
    playlist_id = snapshot.playlist_id
    report["import_warm"] = _fresh_imports(path, playlist_id, runs)

    _clear_caches()
    report["fill_cold"] = _timed(lambda: fill_details(rows), runs)
    report["import_cold"] = _fresh_imports(path, playlist_id, runs)
    _drop_playlist(playlist_id)
    log(f"fill: {json.dumps(report)}")
    return report


# === parent ===============================================================================
def parent(args):
    machine = _common.machine_info()
    child_args = [
        "--tracks", str(args.tracks), "--repeats", str(args.repeats),
        "--latency-ms", str(args.latency_ms), "--repeat", str(args.repeat),
        "--fill-rows", str(args.fill_rows), "--import-runs", str(args.import_runs),
    ]  # fmt: skip
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = {}
    with _common.temp_dir("bench-enrich-") as tmp:
        for database in databases:
            log(f"--- {database} ---")
            if database == "sqlite":
                url = f"sqlite:///{tmp / 'bench.sqlite3'}"
                results[database] = _common.run_child(MODULE, url, child_args, tmp / "sqlite.json")
                continue
            _common.recreate_pg_database(PG_DATABASE)
            try:
                url = _common.pg_url(PG_DATABASE)
                results[database] = _common.run_child(MODULE, url, child_args, tmp / "pg.json")
            finally:
                _common.drop_pg_database(PG_DATABASE)
    print(render(results, machine, args))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=2)
        )


def _requests(stats):
    return " + ".join(f"{kind} {stats.get(kind, 0)}" for kind in ("track", "artist")) + (
        f" = {stats.get('total', 0)}"
    )


def _measures(r):
    export, first, cold, warm = r["export"], r["import"], r["cold"], r["warm"]
    reimport, imports, fill = r["reimport_over_enriched"], r["imports"], r["fill"]
    ratio_import = imports["warm"]["seconds"] / imports["cold"]["seconds"]
    fill_ratio = fill["fill_warm"]["seconds"] / fill["transform"]["seconds"]
    fill_import_ratio = fill["import_warm"]["seconds"] / fill["import_cold"]["seconds"]
    n = f"{fill['rows']:,}"
    return [
        ("export: items (distinct tracks + repeats)", f"{export['items']:,} "
         f"({export['tracks']:,} + {export['repeats']})"),
        ("export: distinct artists of those tracks", f"{export['artists']:,}"),
        ("import, empty caches: s / rows loaded", f"{first['seconds']:.3f} / "
         f"{first['rows_loaded']:,}"),
        ("missing_details before: enrichable rows", f"{first['missing_details']['enrichable']:,}"),
        ("cold: api_calls (IngestResult)", f"{cold['api_calls']:,}"),
        ("cold: expected = uncached tracks + uncached artists", f"{cold['expected_calls']:,}"),
        ("cold: sandbox request counter", _requests(cold["sandbox_requests"])),
        ("cold: caches after (Track / Artist rows)", f"{cold['cache_after']['tracks']:,} / "
         f"{cold['cache_after']['artists']:,}"),
        ("cold: status / s (no latency)", f"{cold['status']} / {cold['seconds']:.2f}"),
        ("cold: rows updated / unchanged", f"{cold['rows_updated']:,} / "
         f"{cold['rows_unchanged']:,}"),
        ("missing_details after: enrichable / without genres",
         f"{cold['missing_details']['enrichable']} / "
         f"{cold['missing_details']['without_genres']}"),
        ("warm: api_calls / sandbox requests", f"{warm['api_calls']} / "
         f"{warm['sandbox_requests'].get('total', 0)}"),
        ("warm: s / rows updated / unchanged", f"{warm['seconds']:.3f} / "
         f"{warm['rows_updated']} / {warm['rows_unchanged']:,}"),
        ("re-import over enriched playlist: s / rows updated / requests",
         f"{reimport['seconds']:.3f} / {reimport['rows_updated']} / "
         f"{reimport['sandbox_requests'].get('total', 0)}"),
        ("fresh import, empty caches: median s", f"{imports['cold']['seconds']:.3f}"),
        ("fresh import, warm caches: median s (enrichable after)",
         f"{imports['warm']['seconds']:.3f} ({imports['warm']['missing_details']['enrichable']})"),
        ("fresh import: warm / empty caches", f"{ratio_import:.2f}×"),
        (f"{n} rows: transform_snapshot median s",
         f"{fill['transform']['seconds']:.3f}"),
        (f"{n} rows: fill_details, empty caches", f"{fill['fill_cold']['seconds']:.3f}"),
        (f"{n} rows: fill_details, warm caches", f"{fill['fill_warm']['seconds']:.3f}"),
        (f"{n} rows: fill_details warm / transform", f"{fill_ratio:.2f}×"),
        (f"{n} rows: import empty / warm caches s",
         f"{fill['import_cold']['seconds']:.3f} / {fill['import_warm']['seconds']:.3f} "
         f"({fill_import_ratio:.2f}×)"),
    ]  # fmt: skip


def render(results, machine, args):
    databases = list(results)
    measures = {database: _measures(results[database]) for database in databases}
    labels = [label for label, _ in measures[databases[0]]]
    rows = [
        (label, *(measures[database][i][1] for database in databases))
        for i, label in enumerate(labels)
    ]
    timing = []
    for database in databases:
        latency = results[database]["latency"]
        for label in ("concurrent", "serial"):
            entry = latency[label]
            run = entry["runs"][0]
            timing.append(
                (
                    database,
                    entry["max_concurrency"],
                    f"{entry['seconds']:.2f}",
                    f"{run['tracks_phase_seconds']:.2f}",
                    f"{run['artists_phase_seconds']:.2f}",
                    f"{run['load_phase_seconds']:.2f}",
                    f"{run['api_calls']:,}",
                    " / ".join(f"{r['seconds']:.2f}" for r in entry["runs"]),
                )
            )
    speedups = []
    for database in databases:
        latency = results[database]["latency"]
        c_run, s_run = latency["concurrent"]["runs"][0], latency["serial"]["runs"][0]
        whole = latency["serial"]["seconds"] / latency["concurrent"]["seconds"]
        tracks = s_run["tracks_phase_seconds"] / c_run["tracks_phase_seconds"]
        artists = s_run["artists_phase_seconds"] / c_run["artists_phase_seconds"]
        speedups.append(
            f"{database}: speed-up {whole:.2f}× (rows + track lookups {tracks:.2f}×, "
            f"artist lookups {artists:.2f}×)"
        )
    out = [
        f"bench_enrich: {args.tracks} catalog tracks + {args.repeats} repeats "
        "(sandbox, Development Mode, app token)",
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, SQLite {machine['sqlite']},"
        f" PostgreSQL {machine.get('postgresql')}",
        "",
        _common.format_table(("measure", *databases), rows),
        "",
        f"enrich_playlist, {args.latency_ms} ms latency per request, cold caches, "
        f"median of {args.repeat} run(s):",
        "",
        _common.format_table(
            (
                "database",
                "max_concurrency",
                "median s",
                "rows + tracks s",
                "artists s",
                "fill + load s",
                "api_calls",
                "runs s",
            ),
            timing,
        ),
        "",
        *speedups,
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=2000, help="distinct tracks (default 2000)")
    parser.add_argument("--repeats", type=int, default=20, help="repeated items (default 20)")
    parser.add_argument("--latency-ms", type=int, default=20, help="per request (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="latency runs each (default 1)")
    parser.add_argument(
        "--fill-rows", type=int, default=10_000, help="rows of the fill_details export (10000)"
    )
    parser.add_argument(
        "--import-runs", type=int, default=5, help="runs of each import/fill timing (default 5)"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--json", help="also write all results to this JSON file")
    _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
