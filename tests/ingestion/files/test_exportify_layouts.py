"""Exportify CSVs as people have them: headers in any UI language, the
exportify.net fork's layout, rows' own genres (issue 14, points 1–3)."""

import pytest

from devtools.synthetic.exports import (
    exportify_header,
    exportify_row,
    fork_row,
    track_id,
    write_csv,
    write_fork_csv,
)
from ingestion.files import detect_format, ingest_path
from ingestion.files.exportify import FIELD_KEYS, HEADER_FIELDS, _normalized
from ingestion.files.exportify_headers import HEADERS, KEYS
from ingestion.pipeline import Status
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db

LOCALES = ["en", "de", "es", "fr", "ja"]


def rows(playlist_id):
    return list(
        PlaylistTrack.objects.filter(playlist_id=playlist_id)
        .order_by("position")
        .values(
            "track_id",
            "track_name",
            "artist_ids",
            "artist_names",
            "album_name",
            "track_genres",
            "track_duration_ms",
            "track_popularity",
            "album_release_date",
        )
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_a_localized_header_loads_like_the_english_one(tmp_path, locale):
    duet = exportify_row(
        locale,
        1,
        artist_uris="spotify:artist:a1, spotify:artist:g1",
        artist_names="Artist 1, Guest",
        artist_genres="k-pop,dance pop,trot",
    )
    solo = exportify_row(locale, 2, artist_genres="k-pop")
    path = write_csv(tmp_path / f"mix_{locale}.csv", [duet, solo], exportify_header(locale))
    assert detect_format(path) == "exportify"
    [result] = ingest_path(path)
    assert result.status == Status.SUCCEEDED, result.error
    assert (result.tracks_loaded, result.items_total, result.items_skipped) == (2, 2, {})
    assert rows(result.playlist_id) == [
        {
            "track_id": track_id(1),
            "track_name": "Song 1",
            "artist_ids": ["a1", "g1"],
            "artist_names": ["Artist 1", "Guest"],
            "album_name": "An Album",
            "track_genres": ["k-pop", "dance pop", "trot"],
            "track_duration_ms": 215000,
            "track_popularity": 42,
            "album_release_date": "1997-05-12",
        },
        {
            "track_id": track_id(2),
            "track_name": "Song 2",
            "artist_ids": ["a2"],
            "artist_names": ["Artist 2"],
            "album_name": "An Album",
            "track_genres": ["k-pop"],
            "track_duration_ms": 215000,
            "track_popularity": 42,
            "album_release_date": "1997-05-12",
        },
    ]


def test_a_sniffed_localized_csv_without_its_extension_is_exportify(tmp_path):
    path = write_csv(tmp_path / "mix", [exportify_row("ja", 1)], exportify_header("ja"))
    assert detect_format(path) == "exportify"


def test_every_locale_maps_every_column_it_reads():
    for locale, headers in HEADERS.items():
        named = dict(zip(KEYS, headers, strict=True))
        for field, key in FIELD_KEYS.items():
            # No header of one locale means another field in another locale.
            assert HEADER_FIELDS[_normalized(named[key])] == field, (locale, key)
    assert len(HEADERS) == 15


@pytest.mark.parametrize(
    ("locale", "column"),
    [("de", "Track-Name"), ("es", "Nombre de la canción"), ("ja", "トラック名")],
)
def test_a_localized_header_without_its_track_name_column_is_refused_clearly(
    tmp_path, locale, column
):
    header = [h for h in exportify_header(locale) if h != column]
    path = write_csv(tmp_path / "mix.csv", [exportify_row(locale, 1)], header)
    [result] = ingest_path(path)
    assert result.status == Status.FAILED
    assert f"header in {locale!r}" in result.error
    assert f"no “{column}” column(s) (name)" in result.error
    assert "Export the playlist again" in result.error
    assert not PlaylistTrack.objects.exists()


def test_a_csv_of_no_known_language_is_refused_as_not_exportify(tmp_path):
    path = write_csv(tmp_path / "mix.csv", [{"Titel": "x", "Interpret": "y"}])
    [result] = ingest_path(path)
    assert result.status == Status.FAILED
    assert "missing the column(s) Track URI, Track Name" in result.error


# --- the exportify.net fork -------------------------------------------------------------
def test_the_fork_splits_artists_and_keeps_each_rows_genres(tmp_path):
    path = write_fork_csv(
        tmp_path / "road_trip.csv",
        [
            fork_row(1, artists=["Ana", "Bo", "Tyler, The Creator"], genres="pop,hip hop"),
            fork_row(2, artists=["Ana"], genres="pop"),
            fork_row(3, artists=["Ana"], genres=""),  # Spotify lists no genre for her here
        ],
    )
    [result] = ingest_path(path)
    assert result.status == Status.SUCCEEDED, result.error
    assert (result.tracks_loaded, result.items_total) == (3, 3)
    loaded = rows(result.playlist_id)
    assert [row["artist_names"] for row in loaded] == [
        ["Ana", "Bo", "Tyler, The Creator"],
        ["Ana"],
        ["Ana"],
    ]
    assert [row["artist_ids"] for row in loaded] == [[], [], []]
    # A row's own genres are its track's: another row of the same artist does not
    # take them away (point 3), and no artist id is needed (point 2).
    assert [row["track_genres"] for row in loaded] == [["pop", "hip hop"], ["pop"], []]
    assert loaded[0]["album_release_date"] == "2001-02-03"
    assert loaded[0]["track_duration_ms"] == 201000


def test_a_rows_own_genres_win_over_its_artists_other_rows(tmp_path):
    # The same artist id on two rows with different genres: each row keeps its own.
    first = exportify_row("en", 1, artist_uris="spotify:artist:x", artist_genres="jazz,soul")
    second = exportify_row("en", 2, artist_uris="spotify:artist:x", artist_genres="")
    path = write_csv(tmp_path / "mix.csv", [first, second], exportify_header("en"))
    [result] = ingest_path(path)
    assert [row["track_genres"] for row in rows(result.playlist_id)] == [["jazz", "soul"], []]
