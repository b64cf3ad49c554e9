"""Older account exports name tracks without a URI: kept, keyed by their names,
and matched to Spotify later through search (issue 14, point 4)."""

import pytest

from devtools.synthetic.exports import (
    EMPTY_ITEM,
    catalog_tracks,
    export_playlist,
    old_export_item,
    old_export_track_item,
    write_export_json,
)
from ingestion.enrichment import enrich_playlist
from ingestion.files import ingest_path
from ingestion.files.identity import named_track_id
from ingestion.named_tracks import MATCH_MIN_SCORE, Named, search_query, verdict
from ingestion.pipeline import Status
from spotify_client import SpotifyClient
from warehouse.models import PlaylistTrack, TrackMatch
from warehouse.queries import missing_details

pytestmark = pytest.mark.django_db

OLD_ITEMS = [
    old_export_track_item("Harbour Lights", "The Quiet Ones", "Night Ferry", added="2019-04-02"),
    old_export_track_item("Harbour Lights", "The Quiet Ones", "Night Ferry"),  # again, no date
    old_export_track_item("Paper Moon", "Ada Lind", None),
    EMPTY_ITEM,
]


def rows(playlist_id):
    return list(
        PlaylistTrack.objects.filter(playlist_id=playlist_id)
        .order_by("position")
        .values("track_id", "track_name", "artist_names", "album_name", "occurrences", "is_local")
    )


def test_an_old_export_keeps_its_named_tracks(tmp_path):
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("Old", OLD_ITEMS)])
    [result] = ingest_path(path, owner_key="7")
    assert result.status == Status.SUCCEEDED, result.error
    assert (result.tracks_loaded, result.items_total) == (2, 4)
    assert result.items_skipped == {"unavailable": 1}
    assert rows(result.playlist_id) == [
        {
            "track_id": named_track_id("Harbour Lights", "The Quiet Ones", "Night Ferry"),
            "track_name": "Harbour Lights",
            "artist_names": ["The Quiet Ones"],
            "album_name": "Night Ferry",
            "occurrences": 2,
            "is_local": False,
        },
        {
            "track_id": named_track_id("Paper Moon", "Ada Lind", None),
            "track_name": "Paper Moon",
            "artist_names": ["Ada Lind"],
            "album_name": None,
            "occurrences": 1,
            "is_local": False,
        },
    ]
    assert missing_details(result.playlist_id)["not_matched"] == 2


def test_named_ids_are_stable_and_ignore_case_and_spacing(tmp_path):
    assert named_track_id("Paper  Moon", "ADA LIND", None) == named_track_id(
        "paper moon", "Ada Lind", ""
    )
    assert named_track_id("Paper Moon", "Ada Lind", "A") != named_track_id(
        "Paper Moon", "Ada Lind", "B"
    )
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("Old", OLD_ITEMS)])
    [first] = ingest_path(path)
    [again] = ingest_path(path)
    assert again.playlist_id == first.playlist_id
    assert (again.rows_inserted, again.rows_unchanged) == (0, 2)


def test_a_file_whose_items_cannot_be_read_does_not_succeed_with_0_tracks(tmp_path):
    playlist = export_playlist("Emptied", [EMPTY_ITEM, EMPTY_ITEM])
    path = write_export_json(tmp_path / "Playlist1.json", [playlist])
    [result] = ingest_path(path)
    assert result.status == Status.PARTIAL
    assert result.tracks_loaded == 0
    assert "2 of the 2 items of 'Emptied' could not be read" in result.error
    assert "no track URI and no track name" in result.error


# --- matching through search -------------------------------------------------------------
@pytest.fixture
def client(sandbox):
    return SpotifyClient.from_settings()


def test_enrichment_matches_named_tracks_by_search(sandbox, client, tmp_path):
    catalog = sandbox.catalog
    several, single, _ = catalog_tracks(catalog)
    items = [
        old_export_item(catalog, several),
        old_export_item(catalog, single),
        old_export_track_item("Zzyzx Qwerty Unfindable", "Nobody At All", "Nothing"),
    ]
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("Old", items)])
    [imported] = ingest_path(path)
    assert missing_details(imported.playlist_id)["enrichable"] == 3

    result = enrich_playlist(imported.playlist_id, client=client)

    assert sandbox.state.stats().get("search") == 3  # one search per named track
    assert result.named_tracks == {"matched": 2, "not_found": 1}
    assert result.status == Status.PARTIAL
    assert "matched 2 of the 3 tracks" in result.error
    assert "1 had no confident match" in result.error
    by_name = {row["track_name"]: row for row in PlaylistTrack.objects.values()}
    for track in (several, single):
        row = by_name[track.name]
        assert row["track_id"].startswith("named:")  # the key stays
        assert row["artist_ids"] == list(track.artist_ids)
        assert row["track_duration_ms"] == track.duration_ms
        assert row["track_genres"]  # the matched artists' genres
        match = TrackMatch.objects.get(named_id=row["track_id"])
        assert (match.spotify_track_id, match.outcome) == (track.id, "matched")
        assert match.score >= MATCH_MIN_SCORE
    assert by_name["Zzyzx Qwerty Unfindable"]["artist_ids"] == []
    missing = missing_details(imported.playlist_id)
    assert (missing["not_matched"], missing["enrichable"]) == (1, 0)

    again = enrich_playlist(imported.playlist_id, client=client)
    assert sandbox.state.stats().get("search") == 3  # no search twice
    assert again.rows_updated == 0

    # A re-import of the same export keeps the matched details, without a call.
    [reimported] = ingest_path(path)
    assert reimported.rows_updated == 0
    assert PlaylistTrack.objects.filter(track_name=single.name).values_list(
        "artist_ids", flat=True
    )[0] == list(single.artist_ids)


def candidate(track_id, name, artist, album, isrc=None):
    return {
        "id": track_id,
        "name": name,
        "artists": [{"name": artist}],
        "album": {"name": album},
        "external_ids": {"isrc": isrc} if isrc else {},
    }


NAMED = Named("named:x", "Paper Moon", "Ada Lind", "Lanterns")


def test_the_confidence_rule():
    exact = candidate("a", "Paper Moon", "Ada Lind", "Lanterns", "X1")
    assert verdict(NAMED, [exact]).outcome == "matched"
    # Another album, same names: as good as the first without the album, but the
    # album decides it, so no ambiguity.
    compilation = candidate("b", "Paper Moon", "Ada Lind", "Best of 2019", "X2")
    assert verdict(NAMED, [compilation, exact]).track["id"] == "a"
    # Two equally good different recordings: ambiguous, nothing taken.
    twin = candidate("c", "Paper Moon", "Ada Lind", "Lanterns", "X3")
    assert verdict(NAMED, [exact, twin]).outcome == "ambiguous"
    # The same recording twice (one ISRC) is no ambiguity.
    same = candidate("d", "Paper Moon", "Ada Lind", "Lanterns", "X1")
    assert verdict(NAMED, [exact, same]).outcome == "matched"
    # Another artist's song of the same title is not a match.
    cover = candidate("e", "Paper Moon", "Someone Else", "Lanterns")
    assert verdict(NAMED, [cover]).outcome == "not_found"
    assert verdict(NAMED, []).outcome == "not_found"


def test_the_search_query_uses_field_filters():
    assert search_query(NAMED) == "track:Paper Moon artist:Ada Lind"
    assert search_query(Named("n", 'Say "Hi"', "", "")) == "track:Say  Hi"
