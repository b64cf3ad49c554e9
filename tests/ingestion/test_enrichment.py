"""Enrichment of imported files from Spotify's per-track lookups, against the sandbox."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.synthetic.exports import (
    EPISODE_ITEM,
    LOCAL_ITEM,
    catalog_tracks,
    export_item,
    export_playlist,
    export_track_item,
    track_id,
    write_export_json,
)
from ingestion.enrichment import enrich_playlist, fill_details
from ingestion.files import ingest_path
from ingestion.files.spotify_export import read_export
from ingestion.pipeline import Status
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot
from ingestion.snapshot import Track as SnapshotTrack
from ingestion.transform import ROW_COLUMNS, transform_snapshot
from spotify_client import SpotifyClient
from warehouse.loader import load_playlist
from warehouse.models import Artist, PlaylistTrack, Track
from warehouse.queries import missing_details

pytestmark = pytest.mark.django_db

UNKNOWN_TRACK_ID = track_id(999)  # base62, 22 characters, not in the sandbox catalog
DETAILS = (
    "track_duration_ms",
    "track_duration_sec",
    "track_explicit",
    "track_isrc",
    "album_id",
    "album_release_date",
    "album_release_date_precision",
    "release_year",
    "artist_ids",
    "artist_names",
    "track_genres",
)


@dataclass
class Imported:
    playlist_id: str
    path: Path
    tracks: list  # the sandbox catalog's tracks in the export (each once)
    artist_ids: set


@pytest.fixture
def imported(sandbox, tmp_path):
    catalog = sandbox.catalog
    several, single, unknown_year = catalog_tracks(catalog)
    unknown = export_track_item(999)
    items = [
        export_item(catalog, several),
        EPISODE_ITEM,
        LOCAL_ITEM,
        export_item(catalog, single),
        export_item(catalog, several),  # the same track again
        export_item(catalog, unknown_year),
        unknown,
    ]
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("To enrich", items)])
    [result] = ingest_path(path)
    assert result.status == Status.SUCCEEDED, result.error
    tracks = [several, single, unknown_year]
    artist_ids = {artist_id for track in tracks for artist_id in track.artist_ids}
    return Imported(result.playlist_id, path, tracks, artist_ids)


@pytest.fixture
def client(sandbox):
    return SpotifyClient.from_settings()


def expected_details(catalog, track):
    album = catalog.albums[track.album_id]
    artists = [catalog.artists[artist_id] for artist_id in track.artist_ids]
    genres = [genre for artist in artists for genre in artist.genres]
    return {
        "track_duration_ms": track.duration_ms,
        "track_duration_sec": round(track.duration_ms / 1000, 3),
        "track_explicit": track.explicit,
        "track_isrc": track.isrc,
        "album_id": album.id,
        "album_release_date": album.release_date,
        "album_release_date_precision": album.release_date_precision,
        "release_year": int(album.release_date[:4]) or None,
        "artist_ids": [artist.id for artist in artists],
        "artist_names": [artist.name for artist in artists],
        "track_genres": list(dict.fromkeys(genres)),
    }


def details(playlist_id, track_id):
    return PlaylistTrack.objects.filter(playlist_id=playlist_id, track_id=track_id).values(
        *DETAILS
    )[0]


def all_rows(playlist_id):
    return list(PlaylistTrack.objects.filter(playlist_id=playlist_id).order_by("position").values())


def calls(sandbox, kind):
    return sandbox.state.stats().get(kind, 0)


def test_it_fills_an_exports_gaps_with_what_spotify_says(sandbox, client, imported):
    local_before = PlaylistTrack.objects.filter(
        playlist_id=imported.playlist_id, is_local=True
    ).values()[0]
    result = enrich_playlist(imported.playlist_id, client=client)
    assert result.status == Status.PARTIAL
    assert "could not find 1 of the playlist's tracks" in result.error
    assert (result.playlist_id, result.name) == (imported.playlist_id, "To enrich")
    # One request per distinct track (the repeat and the local file cost none)
    # and per distinct artist of the tracks found.
    assert calls(sandbox, "track") == len(imported.tracks) + 1
    assert calls(sandbox, "artist") == len(imported.artist_ids)
    assert result.api_calls == len(imported.tracks) + 1 + len(imported.artist_ids)
    assert (result.tracks_loaded, result.rows_updated, result.rows_unchanged) == (5, 3, 2)
    for track in imported.tracks:
        assert details(imported.playlist_id, track.id) == expected_details(sandbox.catalog, track)
    unknown = details(imported.playlist_id, UNKNOWN_TRACK_ID)
    assert (unknown["track_duration_ms"], unknown["album_release_date"]) == (None, None)
    assert (unknown["artist_ids"], unknown["artist_names"]) == ([], ["Artist 999"])
    local_after = PlaylistTrack.objects.filter(
        playlist_id=imported.playlist_id, is_local=True
    ).values()[0]
    assert local_after == local_before
    assert Track.objects.filter(track_id=UNKNOWN_TRACK_ID, found=False).exists()


def test_it_says_what_is_missing_before_and_after(client, imported):
    assert missing_details(imported.playlist_id) == {
        "rows": 5,
        "without_duration": 4,  # a local file's URI carries its duration
        "without_release_date": 5,
        "without_genres": 5,
        "without_artist_ids": 5,
        "enrichable": 4,
        "not_matched": 0,
    }
    enrich_playlist(imported.playlist_id, client=client)
    assert missing_details(imported.playlist_id) == {
        "rows": 5,
        "without_duration": 1,
        "without_release_date": 2,
        "without_genres": 2,
        "without_artist_ids": 2,
        "enrichable": 0,  # not the track Spotify said it does not know (until its TTL)
        "not_matched": 0,
    }


def test_a_second_run_makes_no_call_and_writes_no_row(sandbox, client, imported):
    enrich_playlist(imported.playlist_id, client=client)
    rows_before = all_rows(imported.playlist_id)
    requests_before = sandbox.state.stats()["total"]
    again = enrich_playlist(imported.playlist_id, client=client)
    assert again.status == Status.PARTIAL  # still honest about the unknown track
    assert (again.api_calls, again.rows_updated, again.rows_unchanged) == (0, 0, 5)
    assert sandbox.state.stats()["total"] == requests_before
    assert all_rows(imported.playlist_id) == rows_before


def test_a_reimported_export_keeps_the_details_without_a_call(sandbox, client, imported):
    enrich_playlist(imported.playlist_id, client=client)
    enriched = all_rows(imported.playlist_id)
    requests_before = sandbox.state.stats()["total"]
    [(_, snapshot)] = read_export([imported.path])
    rows = fill_details(transform_snapshot(snapshot).rows)
    loaded = load_playlist(snapshot, rows)
    assert (loaded.rows_updated, loaded.rows_unchanged) == (0, 5)
    assert sandbox.state.stats()["total"] == requests_before
    assert all_rows(imported.playlist_id) == enriched


def test_a_rate_limit_ends_the_run_for_a_retry_with_rows_unchanged(sandbox, client, imported):
    before = all_rows(imported.playlist_id)
    sandbox.state.set_faults(
        rate_limit={"retry_after": 7, "times": 1, "path_prefix": "/v1/artists"}
    )
    result = enrich_playlist(imported.playlist_id, client=client)
    assert result.status == Status.FAILED
    assert (result.retryable, result.retry_after, result.quota_exceeded) == (True, 7, False)
    assert "rate-limited" in result.error
    assert all_rows(imported.playlist_id) == before
    # The tracks fetched before the 429 are cached: the retry asks only for artists.
    tracks_fetched = calls(sandbox, "track")
    retry = enrich_playlist(imported.playlist_id, client=client)
    assert retry.status == Status.PARTIAL, retry.error
    assert calls(sandbox, "track") == tracks_fetched
    assert retry.api_calls == len(imported.artist_ids)
    assert retry.rows_updated == 3


def test_an_exhausted_quota_is_reported_as_such(sandbox, client, imported):
    before = all_rows(imported.playlist_id)
    sandbox.state.set_faults(quota_exceeded={"retry_after": 3600, "times": 0})
    result = enrich_playlist(imported.playlist_id, client=client)
    assert result.status == Status.FAILED
    assert (result.retryable, result.retry_after, result.quota_exceeded) == (True, 3600, True)
    assert all_rows(imported.playlist_id) == before


def test_a_playlist_not_in_the_warehouse_fails_clearly(client):
    result = enrich_playlist("export:nothing-here", client=client)
    assert result.status == Status.FAILED
    assert "not in the warehouse" in result.error
    assert result.api_calls == 0


def test_a_malformed_track_id_is_not_found_without_a_call(sandbox, client, tmp_path):
    item = export_track_item(1)
    item["track"]["trackUri"] = "spotify:track:not-a-spotify-id"
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("Odd", [item])])
    [imported] = ingest_path(path)
    result = enrich_playlist(imported.playlist_id, client=client)
    assert result.status == Status.PARTIAL
    assert "could not find 1 of the playlist's tracks" in result.error
    assert result.api_calls == 0


def test_the_client_fetches_a_track_or_none(sandbox, client):
    known = next(iter(sandbox.catalog.tracks))
    assert client.track(known)["id"] == known
    assert client.track(UNKNOWN_TRACK_ID) is None
    assert client.api_calls == 2


# --- fill_details on its own: the caches filled by hand ----------------------------------
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def a_track(spotify_id, **fields):
    fields.setdefault("name", "From the file")
    return SnapshotTrack(id=spotify_id, uri=f"spotify:track:{spotify_id}", **fields)


def rows_of(*tracks):
    items = [
        PlaylistItem(
            position=position,
            kind=ItemKind.LOCAL if track.id is None else ItemKind.TRACK,
            track=track,
        )
        for position, track in enumerate(tracks)
    ]
    snapshot = PlaylistSnapshot(playlist_id="p", name="P", source="exportify", items=items)
    return transform_snapshot(snapshot).rows


def cache_track(spotify_id, **fields):
    defaults = {
        "name": "From Spotify",
        "duration_ms": 200_000,
        "explicit": True,
        "isrc": "SE1234567890",
        "album_id": "album1",
        "album_name": "Spotify's album",
        "album_release_date": "1999-05",
        "album_release_date_precision": "month",
        "artists": [["a1", "One"], ["a2", "Two"]],
    }
    Track.objects.create(track_id=spotify_id, fetched_at=NOW, **{**defaults, **fields})


@pytest.fixture
def artists(db):
    Artist.objects.create(artist_id="a1", name="One", genres=["rock"], fetched_at=NOW)
    Artist.objects.create(artist_id="a2", name="Two", genres=["pop", "rock"], fetched_at=NOW)
    Artist.objects.create(artist_id="b1", name="Bee", genres=["jazz"], fetched_at=NOW)


def test_fill_details_fills_only_the_gaps(artists):
    cache_track("t1")
    file_track = a_track(
        "t1", duration_ms=1000, album_name="The file's album", artists=(ArtistRef(None, "One"),)
    )
    rows = rows_of(file_track)
    filled = fill_details(rows)
    # The transform's dtypes: nullable integers stay integers.
    assert filled.dtypes.equals(rows.dtypes)
    row = filled.iloc[0]
    # The file's own values stay; what it lacks comes from Spotify.
    assert (row.track_name, row.album_name) == ("From the file", "The file's album")
    assert (row.track_duration_ms, row.track_duration_sec) == (1000, 1.0)
    assert (row.album_release_date, row.album_release_date_precision) == ("1999-05", "month")
    assert (row.release_year, row.track_explicit, row.track_isrc) == (1999, True, "SE1234567890")
    # The file's lone artist name gives way to Spotify's complete list.
    assert (row.artist_ids, row.artist_names) == (["a1", "a2"], ["One", "Two"])
    assert row.track_genres == ["rock", "pop"]


def test_fill_details_keeps_artist_ids_the_file_has(artists):
    cache_track("t1", artists=[["a1", "One"]])
    rows = rows_of(a_track("t1", artists=(ArtistRef("b1", "Bee"),)))
    filled = fill_details(rows).iloc[0]
    assert (filled.artist_ids, filled.artist_names, filled.track_genres) == (
        ["b1"],
        ["Bee"],
        ["jazz"],
    )


def test_fill_details_takes_a_precision_only_with_its_date(db):
    cache_track("same", album_release_date="2001-02-03", album_release_date_precision="day")
    cache_track("other", album_release_date="2001-02-03", album_release_date_precision="day")
    rows = rows_of(
        a_track("same", album_release_date="2001-02-03"),
        a_track("other", album_release_date="2001"),
    )
    filled = fill_details(rows)
    assert filled["album_release_date_precision"].tolist() == ["day", None]
    assert filled["album_release_date"].tolist() == ["2001-02-03", "2001"]


def test_fill_details_leaves_local_files_and_unknown_tracks_alone(db):
    local = SnapshotTrack(id=None, uri="spotify:local:A:B:C:100", name="C", duration_ms=100_000)
    cache_track("not-found", found=False)
    rows = rows_of(local, a_track("uncached"), a_track("not-found"))
    filled = fill_details(rows)
    assert filled.equals(rows)


def test_fill_details_of_10000_rows_queries_the_caches_in_chunks(
    artists, django_assert_max_num_queries
):
    track_ids = [track_id(n) for n in range(10_000)]
    Track.objects.bulk_create(
        [
            Track(
                track_id=each,
                name="x",
                duration_ms=180_000,
                album_release_date="2020",
                album_release_date_precision="year",
                artists=[["a1", "One"]],
                fetched_at=NOW,
            )
            for each in track_ids
        ],
        batch_size=500,
    )
    rows = rows_of(*(a_track(each) for each in track_ids))
    # 20 chunks of 500 track ids, one query for the one artist.
    with django_assert_max_num_queries(21):
        filled = fill_details(rows)
    assert filled["track_duration_ms"].notna().all()
    assert (filled["release_year"] == 2020).all()
    assert all(genres == ["rock"] for genres in filled["track_genres"])
    assert list(filled.columns) == list(ROW_COLUMNS)
