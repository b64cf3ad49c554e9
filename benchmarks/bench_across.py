"""Benchmark: the pages across playlists (overlap map, duplicates, library, comparison),
on SQLite and PostgreSQL, each beside its naive alternative measured in the same run.

    .venv/bin/python -m benchmarks.bench_across [--playlists 200] [--rows 100000]
        [--big 10000] [--requests 15] [--warmup 3] [--cold-requests 5]
        [--database sqlite|postgresql|both] [--cache database|redis] [--vacuum]
        [--pages overlap,duplicates,duplicates-loose,library,compare]

One user owns `--playlists` playlists holding `--rows` rows in all: two of
`--big` tracks each (for the 10,000 × 10,000 comparison; they share about a
third of their tracks), the others of 50–2,000 tracks (log-uniform, scaled to
the rest of the rows). Tracks are drawn from one pool of generated music
(devtools.synthetic), so playlists overlap; 3% of the pool has a twin that the
duplicate rules should catch or refuse: the same ISRC on another release, the
same title within 1 s, or a "(Live)"/"- Remastered 2011" version (loose only).

Timed, through the Django test Client (the whole server-side request): the
overlap map, duplicates across the library (strict and loose), the library page,
and the comparison of the two big playlists. Each page three times: *cold*, the
first request after a load of one of its playlists (a real reload by the loader,
untimed, before each timed request: the pages' cached figures are then counted
again), *after warm*, the first request after such a load once the warm task has
run (`ingestion.tasks.warm_across`, called here after each reload and timed on its
own: the warm task's duration per person), and *warm*, requests with nothing
loaded in between (the figures read back from the shared cache: the database
table, or Redis with `--cache redis`). The comparison is not warmed (it depends on
the playlists chosen), so it has no "after warm".
The naive alternative, timed in the same child: rows fetched through the ORM,
then pairwise Python set intersections (overlap, comparison), a Counter
(library), and the same matching rules over every distinct track grouped in
Python (duplicates).

Uses its own databases only: PostgreSQL `bench_across` (dropped and created at
start, dropped at the end unless --keep-db) and a temp SQLite file.
"""

import argparse
import gc
import json
import math
import os
import statistics
import time
from collections import Counter
from pathlib import Path

from benchmarks import _common
from benchmarks._common import Timer, log

MODULE = "benchmarks.bench_across"
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "bench_across")
TARGETS_MS = {"overlap map": 500, "duplicates": 1000, "duplicates loose": 1000, "library": 300}
TARGETS_MS["compare 2 big"] = 200
REDIS_URL = "redis://127.0.0.1:6379/0"
WARM_TASK = "warm task"  # the row of the warm task's own duration per person
# --pages: the short names of the pages timed (all by default).
PAGE_NAMES = {
    "overlap": "overlap map",
    "duplicates": "duplicates",
    "duplicates-loose": "duplicates loose",
    "library": "library",
    "compare": "compare 2 big",
}


# === child: generate, load, time ======================================================
def playlist_sizes(rng, playlists, rows, big):
    """Two of `big`, the others log-uniform in 50–2,000 scaled to the remaining rows."""
    small = playlists - 2
    raw = [math.exp(rng.uniform(math.log(50), math.log(2000))) for _ in range(small)]
    scale = (rows - 2 * big) / sum(raw)
    return [big, big] + [max(50, min(2000, round(size * scale))) for size in raw]


