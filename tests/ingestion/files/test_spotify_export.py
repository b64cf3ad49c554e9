import datetime as dt
import json

import pytest

from devtools.synthetic.exports import (
    AUDIOBOOK_ITEM,
    EPISODE_ITEM,
    LOCAL_ITEM,
    export_playlist,
    export_track_item,
    track_id,
    write_export_json,
    write_export_zip,
)
from ingestion.files import ingest_path
from ingestion.files.identity import derived_playlist_id
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def rows(playlist_id):
    return {row.track_id: row for row in PlaylistTrack.objects.filter(playlist_id=playlist_id)}


def mixed_playlist(name="Road trip ✓"):
    return export_playlist(
        name,
        [
            export_track_item(1, name="Ünïcødé “quotes”", album=1989),
            EPISODE_ITEM,
            LOCAL_ITEM,
            export_track_item(2),
            AUDIOBOOK_ITEM,
            export_track_item(1),  # the same track again
            {"track": None, "episode": None, "localTrack": None, "addedDate": "2025-06-01"},
        ],
        description="Songs &amp; more &#x1F3B5;",
    )


def test_it_loads_every_item_kind_from_a_playlist_file(tmp_path):
    path = write_export_json(tmp_path / "Playlist1.json", [mixed_playlist()])
    [result] = ingest_path(path)
    assert result.status == "succeeded", result.error
    assert result.playlist_id == derived_playlist_id("export", "Road trip ✓")
    assert result.items_total == 7
    assert result.items_skipped == {"audiobook": 1, "episode": 1, "unavailable": 1}
    assert (result.tracks_loaded, result.rows_inserted, result.api_calls) == (3, 3, 0)
    loaded = rows(result.playlist_id)
    first = loaded[track_id(1)]
    assert (first.track_name, first.album_name, first.occurrences) == (
        "Ünïcødé “quotes”",
        "1989",
        2,
    )
    assert first.added_at == dt.datetime(2025, 5, 30, tzinfo=dt.UTC)
    assert (first.artist_names, first.artist_ids, first.track_genres) == (["Artist 1"], [], [])
    # The export has no durations, release dates or ISRCs: missing, not invented.
    assert (first.track_duration_ms, first.release_year, first.track_isrc) == (None, None, None)
    assert first.source == "spotify_export"
    local = next(row for row in loaded.values() if row.is_local)
    assert local.track_id == LOCAL_ITEM["localTrack"]["uri"]
    assert (local.track_name, local.artist_names, local.album_name) == (
        "Démo 1",
        ["Café Band"],
        "Home Tapes",
    )
    playlist = Playlist.objects.get(pk=result.playlist_id)
    assert (playlist.description, playlist.source) == ("Songs & more 🎵", "spotify_export")


def test_a_reimport_of_the_same_export_writes_nothing(tmp_path):
    path = write_export_json(tmp_path / "Playlist1.json", [mixed_playlist()])
    [first] = ingest_path(path)
    before = list(PlaylistTrack.objects.order_by("track_id").values())
    [second] = ingest_path(path)
    assert second.playlist_id == first.playlist_id
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, 3)
    assert list(PlaylistTrack.objects.order_by("track_id").values()) == before
    assert Playlist.objects.count() == 1


def test_a_newer_export_updates_the_same_playlist_and_marks_removals(tmp_path):
    old = export_playlist("Road Trip", [export_track_item(1), export_track_item(2)])
    [first] = ingest_path(write_export_json(tmp_path / "Playlist1.json", [old]))
    # The newer export spells the name with other case/spacing: same playlist.
    new = export_playlist("road  trip", [export_track_item(1)])
    [second] = ingest_path(write_export_json(tmp_path / "new" / "Playlist1.json", [new]))
    assert second.playlist_id == first.playlist_id
    # The kept track is not rewritten: "last seen" is the playlist's, not each row's.
    assert (second.rows_inserted, second.rows_updated, second.rows_removed) == (0, 0, 1)
    assert (second.rows_unchanged, second.history_version) == (1, 2)
    assert rows(first.playlist_id)[track_id(2)].removed_at is not None
    assert rows(first.playlist_id)[track_id(1)].removed_at is None


def test_owner_keys_and_repeated_names_get_their_own_playlists(tmp_path):
    path = write_export_json(
        tmp_path / "Playlist1.json",
        [export_playlist("Mix", [export_track_item(1)]), export_playlist("Mix", [])],
    )
    alice = [result.playlist_id for result in ingest_path(path, owner_key="alice")]
    bob = [result.playlist_id for result in ingest_path(path, owner_key="bob")]
    assert len(set(alice + bob)) == 4
    assert Playlist.objects.count() == 4


def test_it_reads_the_whole_zip_in_file_number_order(tmp_path):
    path = write_export_zip(
        tmp_path / "my_spotify_data.zip",
        {
            "Playlist10.json": [export_playlist("Ten", [export_track_item(10)])],
            "Playlist2.json": [export_playlist("Two", [export_track_item(2)])],
            "YourLibrary.json": b'{"tracks": []}',
        },
    )
    results = ingest_path(path)
    assert [(result.name, result.status) for result in results] == [
        ("Two", "succeeded"),
        ("Ten", "succeeded"),
    ]
    assert results[0].reference.endswith("Spotify Account Data/Playlist2.json")


def test_an_older_playlist_json_in_any_folder_of_a_zip_works(tmp_path):
    path = write_export_zip(
        tmp_path / "export.zip",
        {"Playlist.json": [export_playlist("Old", [export_track_item(1)])]},
        folder="MyData/",
    )
    assert [result.tracks_loaded for result in ingest_path(path)] == [1]


def test_utf8_with_a_byte_order_mark_and_utf16_are_read(tmp_path):
    document = json.dumps({"playlists": [export_playlist("Grüße", [export_track_item(1)])]})
    bom = tmp_path / "bom" / "Playlist1.json"
    bom.parent.mkdir()
    bom.write_bytes(b"\xef\xbb\xbf" + document.encode())
    utf16 = tmp_path / "Playlist1.json"
    utf16.write_bytes(document.encode("utf-16"))
    assert [result.name for result in ingest_path(bom) + ingest_path(utf16)] == ["Grüße"] * 2
