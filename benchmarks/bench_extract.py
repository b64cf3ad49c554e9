"""Benchmark: API calls and extraction time for the 10,000-item sandbox playlist.

    .venv/bin/python -m benchmarks.bench_extract [--latency-ms 20] [--repeat 1]

Starts the Spotify sandbox in-process (Development Mode), points settings at it
and ingests `DEMO_PLAYLISTS[10000]` into a throwaway, migrated SQLite file:

1. cold artist cache: `ingest_playlist` → n items, k artists fetched, api_calls vs
   the formula 1 + ⌈n/50⌉ + k, cross-checked with the sandbox's request counter;
2. unchanged: `ingest_playlist` again → api_calls (expected 1);
3. with `--latency-ms` per request: `extract_playlist` wall time with the project's
   concurrency (SPOTIFY_MAX_CONCURRENCY, default 8) vs a serial client
   (`max_concurrency=1`), both with a cold artist cache.

Item pages are inherently sequential (each `next` link comes from the previous
page); only the per-artist lookups run in parallel.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log, median

MODULE = "benchmarks.bench_extract"


def _clear_warehouse():
    from django.db import connection

    from warehouse.models import Artist, Playlist
    from warehouse.schema import TABLE

    Artist.objects.all().delete()
    Playlist.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")


def _timed_extract(playlist_id, concurrency):
    """Wall time of `extract_playlist` with a cold artist cache, split by phase."""
    from ingestion.sources.spotify_api import extract_playlist
    from spotify_client import SpotifyClient
    from warehouse.models import Artist

    Artist.objects.all().delete()
    client = SpotifyClient.from_settings()
    assert client.max_concurrency == concurrency, client.max_concurrency
    client.tokens.get_access_token()  # the token request is not part of extraction
    marks = {}

    def progress(step, done, total):
        marks.setdefault(step, time.perf_counter())

    with Timer() as timer:
        snapshot = extract_playlist(client, playlist_id, progress=progress)
    items_phase = marks.get("artists", timer.started) - timer.started
    return {
        "seconds": timer.seconds,
        "items_and_metadata_seconds": items_phase,
        "artists_seconds": timer.seconds - items_phase,
        "items": len(snapshot.items),
        "artists": len(snapshot.artist_genres),
        "api_calls": client.api_calls,
    }


def child(args):
    _common.setup_django()
    from django.conf import settings

    from devtools.sandbox import (
        DEMO_PLAYLISTS,
        DEMO_REFRESH_TOKEN,
        DEVELOPMENT,
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SandboxServer,
    )
    from ingestion.pipeline import ingest_playlist
    from spotify_client import SpotifyClient
    from warehouse.models import Artist

    _common.migrate()
    playlist_id = DEMO_PLAYLISTS[10000]
    results = {"playlist_id": playlist_id, "latency_ms": args.latency_ms}
    with SandboxServer(mode=DEVELOPMENT) as server:
        settings.SPOTIFY_API_BASE_URL = server.api_base_url
        settings.SPOTIFY_ACCOUNTS_BASE_URL = server.accounts_base_url
        settings.SPOTIFY_CLIENT_ID = SANDBOX_CLIENT_ID
        settings.SPOTIFY_CLIENT_SECRET = SANDBOX_CLIENT_SECRET
        settings.SPOTIFY_REFRESH_TOKEN = DEMO_REFRESH_TOKEN
        settings.SPOTIFY_MAX_REQUESTS_PER_SECOND = 0
        default_concurrency = settings.SPOTIFY_MAX_CONCURRENCY

        # 1. cold cache ---------------------------------------------------------------
        _clear_warehouse()
        server.state.reset()
        client = SpotifyClient.from_settings()
        with Timer() as timer:
            cold = ingest_playlist(playlist_id, client=client)
        n = cold.items_total
        k = Artist.objects.count()
        results["cold"] = {
            "status": cold.status,
            "error": cold.error,
            "items": n,
            "rows_loaded": cold.tracks_loaded,
            "items_skipped": cold.items_skipped,
            "artists_fetched": k,
            "api_calls": cold.api_calls,
            "formula": 1 + math.ceil(n / 50) + k,
            "sandbox_requests": server.state.stats(),
            "seconds": timer.seconds,
        }
        log(f"cold: {json.dumps(results['cold'])}")

        # 2. unchanged ----------------------------------------------------------------
        server.state.reset_counters()
        with Timer() as timer:
            again = ingest_playlist(playlist_id, client=client)
        results["unchanged"] = {
            "status": again.status,
            "api_calls": again.api_calls,
            "sandbox_requests": server.state.stats(),
            "seconds": timer.seconds,
        }
        log(f"unchanged: {json.dumps(results['unchanged'])}")

        # 3. wall time with latency: default concurrency vs serial ------------------
        server.state.set_faults(latency_ms=args.latency_ms)
        runs = {"concurrent": [], "serial": []}
        for run in range(args.repeat):
            for label, concurrency in (("concurrent", default_concurrency), ("serial", 1)):
                settings.SPOTIFY_MAX_CONCURRENCY = concurrency
                server.state.reset_counters()
                runs[label].append(_timed_extract(playlist_id, concurrency))
                runs[label][-1]["sandbox_requests"] = server.state.stats()
                log(
                    f"run {run + 1} {label} (max_concurrency={concurrency}): "
                    f"{runs[label][-1]['seconds']:.2f} s"
                )
        settings.SPOTIFY_MAX_CONCURRENCY = default_concurrency
        server.state.clear_faults()
        results["latency"] = {
            label: {
                "max_concurrency": default_concurrency if label == "concurrent" else 1,
                "seconds": median([r["seconds"] for r in values]),
                "runs": values,
            }
            for label, values in runs.items()
        }
    Path(args.result).write_text(json.dumps(results, indent=2, default=str))


def parent(args):
    machine = _common.machine_info()
    with _common.temp_dir("bench-extract-") as tmp:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        child_args = ["--latency-ms", str(args.latency_ms), "--repeat", str(args.repeat)]
        results = _common.run_child(MODULE, url, child_args, tmp / "result.json")
    print(render(results, machine, args))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=2)
        )


def render(results, machine, args):
    cold, unchanged, latency = results["cold"], results["unchanged"], results["latency"]
    concurrent, serial = latency["concurrent"], latency["serial"]
    c_run, s_run = concurrent["runs"][0], serial["runs"][0]
    rows = [
        ("cold cache: items n", cold["items"]),
        ("cold cache: rows loaded", cold["rows_loaded"]),
        ("cold cache: skipped items", cold["items_skipped"]),
        ("cold cache: distinct artists fetched k (Artist rows)", cold["artists_fetched"]),
        ("cold cache: api_calls (IngestResult)", cold["api_calls"]),
        ("cold cache: formula 1 + ⌈n/50⌉ + k", cold["formula"]),
        ("cold cache: sandbox request counter", cold["sandbox_requests"]),
        ("cold cache: status / wall s (no latency)", f"{cold['status']} / {cold['seconds']:.2f}"),
        ("unchanged: api_calls (expected 1)", unchanged["api_calls"]),
        ("unchanged: sandbox request counter", unchanged["sandbox_requests"]),
        ("unchanged: status / wall s", f"{unchanged['status']} / {unchanged['seconds']:.3f}"),
    ]
    timing = []
    for label, entry in (("project (concurrent)", concurrent), ("serial baseline", serial)):
        run = entry["runs"][0]
        timing.append(
            (
                label,
                entry["max_concurrency"],
                f"{entry['seconds']:.2f}",
                f"{run['items_and_metadata_seconds']:.2f}",
                f"{run['artists_seconds']:.2f}",
                run["api_calls"],
                " / ".join(f"{r['seconds']:.2f}" for r in entry["runs"]),
            )
        )
    items_ratio = s_run["items_and_metadata_seconds"] / c_run["items_and_metadata_seconds"]
    out = [
        f"bench_extract: playlist DEMO_PLAYLISTS[10000] = {results['playlist_id']} "
        "(sandbox, Development Mode)",
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, SQLite {machine['sqlite']}",
        "",
        _common.format_table(("measure", "value"), rows),
        "",
        f"extract_playlist wall time, {args.latency_ms} ms latency per request, cold artist cache,"
        f" median of {args.repeat} run(s):",
        "",
        _common.format_table(
            (
                "client",
                "max_concurrency",
                "median s",
                "items+metadata s",
                "artists s",
                "api_calls",
                "runs s",
            ),
            timing,
        ),
        "",
        f"speed-up, whole extraction: {serial['seconds'] / concurrent['seconds']:.2f}×",
        f"speed-up, artist phase only: {s_run['artists_seconds'] / c_run['artists_seconds']:.2f}×"
        f"  (item pages: {items_ratio:.2f}×, sequential by nature)",
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=20, help="per request (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs each (default 1)")
    parser.add_argument("--json", help="also write all results to this JSON file")
    _common.run_parent_or_child(parser, argv, parent=parent, child=child)


if __name__ == "__main__":
    sys.exit(main())
