import datetime as dt

import pytest

from devtools.synthetic.exports import CLASSIC_HEADER, classic_row, track_id, write_csv
from ingestion.files import detect_format, ingest_path
from ingestion.files.exportify import read_exportify
from ingestion.snapshot import ItemKind
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db

# A newer layout: reordered, renamed, with extra columns the importer ignores.
NEWER_HEADER = [
    "Track URI", "Track Name", "Album Name", "Artist Name(s)", "Artist URI(s)",
    "Release Date", "Duration (ms)", "Popularity", "Explicit", "Added By", "Added At",
    "Genres", "Record Label", "Danceability", "Energy",
]  # fmt: skip


def row_of(playlist_id, n):
    return PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=track_id(n))


def test_it_loads_the_classic_layout(tmp_path):
    path = write_csv(
        tmp_path / "road_trip_2024.csv",
        [
            classic_row(1, **{"Track Name": "Tab\there ünïcødé", "Explicit": "true"}),
            classic_row(
                2,
                **{
                    "Artist URI(s)": "spotify:artist:a2, spotify:artist:a3",
                    "Artist Name(s)": "Tyler\\, The Creator, Kali Uchis",
                    "Album Release Date": "1987-05",
                },
            ),
            classic_row(3, **{"Album Release Date": "1975"}),
            classic_row(1),  # a duplicate row
        ],
        CLASSIC_HEADER,
    )
    [result] = ingest_path(path)
    assert result.status == "succeeded", result.error
    assert (result.name, result.items_total, result.tracks_loaded) == ("road trip 2024", 4, 3)
    first = row_of(result.playlist_id, 1)
    assert (first.track_name, first.track_explicit, first.occurrences) == (
        "Tab\there ünïcødé",
        True,
        2,
    )
    assert (first.track_duration_ms, first.track_popularity, first.track_isrc) == (
        215000,
        42,
        "USABC2400001",
    )
    assert (first.added_by, first.added_at) == ("alice", dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC))
    assert (first.album_id, first.release_year, first.album_release_date_precision) == (
        "b1",
        1997,
        "day",
    )
    second = row_of(result.playlist_id, 2)
    assert second.artist_ids == ["a2", "a3"]
    assert second.artist_names == ["Tyler, The Creator", "Kali Uchis"]
    assert (second.album_release_date_precision, second.release_year) == ("month", 1987)
    assert row_of(result.playlist_id, 3).album_release_date_precision == "year"
    assert first.source == "exportify"
    assert Playlist.objects.get(pk=result.playlist_id).source == "exportify"


def test_it_loads_a_newer_layout_with_genres_by_column_name(tmp_path):
    rows = [
        {**classic_row(1), "Release Date": "2001-01-01", "Duration (ms)": "1000",
         "Genres": "k-pop,dance pop", "Record Label": "X", "Danceability": "0.5"},
        {**classic_row(2), "Artist URI(s)": "spotify:artist:a1, spotify:artist:a9",
         "Artist Name(s)": "Artist 1, Artist 9", "Release Date": "2002",
         "Duration (ms)": "2000", "Genres": "k-pop,dance pop,trot"},
    ]  # fmt: skip
    [result] = ingest_path(write_csv(tmp_path / "mix.csv", rows, NEWER_HEADER))
    assert result.status == "succeeded", result.error
    solo, duet = row_of(result.playlist_id, 1), row_of(result.playlist_id, 2)
    assert (solo.track_duration_ms, solo.release_year) == (1000, 2001)
    # Each row's genres are reconstructed exactly; the guest's "trot" stays on the duet.
    assert solo.track_genres == ["k-pop", "dance pop"]
    assert duet.track_genres == ["k-pop", "dance pop", "trot"]
    assert (solo.track_isrc, solo.album_id) == (None, None)  # columns this layout lacks


def test_local_files_and_episodes_are_accounted_for(tmp_path):
    local = classic_row(
        5,
        **{"Track URI": "spotify:local:Some+Artist:Demos:Home+Demo:215", "Artist URI(s)": "",
           "Album URI": "", "ISRC": "", "Track Name": "Home Demo", "Artist Name(s)": "Some Artist"},
    )  # fmt: skip
    episode = classic_row(6, **{"Track URI": "spotify:episode:e1"})
    snapshot = read_exportify(write_csv(tmp_path / "x.csv", [local, episode, classic_row(1)]))
    assert [item.kind for item in snapshot.items] == [
        ItemKind.LOCAL,
        ItemKind.EPISODE,
        ItemKind.TRACK,
    ]
    assert snapshot.items[0].track.id is None
    assert snapshot.items[0].track.artists[0].name == "Some Artist"
    [result] = ingest_path(tmp_path / "x.csv")
    assert (result.tracks_loaded, result.items_skipped) == (2, {"episode": 1})


def test_a_reimport_writes_nothing_and_keeps_the_identity(tmp_path):
    path = write_csv(tmp_path / "chill.csv", [classic_row(1), classic_row(2)])
    [first] = ingest_path(path)
    [second] = ingest_path(path)
    assert second.playlist_id == first.playlist_id
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, 2)


def test_it_detects_csv_and_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    write_csv(path, [classic_row(1)], encoding="utf-8-sig")
    assert detect_format(path) == "exportify"
    [result] = ingest_path(path)
    assert result.tracks_loaded == 1
