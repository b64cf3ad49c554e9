"""Honest charts (issue 16): a click on a bar filters the track table (the filter
params the table honours, through the same access rule), axis titles, no charts
below a handful of tracks, "open in Spotify" only for real Spotify ids."""

import json
import re

import pytest
from django.urls import reverse

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory
from ingestion.snapshot import ArtistRef

pytestmark = pytest.mark.django_db


@pytest.fixture
def road_trip(alice, loaded_playlist):
    zed, ana = ArtistRef("a1", "Zed"), ArtistRef("a2", "Ana")
    tracks = [
        TrackFactory(
            name="Alpha", artists=(zed,), album_release_date="1997-05-12", duration_ms=200_000
        ),
        TrackFactory(
            name="Bravo", artists=(zed, ana), album_release_date="1985-01-01", duration_ms=95_000
        ),
        TrackFactory(
            name="Charlie", artists=(ana,), album_release_date="2001-07-01", duration_ms=700_000
        ),
        TrackFactory(
            name="Delta", artists=(ana,), album_release_date="1999-01-01", duration_ms=190_000
        ),
        LocalTrackFactory(name="Home demo", duration_ms=30_000),
    ]
    return loaded_playlist(alice, track_list=tracks, genres={"a1": ["pop"], "a2": ["jazz"]})


def names(client, playlist_id, **params):
    data = client.get(
        reverse("dashboard:tracks", args=[playlist_id]), {"format": "json", **params}
    ).json()
    return sorted(row["track_name"] for row in data["rows"])


def charts(response):
    html = response.content.decode()
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    return {chart["id"]: chart for chart in json.loads(match.group(1))["charts"]} if match else {}


def test_each_bar_filters_the_table_to_the_tracks_it_counts(client, alice, road_trip):
    client.force_login(alice)

    assert names(client, road_trip.pk, artist="a1") == ["Alpha", "Bravo"]
    assert names(client, road_trip.pk, genre="jazz") == ["Bravo", "Charlie", "Delta"]
    assert names(client, road_trip.pk, decade="1990") == ["Alpha", "Delta"]
    assert names(client, road_trip.pk, year="1985") == ["Bravo"]
    assert names(client, road_trip.pk, minutes="3") == ["Alpha", "Delta"]
    assert names(client, road_trip.pk, minutes="10") == ["Charlie"]  # 10+ min
    assert names(client, road_trip.pk, genre="jazz", decade="1990") == ["Delta"]
    # Junk is ignored, not an error.
    assert len(names(client, road_trip.pk, decade="nineties", year="")) == 5


def test_the_charts_carry_their_filters_and_axis_titles(client, alice, road_trip):
    client.force_login(alice)

    found = charts(client.get(reverse("dashboard:playlist", args=[road_trip.pk])))

    assert found["artists"]["filter"] == "artist"
    assert found["artists"]["filter_values"][: len(found["artists"]["labels"])]
    assert found["decades"]["filter_values"] == [1980, 1990, 2000]
    assert found["durations"]["category_title"] == "Length (minutes)"
    assert found["years"]["value_title"] == "Tracks"
    assert all(chart["filterable"] for key, chart in found.items() if key != "timeline")
    assert not found["timeline"]["filterable"]


def test_a_filtered_page_says_so_and_offers_all_tracks(client, alice, road_trip):
    client.force_login(alice)

    html = client.get(reverse("dashboard:playlist", args=[road_trip.pk]), {"artist": "a1"})
    page = html.content.decode()

    assert "Only the tracks of" in page and "Artist: Zed" in page
    assert "Show all tracks" in page
    assert '<input type="hidden" name="artist" value="a1">' in page  # the search keeps it


def test_the_filters_go_through_the_access_rule(client, alice, bob, road_trip):
    client.force_login(bob)
    url = reverse("dashboard:tracks", args=[road_trip.pk])
    assert client.get(url, {"format": "json", "artist": "a1"}).status_code == 404


def test_a_playlist_of_a_few_tracks_shows_figures_and_table_not_charts(
    client, alice, loaded_playlist
):
    playlist = loaded_playlist(alice, tracks=1)
    client.force_login(alice)

    response = client.get(reverse("dashboard:playlist", args=[playlist.pk]))
    page = response.content.decode()

    assert charts(response) == {}
    assert "<canvas" not in page
    assert "they appear from 5 tracks" in page
    assert response.context["figures"] and 'id="track-table"' in page


def test_open_in_spotify_links_only_for_real_spotify_ids(client, alice, road_trip):
    client.force_login(alice)

    page = client.get(reverse("dashboard:tracks", args=[road_trip.pk])).content.decode()

    assert page.count('href="https://open.spotify.com/track/') == 4  # not the local file
    assert "open.spotify.com/track/local" not in page
    assert 'href="https://open.spotify.com/artist/' not in page  # "a1" is no Spotify id


def test_a_spotify_playlist_links_to_spotify_and_an_export_does_not(client, alice, loaded_playlist):
    from warehouse.models import Playlist, Source

    playlist = loaded_playlist(alice, playlist_id="0123456789abcdefghijkl")
    client.force_login(alice)
    url = reverse("dashboard:playlist", args=[playlist.pk])
    link = 'href="https://open.spotify.com/playlist/0123456789abcdefghijkl"'

    assert link in client.get(url).content.decode()
    Playlist.objects.filter(pk=playlist.pk).update(source=Source.SPOTIFY_EXPORT)
    assert link not in client.get(url).content.decode()
