"""Liked Songs: YourLibrary.json's saved tracks and Exportify's "Liked Songs" CSV
become the owner's one Liked Songs playlist (issue 14, point 5)."""

import pytest
from django.core.management import call_command

from devtools.synthetic.exports import (
    classic_row,
    export_playlist,
    export_track_item,
    library_document,
    library_track,
    track_id,
    write_csv,
    write_export_zip,
)
from ingestion.files import ingest_path
from ingestion.files.identity import liked_songs_id, named_track_id
from ingestion.pipeline import Status
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def export_zip(path, tracks, **library):
    playlists = [export_playlist("Road trip", [export_track_item(1)])]
    return write_export_zip(
        path,
        {
            "Playlist1.json": playlists,
            "YourLibrary.json": library_document(tracks, **library).encode(),
        },
    )


def track_rows(playlist_id):
    return list(
        PlaylistTrack.objects.filter(playlist_id=playlist_id, removed_at__isnull=True)
        .order_by("position")
        .values_list("track_id", "track_name", "artist_names", "album_name")
    )


def test_the_exports_library_becomes_liked_songs_with_its_other_lists_counted(tmp_path):
    tracks = [library_track(1), library_track(2), library_track(3, uri=False)]
    path = export_zip(tmp_path / "my_spotify_data.zip", tracks, albums=2, shows=1, episodes=3)
    road_trip, liked = ingest_path(path, owner_key="7")
    assert road_trip.name == "Road trip" and road_trip.tracks_loaded == 1
    assert liked.status == Status.SUCCEEDED, liked.error
    assert (liked.name, liked.playlist_id) == ("Liked Songs", liked_songs_id("7"))
    assert (liked.tracks_loaded, liked.items_total, liked.items_skipped) == (3, 3, {})
    assert liked.library == {"albums": 2, "shows": 1, "episodes": 3}
    assert track_rows(liked.playlist_id) == [
        (track_id(1), "Song 1", ["Artist 1"], "An Album"),
        (track_id(2), "Song 2", ["Artist 2"], "An Album"),
        (named_track_id("Song 3", "Artist 3", "An Album"), "Song 3", ["Artist 3"], "An Album"),
    ]
    assert Playlist.objects.get(pk=liked.playlist_id).source == "spotify_export"


def test_a_reimport_updates_the_same_liked_songs(tmp_path):
    first = export_zip(tmp_path / "a.zip", [library_track(1), library_track(2)])
    _, liked = ingest_path(first, owner_key="7")
    newer = export_zip(tmp_path / "b.zip", [library_track(2), library_track(4)])
    _, again = ingest_path(newer, owner_key="7")
    assert again.playlist_id == liked.playlist_id
    assert (again.rows_inserted, again.rows_removed) == (1, 1)
    assert [row[0] for row in track_rows(liked.playlist_id)] == [track_id(2), track_id(4)]
    # Another owner's Liked Songs are their own.
    _, theirs = ingest_path(first, owner_key="8")
    assert theirs.playlist_id != liked.playlist_id


def test_exportifys_liked_songs_csv_is_the_same_liked_songs(tmp_path):
    _, from_export = ingest_path(export_zip(tmp_path / "a.zip", [library_track(1)]), owner_key="7")
    path = write_csv(tmp_path / "liked_songs.csv", [classic_row(1), classic_row(5)])
    [from_csv] = ingest_path(path, owner_key="7")
    assert (from_csv.name, from_csv.playlist_id) == ("Liked Songs", from_export.playlist_id)
    assert (from_csv.rows_inserted, from_csv.rows_updated) == (1, 1)
    assert [row[0] for row in track_rows(from_csv.playlist_id)] == [track_id(1), track_id(5)]


def test_a_library_file_alone_without_tracks_is_refused_clearly(tmp_path):
    path = tmp_path / "YourLibrary.json"
    path.write_text(library_document([], albums=4), encoding="utf-8")
    [result] = ingest_path(path)
    assert result.status == Status.FAILED
    assert "YourLibrary.json holds no saved tracks (its “tracks” list is empty)" in result.error
    assert not Playlist.objects.exists()


def test_an_export_whose_library_has_no_tracks_loads_its_playlists(tmp_path):
    results = ingest_path(export_zip(tmp_path / "a.zip", []))
    assert [result.name for result in results] == ["Road trip"]


def test_the_command_prints_the_library_counts(tmp_path, capsys):
    path = export_zip(tmp_path / "a.zip", [library_track(1)], albums=2, shows=1)
    call_command("ingest", str(path))
    out = capsys.readouterr().out
    assert "SUCCEEDED: 'Liked Songs' (liked:" in out
    assert "library (counted, not imported): 2 albums, 1 shows" in out


def test_a_library_file_under_another_name_is_still_the_library(tmp_path):
    path = tmp_path / "upload-3f2a.json"  # how an upload is stored
    path.write_text(library_document([library_track(1)], shows=2), encoding="utf-8")
    [result] = ingest_path(path, owner_key="7")
    assert (result.name, result.tracks_loaded, result.library) == ("Liked Songs", 1, {"shows": 2})