def generate(playlists, rows, big, seed=15):
    """[(snapshot, rows frame)] of the user's playlists."""
    from dataclasses import replace

    from devtools.synthetic.music import generate_music
    from devtools.synthetic.primitives import numbered_id, seeded
    from devtools.synthetic.snapshots import snapshot_of
    from ingestion.snapshot import ArtistRef, Track
    from ingestion.transform import transform_snapshot

    rng = seeded(seed, "across")
    music = generate_music(rng, artists=5000, tracks=int(rows * 0.5), unknown_genres=0.10)
    artists = {a.id: ArtistRef(id=a.id, name=a.name) for a in music.artists.values()}
    genres = {a.id: None if a.genres is None else list(a.genres) for a in music.artists.values()}
    pool = []
    for track in music.tracks.values():
        album = music.albums[track.album_id]
        pool.append(
            Track(
                id=track.id,
                uri=f"spotify:track:{track.id}",
                name=track.name,
                duration_ms=track.duration_ms,
                explicit=track.explicit,
                isrc=track.isrc,
                album_id=album.id,
                album_name=album.name,
                album_release_date=album.release_date,
                album_release_date_precision=album.release_date_precision,
                artists=tuple(artists[a] for a in track.artist_ids),
            )
        )
    twins = []
    for n, original in enumerate(rng.sample(pool, len(pool) * 3 // 100)):
        twin_id = numbered_id(n, "twin")
        kind = n % 4
        twins.append(
            replace(
                original,
                id=twin_id,
                uri=f"spotify:track:{twin_id}",
                name=[
                    original.name,
                    original.name,
                    f"{original.name} (Live)",
                    f"{original.name} - Remastered 2011",
                ][kind],
                isrc=original.isrc if kind == 0 else f"TW{n:010d}",
                duration_ms=(original.duration_ms or 0) + rng.randint(-1000, 1000),
            )
        )
    pool += twins
    rng.shuffle(pool)
    out = []
    sizes = playlist_sizes(rng, playlists, rows, big)
    for p, size in enumerate(sizes):
        if p < 2:  # the two big ones share a third of their tracks
            start = 0 if p == 0 else big * 2 // 3
            tracks = pool[start : start + size]
        else:
            tracks = rng.sample(pool, size)
        snapshot = snapshot_of(
            tracks, genres=genres, playlist_id=numbered_id(p, "pl"), name=f"Across {p:03d}"
        )
        out.append((snapshot, transform_snapshot(snapshot).rows))
    return out


def load(playlists, rows, big, vacuum=False):
    from django.contrib.auth import get_user_model

    from accounts.models import Access, UserPlaylist
    from warehouse.loader import load_playlists

    user = get_user_model().objects.create_user("bench", "bench@example.org", "not-used")
    with Timer() as generating:
        batch = generate(playlists, rows, big)
    with Timer() as loading:
        for start in range(0, len(batch), 20):
            load_playlists(batch[start : start + 20])
    UserPlaylist.objects.bulk_create(
        UserPlaylist(user=user, playlist_id=snapshot.playlist_id, access=Access.GRANTED)
        for snapshot, _ in batch
    )
    total = sum(len(frame) for _, frame in batch)
    log(
        f"{len(batch)} playlists, {total:,} rows: generated in {generating.seconds:.1f} s, "
        f"loaded in {loading.seconds:.1f} s"
    )
    _analyze(vacuum)
    return user, batch, total


def _analyze(vacuum=False):
    """ANALYZE; with `vacuum` on PostgreSQL, VACUUM ANALYZE (what autovacuum leaves after
    a bulk load: the visibility map set, so an index-only scan reads no table page)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE" if vacuum and connection.vendor == "postgresql" else "ANALYZE"
        )


def _percentile(values, percent):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def timed(function, *, warmup, requests, before=None):
    """p50 and p95 of `requests` calls after `warmup` untimed ones; `before` (untimed)
    runs before each of them."""
    for _ in range(warmup):
        if before:
            before()
        function()
    seconds = []
    for _ in range(requests):
        if before:
            before()
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return {
        "p50_ms": statistics.median(seconds) * 1000,
        "p95_ms": _percentile(seconds, 95) * 1000,
    }


def reloader(batch, index):
    """A real load of playlist `index` again (its same snapshot: no row changes, but
    a load: its stamp moves, so every cached figure over it is counted again)."""
    from warehouse import matching
    from warehouse.loader import load_playlists

    def reload():
        load_playlists([batch[index]])
        matching.normalise_title.cache_clear()  # a cold process knows no title either

    return reload


def reload_and_warm(reload, user_id, durations):
    """A reload, then the warm task for the person, as the queue runs it once the
    load commits (the children switch the enqueueing off: they call it themselves);
    its duration goes into `durations`."""
    from ingestion import tasks

    def before():
        reload()
        started = time.perf_counter()
        result = tasks.warm_across(user_id)
        durations.append(time.perf_counter() - started)
        assert "computed library" in result, result

    return before


def page(client, url):
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return get


# --- the naive alternatives: rows through the ORM, sets in Python ----------------------
def _orm_rows(ids, *fields):
    from warehouse.models import PlaylistTrack

    return PlaylistTrack.objects.filter(playlist_id__in=ids, removed_at__isnull=True).values_list(
        *fields
    )


def naive_overlap(ids):
    sets = {}
    for playlist_id, track_id in _orm_rows(ids, "playlist_id", "track_id"):
        sets.setdefault(playlist_id, set()).add(track_id)
    keys = sorted(sets)
    return {(a, b): len(sets[a] & sets[b]) for i, a in enumerate(keys) for b in keys[i + 1 :]}


def naive_compare(a, b):
    sets = {a: set(), b: set()}
    artists = {a: set(), b: set()}
    for playlist_id, track_id, artist_ids in _orm_rows(
        [a, b], "playlist_id", "track_id", "artist_ids"
    ):
        sets[playlist_id].add(track_id)
        artists[playlist_id].update(artist_ids)
    return len(sets[a] & sets[b]), len(sets[a] | sets[b]), len(artists[a] & artists[b])


def naive_library(ids):
    counts = Counter(track_id for (track_id,) in _orm_rows(ids, "track_id"))
    return counts.most_common(50), len(counts)


def naive_duplicates(ids, *, loose):
    from warehouse import matching

    facts = {}
    for track_id, name, artist_ids, names, duration, isrc in _orm_rows(
        ids,
        "track_id",
        "track_name",
        "artist_ids",
        "artist_names",
        "track_duration_ms",
        "track_isrc",
    ):
        primary = artist_ids[0] if artist_ids else (names[0] if names else None)
        facts[track_id] = matching.TrackFacts(track_id, name, primary, duration, isrc)
    tracks = list(facts.values())
    return matching.group_tracks(tracks, matching.candidate_pairs(tracks), loose=loose)


def child(args):
    _common.setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils.http import urlencode

    from warehouse import matching

    _common.migrate()
    call_command("createcachetable", verbosity=0)
    user, batch, total = load(args.playlists, args.rows, args.big, args.vacuum)
    ids = [snapshot.playlist_id for snapshot, _ in batch]
    smallest = min(range(len(batch)), key=lambda n: len(batch[n][1]))
    # Only the two playlists the cold views reload stay in memory: the whole generated
    # batch (~500,000 objects) made each full pass of the cycle collector cost 270–490
    # ms inside a timed request (timed with gc.callbacks), a heap no web process has.
    batch = {index: batch[index] for index in (1, smallest)}
    gc.collect()
    log(f"cache: {settings.CACHES['default']['BACKEND']}")
    client = Client()
    client.force_login(user)
    compare = reverse("dashboard:compare") + "?" + urlencode([("p", ids[0]), ("p", ids[1])])
    duplicates = reverse("dashboard:duplicates")
    pages = {
        "overlap map": (page(client, reverse("dashboard:overlap")), lambda: naive_overlap(ids)),
        "duplicates": (
            page(client, duplicates),
            lambda: naive_duplicates(ids, loose=False),
        ),
        "duplicates loose": (
            page(client, duplicates + "?loose=1"),
            lambda: naive_duplicates(ids, loose=True),
        ),
        "library": (page(client, reverse("dashboard:library")), lambda: naive_library(ids)),
        "compare 2 big": (page(client, compare), lambda: naive_compare(ids[0], ids[1])),
    }
    chosen = {PAGE_NAMES[short] for short in args.pages.split(",")}
    pages = {name: timed_page for name, timed_page in pages.items() if name in chosen}
    results = []
    warm_seconds = []  # the warm task's duration, once per reload before an "after warm"
    for name, (ours, naive) in pages.items():
        # The first view after a load of one of the page's playlists: the smallest
        # (the comparison's: the second big one).
        reload = reloader(batch, 1 if name == "compare 2 big" else smallest)
        cold = timed(ours, warmup=1, requests=args.cold_requests, before=reload)
        # After a reload and the warm task (which compares the pairs sharing the
        # most tracks: the two big playlists are the first).
        warming = reload_and_warm(reload, user.pk, warm_seconds)
        after_warm = timed(ours, warmup=0, requests=args.cold_requests, before=warming)
        matching.normalise_title.cache_clear()
        timing = timed(ours, warmup=args.warmup, requests=args.requests)
        matching.normalise_title.cache_clear()
        naive_timing = timed(naive, warmup=1, requests=max(3, args.requests // 3))
        results.append(
            {
                "vendor": connection.vendor,
                "page": name,
                "rows": total,
                **timing,
                "cold_p50_ms": cold["p50_ms"],
                "cold_p95_ms": cold["p95_ms"],
                "after_warm_p50_ms": after_warm["p50_ms"],
                "after_warm_p95_ms": after_warm["p95_ms"],
                "naive_p50_ms": naive_timing["p50_ms"],
                "naive_p95_ms": naive_timing["p95_ms"],
                "load_average": _load_average(),
            }
        )
        log(
            f"{connection.vendor} {name}: cold p95 {cold['p95_ms']:.0f} ms, after warm p95 "
            f"{after_warm['p95_ms']:.0f} ms, warm p95 {timing['p95_ms']:.0f} ms (naive "
            f"{naive_timing['p95_ms']:.0f} ms); load {_load_average()}"
        )
    if warm_seconds:  # none when no page was timed
        results.append(
            {
                "vendor": connection.vendor,
                "page": WARM_TASK,
                "rows": total,
                "p50_ms": statistics.median(warm_seconds) * 1000,
                "p95_ms": _percentile(warm_seconds, 95) * 1000,
                "runs": len(warm_seconds),
                "load_average": _load_average(),
            }
        )
    Path(args.result).write_text(json.dumps(results))


def _load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# === parent =============================================================================
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--playlists", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cold-requests", type=int, default=5)
    parser.add_argument("--cache", choices=("database", "redis"), default="database")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE after loading")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--pages",
        type=_page_names,
        default=",".join(PAGE_NAMES),
        help=f"comma-separated, of: {', '.join(PAGE_NAMES)} (default: all)",
    )
    _common.run_parent_or_child(parser, None, parent=parent, child=child)


def _page_names(text):
    unknown = [name for name in text.split(",") if name not in PAGE_NAMES]
    if unknown or not text:
        raise argparse.ArgumentTypeError(f"not a page: {', '.join(unknown) or text!r}")
    return text


def parent(args):
    passthrough = ["--playlists", str(args.playlists), "--rows", str(args.rows)]
    passthrough += ["--pages", args.pages]
    passthrough += ["--big", str(args.big), "--requests", str(args.requests)]
    passthrough += ["--warmup", str(args.warmup), "--cold-requests", str(args.cold_requests)]
    passthrough += ["--vacuum"] if args.vacuum else []
    # The children call the warm task themselves, timed, after the reloads that need
    # it: the loads enqueue nothing (no cluster would run it).
    os.environ["ACROSS_WARM_ON_LOAD"] = "false"
    if args.cache == "redis":  # the children read the environment
        os.environ.setdefault("REDIS_URL", REDIS_URL)
        os.environ.setdefault("ACROSS_CACHE_SECONDS", "3600")  # a shared Redis: not kept
    else:
        os.environ.pop("REDIS_URL", None)
    results = []
    with _common.temp_dir("bench-across-") as tmp:
        if args.database in ("sqlite", "both"):
            url = f"sqlite:///{tmp / 'bench.sqlite3'}"
            results += _common.run_child(MODULE, url, passthrough, tmp / "sqlite.json")
        if args.database in ("postgresql", "both"):
            _common.recreate_pg_database(PG_DATABASE)
            try:
                results += _common.run_child(
                    MODULE, _common.pg_url(PG_DATABASE), passthrough, tmp / "pg.json"
                )
            finally:
                if not args.keep_db:
                    _common.drop_pg_database(PG_DATABASE)
    print(report(results))


def report(results):
    headers = ["database", "page", "cold p50 / p95 ms", "after warm p50 / p95 ms"]
    headers += ["warm p50 / p95 ms", "target p95", "cold", "after warm", "warm"]
    headers += ["naive p50 / p95 ms", "after warm ÷ cold (p50)", "after warm ÷ naive (p50)"]
    headers += ["load average"]

    def met(value, target):
        return "-" if value is None else ("✓" if value < target else "✗")

    def pair(p50, p95):
        return "-" if p50 is None else f"{p50:,.0f} / {p95:,.0f}"

    pages = [r for r in results if r["page"] != WARM_TASK]
    rows = [
        [
            r["vendor"],
            r["page"],
            pair(r["cold_p50_ms"], r["cold_p95_ms"]),
            pair(r["after_warm_p50_ms"], r["after_warm_p95_ms"]),
            pair(r["p50_ms"], r["p95_ms"]),
            f"< {TARGETS_MS[r['page']]:,}",
            met(r["cold_p95_ms"], TARGETS_MS[r["page"]]),
            met(r["after_warm_p95_ms"], TARGETS_MS[r["page"]]),
            met(r["p95_ms"], TARGETS_MS[r["page"]]),
            pair(r["naive_p50_ms"], r["naive_p95_ms"]),
            _ratio(r["after_warm_p50_ms"], r["cold_p50_ms"]),
            _ratio(r["after_warm_p50_ms"], r["naive_p50_ms"]),
            r["load_average"],
        ]
        for r in pages
    ]
    rows_total = results[0]["rows"] if results else 0
    return "\n".join(
        [
            f"{rows_total:,} rows; machine: {json.dumps(_common.machine_info())}",
            _common.format_table(headers, rows),
            "",
            _warm_task_report(results),
        ]
    )


def _ratio(value, baseline):
    return "-" if value is None or not baseline else f"{value / baseline:.2f}"


def _warm_task_report(results):
    """The warm task's own duration per person, beside what it saves: the cold first
    views of the pages it warms (those timed), and their naive alternatives, in the
    same child."""
    headers = ["database", "warm task p50 / p95 ms", "runs", "cold pages p50 sum ms"]
    headers += ["warm ÷ cold sum", "naive p50 sum ms", "warm ÷ naive sum", "load average"]
    rows = []
    tasks = [r for r in results if r["page"] == WARM_TASK]
    for task in tasks:
        warmed = [r for r in results if r["vendor"] == task["vendor"] and r["page"] != WARM_TASK]
        cold = sum(r["cold_p50_ms"] for r in warmed)
        naive = sum(r["naive_p50_ms"] for r in warmed)
        rows.append(
            [
                task["vendor"],
                f"{task['p50_ms']:,.0f} / {task['p95_ms']:,.0f}",
                task["runs"],
                f"{cold:,.0f}",
                f"{task['p50_ms'] / cold:.2f}" if cold else "-",
                f"{naive:,.0f}",
                f"{task['p50_ms'] / naive:.2f}" if naive else "-",
                task["load_average"],
            ]
        )
    return _common.format_table(headers, rows)


if __name__ == "__main__":
    main()
