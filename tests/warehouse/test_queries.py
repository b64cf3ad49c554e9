"""The analytics selectors, against figures computed by hand (SQLite and PostgreSQL)."""

import datetime as dt

import pytest

from devtools.synthetic.snapshots import (
    LocalTrackFactory,
    PlaylistItemFactory,
    PlaylistSnapshotFactory,
    TrackFactory,
)
from ingestion.snapshot import ArtistRef, ItemKind
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

A1 = ArtistRef(id="a1", name="Zed")
A2 = ArtistRef(id="a2", name="Björk")
A3 = ArtistRef(id="a3", name="Ana")
A4 = ArtistRef(id="a4", name="Bo")
GENRES = {"a1": ["pop", "rock"], "a2": ["rock"], "a3": [], "a4": None}


def at(year, month, day):
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


def item(track, added_at=None, kind=ItemKind.TRACK):
    return PlaylistItemFactory(kind=kind, track=track, added_at=added_at)


def load(items, *, playlist_id="p1", snapshot_id="snap-1", genres=GENRES):
    for position, entry in enumerate(items):
        object.__setattr__(entry, "position", position)
    snapshot = PlaylistSnapshotFactory(
        playlist_id=playlist_id,
        snapshot_id=snapshot_id,
        items=items,
        total_items=len(items),
        artist_genres=genres,
    )
    load_playlist(snapshot, transform_snapshot(snapshot).rows)
    return snapshot


@pytest.fixture
def tracks():
    return {
        "t1": TrackFactory(
            id="t1",
            name="Alpha",
            artists=(A1,),
            album_release_date="1997-05-12",
            duration_ms=200_000,
            explicit=True,
        ),
        "t2": TrackFactory(
            id="t2",
            name="Bravo",
            artists=(A1, A2),
            album_release_date="1985",
            album_release_date_precision="year",
            duration_ms=125_000,
        ),
        "t3": TrackFactory(
            id="t3",
            name="Charlie",
            artists=(A3,),
            album_release_date="2001-07",
            album_release_date_precision="month",
            duration_ms=650_000,
        ),
        "t4": TrackFactory(
            id="t4",
            name="Delta",
            artists=(A4,),
            album_release_date="0000",
            album_release_date_precision="year",
            duration_ms=59_000,
            explicit=True,
        ),
        "t5": TrackFactory(id="t5", name="Echo (removed)", artists=(A1,), explicit=True),
        "local": LocalTrackFactory(name="Home demo", duration_ms=215_000),
    }


@pytest.fixture
def playlist(tracks):
    """p1: t1 (twice), t2, t3, t4, a local file, an episode, an unavailable item; t5 removed."""
    t = tracks

    def items(with_removed):
        entries = [
            item(t["t1"], at(2024, 1, 15)),
            item(t["t2"], at(2024, 3, 2)),
            item(t["t3"], None),
            item(t["t4"], at(2024, 1, 20)),
            item(t["local"], at(2024, 3, 5), kind=ItemKind.LOCAL),
            item(t["t1"], at(2025, 6, 1)),  # a repeat: one row, occurrences 2
            item(None, at(2024, 3, 5), kind=ItemKind.EPISODE),
            item(None, None, kind=ItemKind.UNAVAILABLE),
        ]
        if with_removed:
            entries.append(item(t["t5"], at(2023, 5, 1)))
        return entries

    load(items(with_removed=True), snapshot_id="snap-1")
    load(items(with_removed=False), snapshot_id="snap-2")
    return "p1"


def test_it_computes_the_headline(playlist):
    figures = queries.playlist_headline(playlist_id=playlist)

    assert figures.tracks == 5  # t1, t2, t3, t4, local; t5 was removed
    assert figures.items == 6  # t1 is in the playlist twice
    assert figures.duration_ms == 200_000 + 125_000 + 650_000 + 59_000 + 215_000
    assert figures.artists == 4  # a1..a4; the local file has no artist id
    assert figures.albums == 4  # the local file has no album id
    assert figures.median_year == 1997.0  # of 1985, 1997, 2001
    assert figures.explicit == 2
    assert figures.explicit_share == pytest.approx(0.4)
    assert figures.local_files == 1
    assert figures.with_genres == 2  # t1 and t2
    assert figures.genre_coverage == pytest.approx(0.4)


def test_it_takes_the_mean_of_the_two_middle_years(tracks):
    t = tracks
    load([item(t["t2"]), item(t["t3"]), item(t["t4"])])  # 1985, 2001 and unknown

    assert queries.playlist_headline(playlist_id="p1").median_year == 1993.0
    assert queries.playlist_release_years(playlist_id="p1").median == 1993.0


