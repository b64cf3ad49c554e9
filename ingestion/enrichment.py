"""Enrichment: fill what an imported file lacks from Spotify, one track at a time.

Export files name a track (URI, name, one artist *name*, album name) but leave
out what analytics need: durations, release dates, artist ids and so genres;
Exportify CSVs can have gaps too. Spotify knows the rest, but only through
per-item lookups (`GET /v1/tracks/{id}`, `GET /v1/artists/{id}`: the batch
endpoints are gone), so the design is about not asking twice:

- Every track answer is kept in the `warehouse.Track` cache, a 404 too
  (`found=False`); artists go through the `warehouse.Artist` cache that API
  ingests use (`artist_genres`). Entries are trusted for
  `SPOTIFY_TRACK_TTL_DAYS` / `SPOTIFY_ARTIST_TTL_DAYS`.
- `fill_details` fills a frame of rows from the caches alone, without a call,
  so an export re-imported after enrichment gets its details back for free.
  It fills only the gaps: what the file says is kept, except the artists, where
  Spotify's complete list replaces the file's lone name.
- `enrich_playlist` fetches what the cache lacks for a playlist already in the
  warehouse, then fills its rows and hands them back to `load_playlist` with the
  playlist's own snapshot: the loader writes only rows whose content changed and
  its bookkeeping (first/last seen, removals) is untouched. A second run makes
  no call and writes no row.
- Tracks a file names without an id (`named:` rows of older exports) are
  matched first, one search each (`ingestion.named_tracks`); a match is kept in
  `warehouse.TrackMatch` with the track it found in the track cache, and the
  row, keyed as before, is filled from that track like any other.
- A 429 is never waited on: it ends the run as a retryable result with the rows
  unchanged; what was fetched before it is cached, so the retry resumes there.
"""

import re
import time

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from ingestion.named_tracks import Named, search_query, verdict
from ingestion.pipeline import IngestResult, Status, record_spotify_error
from ingestion.snapshot import PlaylistSnapshot
from ingestion.sources.spotify_api import artist_genres, noop_progress, parse_track
from ingestion.transform import (
    INTEGER_COLUMNS,
    ROW_COLUMNS,
    duration_seconds,
    genre_union,
    release_years,
)
from spotify_client import SpotifyError
from warehouse.loader import load_playlist
from warehouse.models import NAMED_TRACK_PREFIX, Artist, Playlist, PlaylistTrack, Track, TrackMatch
from warehouse.queries import track_fresh_after

# Keeps `… IN (…)` under SQLite's bound-parameter limit.
_QUERY_CHUNK = 500
# Fetched tracks are cached (and progress reported) in batches of this many, so
# a 429 or a killed worker loses at most one batch of answers.
_CACHE_BATCH = 50
# What spotipy accepts as a track id; anything else it refuses with a 400
# without asking Spotify, so such ids are recorded as not found instead.
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")

# Row column ← Track cache field, for the details filled gap by gap. The release
# date's precision and the artists follow their own rules (see _fill_from_tracks).
_CACHED_FIELDS = {
    "track_name": "name",
    "track_duration_ms": "duration_ms",
    "track_explicit": "explicit",
    "track_isrc": "isrc",
    "album_id": "album_id",
    "album_name": "album_name",
    "album_release_date": "album_release_date",
}
_PRECISION = "album_release_date_precision"
# What an upsert of a cached track rewrites: all of it.
_TRACK_FIELDS = [field.name for field in Track._meta.concrete_fields if not field.primary_key]
_INTEGER_COLUMNS = (*INTEGER_COLUMNS, "release_year")