def test_it_ranks_artists_by_tracks(playlist):
    artists = queries.playlist_top_artists(playlist_id=playlist)

    assert artists == [
        {"artist_id": "a1", "name": "Zed", "tracks": 2},
        {"artist_id": "a3", "name": "Ana", "tracks": 1},
        {"artist_id": "a2", "name": "Björk", "tracks": 1},
        {"artist_id": "a4", "name": "Bo", "tracks": 1},
    ]
    assert len(queries.playlist_top_artists(playlist_id=playlist, limit=2)) == 2


def test_it_ranks_genres_and_says_how_many_tracks_have_none(playlist):
    genres = queries.playlist_top_genres(playlist_id=playlist)

    # t1 and t2 both have the union of their artists' genres: pop and rock.
    assert genres.genres == [
        {"genre": "pop", "tracks": 2, "share": pytest.approx(0.4)},
        {"genre": "rock", "tracks": 2, "share": pytest.approx(0.4)},
    ]
    assert genres.distinct_genres == 2
    assert genres.tracks == 5
    assert genres.without_genres == 3  # t3 (none listed), t4 (unknown), the local file
    assert genres.local_without_genres == 1
    assert genres.without_genres_share == pytest.approx(0.6)


def test_it_answers_the_genre_totals_when_no_track_has_a_genre(tracks):
    load([item(tracks["t3"]), item(tracks["t4"])])

    genres = queries.playlist_top_genres(playlist_id="p1")

    assert (genres.genres, genres.tracks, genres.without_genres) == ([], 2, 2)


def test_it_counts_release_years_and_decades(playlist):
    years = queries.playlist_release_years(playlist_id=playlist)

    assert years.years == [
        {"year": 1985, "tracks": 1},
        {"year": 1997, "tracks": 1},
        {"year": 2001, "tracks": 1},
    ]
    assert years.decades == [
        {"decade": 1980, "tracks": 1},
        {"decade": 1990, "tracks": 1},
        {"decade": 2000, "tracks": 1},
    ]
    assert years.unknown == 2  # t4's "0000" and the local file
    assert years.median == 1997.0
    assert queries.playlist_release_decades(playlist_id=playlist) == years.decades


def test_it_buckets_durations_by_minute(playlist):
    durations = queries.playlist_durations(playlist_id=playlist)

    counts = {bucket["min_minutes"]: bucket["tracks"] for bucket in durations.buckets}
    assert counts == {0: 1, 1: 0, 2: 1, 3: 2, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 1}
    assert durations.buckets[0]["label"] == "0–1 min"
    assert durations.buckets[-1]["label"] == "10+ min"
    assert durations.unknown == 0


def test_it_counts_tracks_added_per_month_including_empty_months(playlist):
    timeline = queries.playlist_timeline(playlist_id=playlist)

    # t1 counts at its first addition (January); the removed t5 (2023) not at all.
    assert timeline.months == [
        {"month": "2024-01", "tracks": 2},
        {"month": "2024-02", "tracks": 0},
        {"month": "2024-03", "tracks": 2},
    ]
    assert timeline.unknown == 1  # t3 has no added date


def test_it_buckets_months_in_the_site_time_zone(tracks, settings):
    settings.TIME_ZONE = "America/New_York"
    # 2024-02-01 02:00 UTC is still January 31st in New York.
    load([item(tracks["t1"], dt.datetime(2024, 2, 1, 2, tzinfo=dt.UTC))])

    assert queries.playlist_timeline(playlist_id="p1").months == [{"month": "2024-01", "tracks": 1}]


def test_it_answers_zeros_for_a_playlist_without_rows():
    assert queries.playlist_headline(playlist_id="nothing").tracks == 0
    assert queries.playlist_headline(playlist_id="nothing").median_year is None
    assert queries.playlist_top_artists(playlist_id="nothing") == []
    assert queries.playlist_top_genres(playlist_id="nothing").genres == []
    assert queries.playlist_release_years(playlist_id="nothing").median is None
    assert queries.playlist_timeline(playlist_id="nothing").months == []
    page = queries.playlist_tracks_page(playlist_id="nothing")
    assert (page.rows, page.total, page.page, page.pages) == ([], 0, 1, 1)


# --- the track table -------------------------------------------------------------------
def names(page):
    return [row["track_name"] for row in page.rows]


def test_it_pages_tracks_in_playlist_order_by_default(playlist):
    page = queries.playlist_tracks_page(playlist_id=playlist)

    assert names(page) == ["Alpha", "Bravo", "Charlie", "Delta", "Home demo"]
    assert page.total == 5
    assert page.rows[0]["artist_names"] == ["Zed"]
    assert page.rows[0]["occurrences"] == 2


@pytest.mark.parametrize(
    ("sort", "direction", "expected"),
    [
        ("track", "desc", ["Home demo", "Delta", "Charlie", "Bravo", "Alpha"]),
        # by primary artist: Ana, Bo, Some Artist (local), Zed, Zed (then by position)
        ("artist", "asc", ["Charlie", "Delta", "Home demo", "Alpha", "Bravo"]),
        # unknown years last, whatever the direction
        ("year", "asc", ["Bravo", "Alpha", "Charlie", "Delta", "Home demo"]),
        ("year", "desc", ["Charlie", "Alpha", "Bravo", "Delta", "Home demo"]),
        ("duration", "desc", ["Charlie", "Home demo", "Alpha", "Bravo", "Delta"]),
        ("added", "asc", ["Alpha", "Delta", "Bravo", "Home demo", "Charlie"]),
    ],
)
def test_it_sorts_tracks_in_the_database(playlist, sort, direction, expected):
    page = queries.playlist_tracks_page(playlist_id=playlist, sort=sort, direction=direction)

    assert names(page) == expected


def test_it_falls_back_to_the_default_sort(playlist):
    page = queries.playlist_tracks_page(playlist_id=playlist, sort="1; DROP", direction="up")

    assert (page.sort, page.direction) == ("position", "asc")
    assert names(page)[0] == "Alpha"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bRAVO", ["Bravo"]),  # track name, any case
        ("björk", ["Bravo"]),  # a second artist's name
        ("some artist", ["Home demo"]),  # a local file's artist
        ("an album", ["Alpha", "Bravo", "Charlie", "Delta", "Home demo"]),  # album
        ("removed", []),  # t5 is no longer in the playlist
        ("100%", []),  # LIKE wildcards are literal
    ],
)
def test_it_filters_tracks_by_track_artist_or_album(playlist, query, expected):
    page = queries.playlist_tracks_page(playlist_id=playlist, query=query)

    assert names(page) == expected
    assert page.total == len(expected)


def test_it_pages_in_the_database(tracks):
    many = [item(TrackFactory(name=f"Song {n:03d}")) for n in range(60)]
    load(many)

    first = queries.playlist_tracks_page(playlist_id="p1", page_size=25)
    last = queries.playlist_tracks_page(playlist_id="p1", page=3, page_size=25)
    beyond = queries.playlist_tracks_page(playlist_id="p1", page=99, page_size=25)

    assert (first.total, first.pages, len(first.rows)) == (60, 3, 25)
    assert names(last) == [f"Song {n:03d}" for n in range(50, 60)]
    assert (last.first_index, last.last_index) == (51, 60)
    assert beyond.page == 3
    assert queries.playlist_tracks_page(playlist_id="p1", page="x").page == 1
    assert queries.playlist_tracks_page(playlist_id="p1", page_size=7).page_size == 50


# --- across playlists ------------------------------------------------------------------
def test_it_sums_up_several_playlists(playlist, tracks):
    t = tracks
    load([item(t["t1"]), item(t["t3"]), item(t["t5"])], playlist_id="p2")

    overview = queries.user_overview(playlist_ids=["p1", "p2"])

    assert overview.figures.tracks == 5 + 3
    assert overview.figures.distinct_tracks == 6  # t1 and t3 are in both
    assert overview.figures.artists == 4
    # artists and genres count distinct tracks: t1 is one track in two playlists
    assert overview.top_artists[0] == {"artist_id": "a1", "name": "Zed", "tracks": 3}
    assert overview.genres.genres[0] == {"genre": "pop", "tracks": 3, "share": pytest.approx(0.5)}
    assert overview.genres.without_genres == 3
    assert {p["playlist_id"]: p["tracks"] for p in overview.playlists} == {"p1": 5, "p2": 3}


def test_it_answers_an_empty_overview_without_playlists():
    overview = queries.user_overview(playlist_ids=[])

    assert overview.figures.tracks == 0
    assert (overview.top_artists, overview.genres.genres, overview.playlists) == ([], [], [])


def test_it_gives_the_dashboard_the_same_numbers_as_the_selectors(playlist):
    dashboard = queries.playlist_dashboard(playlist_id=playlist)

    assert dashboard.headline == queries.playlist_headline(playlist_id=playlist)
    assert dashboard.top_artists == queries.playlist_top_artists(playlist_id=playlist)
    assert dashboard.genres == queries.playlist_top_genres(playlist_id=playlist)
    assert dashboard.years == queries.playlist_release_years(playlist_id=playlist)
    assert dashboard.durations == queries.playlist_durations(playlist_id=playlist)
    assert dashboard.timeline == queries.playlist_timeline(playlist_id=playlist)