# --- filling rows from the caches ----------------------------------------------------------
def fill_details(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` (as `transform_snapshot` makes them) with their gaps filled from the
    track and artist caches: no API call, a few queries per 500 tracks. Local
    files are left as they are."""
    rows = rows.copy()
    spotify = ~rows["is_local"].to_numpy(dtype=bool)
    _fill_from_tracks(rows, spotify)
    _fill_genres(rows, spotify)
    return rows


def _fill_from_tracks(rows, spotify):
    """Fill the gaps of Spotify tracks' rows from the track cache, then derive
    what follows from the filled values."""
    with_gaps = spotify & _has_gaps(rows)
    lookup = _lookup_ids(rows)
    details = _cached_details(list(dict.fromkeys(lookup[with_gaps & ~pd.isna(lookup)])))
    if details.empty:
        return
    # One cached row per frame row (NaN where the track is not cached).
    known = details.reindex(lookup)
    _fill_precisions(rows, known, with_gaps)
    for column in _CACHED_FIELDS:
        rows[column] = _filled(rows[column], known[column].to_numpy(), with_gaps)
    _fill_artists(rows, known, with_gaps)
    # Derived exactly as the transform derives them, where they are missing.
    seconds = duration_seconds(rows["track_duration_ms"]).to_numpy(dtype=object, na_value=None)
    rows["track_duration_sec"] = _filled(rows["track_duration_sec"], seconds, with_gaps)
    years = release_years(rows["album_release_date"]).to_numpy(dtype=object, na_value=None)
    rows["release_year"] = _filled(rows["release_year"], years, with_gaps)


def _fill_precisions(rows, known, where):
    """A precision belongs to its date: taken where the row has no date (it gets
    Spotify's, before the dates are filled) or has the very date Spotify gives."""
    dates = rows["album_release_date"].to_numpy(dtype=object)
    same_date = _missing(rows["album_release_date"]) | (
        dates == known["album_release_date"].to_numpy()
    )
    precisions = known[_PRECISION].to_numpy()
    rows[_PRECISION] = _filled(rows[_PRECISION], precisions, where & same_date)


def _fill_artists(rows, known, where):
    """The file names one artist at most and no id; Spotify lists them all, with
    ids, so its list replaces the file's wherever the row has no artist ids."""
    take = where & _empty_lists(rows["artist_ids"]) & ~_empty_lists(known["artist_ids"])
    for column in ("artist_ids", "artist_names"):
        rows[column] = _replaced(rows[column], known[column], take)


def _fill_genres(rows, spotify):
    """Empty genres become the union of the cached genres of the row's artists."""
    needs = spotify & _empty_lists(rows["track_genres"]) & ~_empty_lists(rows["artist_ids"])
    if not needs.any():
        return
    genres = _cached_genres(_artist_ids_of(rows[needs]))
    rows["track_genres"] = [
        genre_union(artist_ids, genres) if need else current
        for current, artist_ids, need in zip(
            rows["track_genres"], rows["artist_ids"], needs, strict=True
        )
    ]


def _named(rows):
    """Rows of tracks a file names without an id (`named:` keys)."""
    return rows["track_id"].str.startswith(NAMED_TRACK_PREFIX).to_numpy(dtype=bool)


def _lookup_ids(rows):
    """The track cache key of each row: its own id, or for a `named:` row the
    Spotify track search matched it to (None while unmatched)."""
    lookup = rows["track_id"].to_numpy(dtype=object, copy=True)
    named = _named(rows)
    if named.any():
        matches = _matched_ids(lookup[named].tolist())
        lookup[named] = [matches.get(named_id) for named_id in lookup[named]]
    return lookup


def _matched_ids(named_ids):
    matched = {}
    for chunk in _chunks(named_ids):
        matched.update(
            TrackMatch.objects.filter(
                named_id__in=chunk, outcome=TrackMatch.Outcome.MATCHED
            ).values_list("named_id", "spotify_track_id")
        )
    return matched


def _has_gaps(rows):
    """Rows missing anything the track cache can give."""
    gaps = _empty_lists(rows["artist_ids"]) | _missing(rows[_PRECISION])
    for column in _CACHED_FIELDS:
        gaps |= _missing(rows[column])
    return gaps


def _lacks_details(rows):
    """Rows a Spotify lookup could complete: a Spotify track (not a local file)
    without a duration, a release date or artist ids (`missing_details` counts
    them in SQL as `enrichable`)."""
    return (
        ~rows["is_local"].to_numpy(dtype=bool)
        & ~_named(rows)
        & (
            _missing(rows["track_duration_ms"])
            | _missing(rows["album_release_date"])
            | _empty_lists(rows["artist_ids"])
        )
    )


def _missing(column):
    """NaN/None/NA or an empty string, as a boolean array."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    # Compared only where present: `pd.NA == ""` has no truth value.
    missing[~missing] = values[~missing] == ""
    return missing


def _empty_lists(column):
    return np.array([not isinstance(value, list) or not value for value in column], dtype=bool)


def _filled(column, values, where):
    """`column` with `values` in its gaps where `where` holds and a value is known,
    in the column's own dtype (nullable integers stay integers)."""
    fill = where & _missing(column) & ~pd.isna(values)
    if not fill.any():
        return column
    merged = column.to_numpy(dtype=object, copy=True)
    merged[fill] = values[fill]
    return pd.Series(merged, index=column.index, dtype=column.dtype, name=column.name)


def _replaced(column, values, where):
    return pd.Series(
        [new if take else old for old, new, take in zip(column, values, where, strict=True)],
        index=column.index,
        dtype=object,
        name=column.name,
    )


def _artist_ids_of(rows):
    return list(dict.fromkeys(artist_id for ids in rows["artist_ids"] for artist_id in ids))


def _cached_details(track_ids):
    """Found tracks of the cache as a frame of row columns, indexed by track id."""
    fields = ["track_id", *_CACHED_FIELDS.values(), _PRECISION, "artists"]
    records = []
    for chunk in _chunks(track_ids):
        for *values, artists in Track.objects.filter(track_id__in=chunk, found=True).values_list(
            *fields
        ):
            # The transform's rule: ids of the artists that have one, every name.
            ids = [artist_id for artist_id, _ in artists if artist_id]
            records.append((*values, ids, [name for _, name in artists]))
    columns = ["track_id", *_CACHED_FIELDS, _PRECISION, "artist_ids", "artist_names"]
    # object dtype: keeps integers integers and None None until they reach a row.
    return pd.DataFrame(records, columns=columns, dtype=object).set_index("track_id")


def _cached_genres(artist_ids):
    genres = {}
    for chunk in _chunks(artist_ids):
        genres.update(Artist.objects.filter(artist_id__in=chunk).values_list("artist_id", "genres"))
    return genres


def _chunks(values):
    return [values[start : start + _QUERY_CHUNK] for start in range(0, len(values), _QUERY_CHUNK)]


# --- enriching a playlist of the warehouse -------------------------------------------------
def enrich_playlist(playlist_id, *, client, progress=noop_progress) -> IngestResult:
    """Fill the gaps of a warehouse playlist's present rows from Spotify, fetching
    only what the caches lack. Never raises for Spotify problems: they end up in
    the result as `ingest_playlist` reports them (retryable, retry_after, …)."""
    result = IngestResult(reference=playlist_id, playlist_id=playlist_id)
    started = time.monotonic()
    calls_before = client.api_calls
    try:
        _enrich(result, client, progress)
    except SpotifyError as error:
        record_spotify_error(result, error)
    finally:
        result.api_calls = client.api_calls - calls_before
        result.seconds = round(time.monotonic() - started, 3)
    return result


def _enrich(result, client, progress):
    playlist = Playlist.objects.filter(pk=result.playlist_id).first()
    if playlist is None:
        result.error = _not_in_warehouse(result.playlist_id)
        return
    result.name = playlist.name
    rows = _present_rows(result.playlist_id)
    _match_named(client, _named_to_search(rows), progress)
    _fetch_tracks(client, _tracks_to_fetch(rows), progress)
    result.artists_not_found = _fetch_genres(client, rows, progress)
    _fill_and_load(result, progress)


def _fetch_genres(client, rows, progress):
    """Cache the artists of every row that will still have no genres once its
    track is filled; how many of them Spotify could not find."""
    tracked = rows.copy()
    _fill_from_tracks(tracked, ~tracked["is_local"].to_numpy(dtype=bool))
    without_genres = tracked[_empty_lists(tracked["track_genres"])]
    _, not_found = artist_genres(client, _artist_ids_of(without_genres), progress=progress)
    return not_found


def _not_in_warehouse(playlist_id):
    return (
        f"Playlist {playlist_id} is not in the warehouse: import or ingest it first, "
        "then enrich it."
    )


def _fill_and_load(result, progress):
    progress("load", 0, 1)
    # Locked and read again: an import of the same playlist that committed while
    # we were fetching is filled too, not overwritten with the older rows.
    with transaction.atomic():
        playlist = Playlist.objects.select_for_update().filter(pk=result.playlist_id).first()
        if playlist is None:
            result.error = _not_in_warehouse(result.playlist_id)
            return
        filled = fill_details(_present_rows(result.playlist_id))
        loaded = load_playlist(_snapshot_of(playlist), filled)
    result.tracks_loaded = loaded.rows_loaded
    result.rows_updated = loaded.rows_updated
    result.rows_unchanged = loaded.rows_unchanged
    result.named_tracks = _named_outcomes(filled)
    _set_status(result, tracks_not_found=_not_found(filled))


def _set_status(result, *, tracks_not_found):
    problems = []
    named = result.named_tracks
    if named.get("ambiguous") or named.get("not_found"):
        problems.append(
            f"Spotify's search matched {named.get('matched', 0)} of the "
            f"{sum(named.values())} tracks the file names without an id; "
            f"{named.get('ambiguous', 0)} were ambiguous (several tracks as likely) and "
            f"{named.get('not_found', 0)} had no confident match: they stay unmatched, "
            "with the names the file gives"
        )
    if tracks_not_found:
        problems.append(
            f"Spotify could not find {tracks_not_found} of the playlist's tracks; "
            "they keep only what the file had"
        )
    if result.artists_not_found:
        problems.append(
            f"Spotify could not find {result.artists_not_found} of their artists; "
            "their tracks have no genres"
        )
    result.status = Status.PARTIAL if problems else Status.SUCCEEDED
    result.error = ("; ".join(problems) + ".") if problems else None


def _snapshot_of(playlist):
    """The playlist as last loaded: the same snapshot, so the loader keeps every
    row's first/last seen times and marks nothing removed."""
    return PlaylistSnapshot(
        playlist_id=playlist.playlist_id,
        name=playlist.name,
        source=playlist.source,
        snapshot_id=playlist.snapshot_id,
        description=playlist.description,
        owner_id=playlist.owner_id,
        owner_name=playlist.owner_name,
        image_url=playlist.image_url,
        public=playlist.public,
        collaborative=playlist.collaborative,
        total_items=playlist.total_items,
    )


def _present_rows(playlist_id):
    """The playlist's present rows as a frame like the transform's (the ORM
    decodes JSON, text on SQLite and jsonb on PostgreSQL, and makes times UTC-aware)."""
    records = (
        PlaylistTrack.objects.filter(playlist_id=playlist_id, removed_at__isnull=True)
        .order_by("position")
        .values_list(*ROW_COLUMNS)
    )
    rows = pd.DataFrame(list(records), columns=list(ROW_COLUMNS))
    for column in _INTEGER_COLUMNS:
        rows[column] = rows[column].astype("Int64")
    rows["track_duration_sec"] = rows["track_duration_sec"].astype("Float64")
    rows["track_explicit"] = rows["track_explicit"].astype("boolean")
    rows["is_local"] = rows["is_local"].astype(bool)
    rows["added_at"] = pd.to_datetime(rows["added_at"], utc=True)
    return rows


def _tracks_to_fetch(rows):
    """Tracks of rows lacking details that the cache does not hold fresh."""
    track_ids = rows["track_id"][_lacks_details(rows)].unique().tolist()
    fresh_after = track_fresh_after()
    fresh = set()
    for chunk in _chunks(track_ids):
        fresh.update(
            Track.objects.filter(track_id__in=chunk, fetched_at__gte=fresh_after).values_list(
                "track_id", flat=True
            )
        )
    return [track_id for track_id in track_ids if track_id not in fresh]


def _fetch_tracks(client, track_ids, progress):
    """Look the tracks up, one request each (in parallel up to the client's
    concurrency), caching the answers batch by batch as they arrive."""
    malformed = [track_id for track_id in track_ids if not _SPOTIFY_ID.fullmatch(track_id)]
    _cache_tracks(dict.fromkeys(malformed))
    track_ids = [track_id for track_id in track_ids if _SPOTIFY_ID.fullmatch(track_id)]
    total = len(track_ids)
    progress("items", 0, total)
    batch = {}
    try:
        answers = zip(track_ids, client.in_parallel(client.track, track_ids), strict=True)
        for done, (track_id, track) in enumerate(answers, 1):
            batch[track_id] = track
            if len(batch) == _CACHE_BATCH or done == total:
                _cache_tracks(batch)
                batch = {}
                progress("items", done, total)
    finally:
        # Answers received before a failure (a 429…); the requests not yet
        # sent were cancelled.
        _cache_tracks(batch)


def _named_to_search(rows):
    """The playlist's `named:` tracks not searched for lately, as search asks."""
    named = rows[_named(rows)]
    searched = set()
    fresh_after = track_fresh_after()
    ids = named["track_id"].unique().tolist()
    for chunk in _chunks(ids):
        searched.update(
            TrackMatch.objects.filter(named_id__in=chunk, searched_at__gte=fresh_after).values_list(
                "named_id", flat=True
            )
        )
    return [
        Named(
            named_id=row.track_id,
            title=row.track_name or "",
            artist=(row.artist_names or [""])[0],
            album=row.album_name or "",
        )
        for row in named.drop_duplicates("track_id").itertuples()
        if row.track_id not in searched
    ]


def _match_named(client, named, progress):
    """One search per named track (in parallel up to the client's concurrency);
    each verdict kept, with the matched track in the track cache, batch by batch."""
    total = len(named)
    progress("items", 0, total)
    batch = []
    try:
        searches = client.in_parallel(lambda one: client.search_tracks(search_query(one)), named)
        for done, (one, candidates) in enumerate(zip(named, searches, strict=True), 1):
            batch.append((one, verdict(one, candidates)))
            if len(batch) == _CACHE_BATCH or done == total:
                _keep_matches(batch)
                batch = []
                progress("items", done, total)
    finally:
        _keep_matches(batch)


def _keep_matches(batch):
    now = timezone.now()
    matched = {v.track["id"]: v.track for _, v in batch if v.track and v.track.get("id")}
    _cache_tracks(matched)
    TrackMatch.objects.bulk_create(
        [
            TrackMatch(
                named_id=one.named_id,
                spotify_track_id=v.track["id"] if v.track else None,
                outcome=v.outcome,
                score=v.score,
                searched_at=now,
            )
            for one, v in batch
        ],
        update_conflicts=True,
        unique_fields=["named_id"],
        update_fields=["spotify_track_id", "outcome", "score", "searched_at"],
        batch_size=_QUERY_CHUNK,
    )


def _named_outcomes(rows):
    """Outcome → count over the playlist's `named:` tracks ("unsearched" for those
    never looked up)."""
    ids = rows["track_id"][_named(rows)].unique().tolist()
    outcomes = {}
    for chunk in _chunks(ids):
        outcomes.update(
            TrackMatch.objects.filter(named_id__in=chunk).values_list("named_id", "outcome")
        )
    counts = {}
    for named_id in ids:
        outcome = outcomes.get(named_id, "unsearched")
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _cache_tracks(fetched):
    """Upsert track id → track object (None: Spotify does not know it)."""
    now = timezone.now()
    Track.objects.bulk_create(
        [_cache_entry(track_id, track, now) for track_id, track in fetched.items()],
        update_conflicts=True,
        unique_fields=["track_id"],
        update_fields=_TRACK_FIELDS,
        batch_size=_QUERY_CHUNK,
    )


def _cache_entry(track_id, obj, now):
    if obj is None:
        return Track(track_id=track_id, found=False, fetched_at=now)
    # Keyed by the id asked for: that is the id the playlist rows carry.
    track = parse_track(obj)
    return Track(
        track_id=track_id,
        name=track.name,
        duration_ms=track.duration_ms,
        explicit=track.explicit,
        isrc=track.isrc,
        album_id=track.album_id,
        album_name=track.album_name,
        album_release_date=track.album_release_date,
        album_release_date_precision=track.album_release_date_precision,
        artists=[[artist.id, artist.name] for artist in track.artists],
        found=True,
        fetched_at=now,
    )


def _not_found(rows):
    """Distinct tracks of rows still lacking details that Spotify does not know."""
    track_ids = rows["track_id"][_lacks_details(rows)].unique().tolist()
    return sum(
        Track.objects.filter(track_id__in=chunk, found=False).count()
        for chunk in _chunks(track_ids)
    )
