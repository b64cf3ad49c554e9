"""The playlist dashboard and its track table: figures, charts, states, isolation, cost."""

import functools
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import UserPlaylist
from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory
from ingestion.models import RunStatus
from ingestion.snapshot import ArtistRef

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest_run(ingest_run, alice):
    """Alice's runs (she asked for them): a run is shown to the person who asked."""
    return functools.partial(ingest_run, requested_by=alice)


# Session, user, access check (entry + playlist), latest and latest loading run,
# headline, artists, genres, years, durations, timeline, versions (the "as of" switch),
# the track table (count, page, ranks), the visible playlists, the page's tracks also in
# them, the playlists sharing tracks, the audio features (Exportify files' charts).
# Listed whole and in order (the default), the table needs no ranks query: a row's
# place is its index.
DASHBOARD_QUERIES = 20
IN_ORDER_QUERIES = DASHBOARD_QUERIES - 1


def dashboard_url(playlist_id, **params):
    url = reverse("dashboard:playlist", args=[playlist_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def tracks_url(playlist_id, **params):
    url = reverse("dashboard:tracks", args=[playlist_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def chart_data(response):
    match = re.search(
        r'<script id="chart-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "no chart-data json_script"
    return {chart["id"]: chart for chart in json.loads(match.group(1))["charts"]}


def body_rows(html):
    """Track names of the track table, in order."""
    table = html.split('<table class="tracks">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="col-track">(.*?)</td>', table, re.S)
    # The name, without its "open in Spotify" link (issue 16) or its tags.
    return [re.sub(r"<[^>]+>", "", cell.split(" <span")[0]).strip() for cell in cells]


@pytest.fixture
def road_trip(alice, loaded_playlist):
    """Four tracks and a local file, two artists with genres, one without."""
    zed, ana, bo = ArtistRef("a1", "Zed"), ArtistRef("a2", "Ana"), ArtistRef("a3", "Bo")
    tracks = [
        TrackFactory(name="Alpha", artists=(zed,), album_release_date="1997-05-12", explicit=True),
        TrackFactory(name="Bravo", artists=(zed, ana), album_release_date="1985-01-01"),
        TrackFactory(name="Charlie", artists=(bo,), album_release_date="2001-07-01"),
        TrackFactory(name="Delta", artists=(ana,), album_release_date="2003-01-01"),
        LocalTrackFactory(name="Home demo"),
    ]
    return loaded_playlist(
        alice,
        track_list=tracks,
        name="Road trip",
        genres={"a1": ["pop", "rock"], "a2": ["jazz"], "a3": []},
    )


def test_it_requires_signing_in(client, road_trip):
    response = client.get(dashboard_url(road_trip.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_the_headline_figures(client, alice, road_trip):
    client.force_login(alice)

    response = client.get(dashboard_url(road_trip.pk))

    assert response.status_code == 200
    figures = {label: value for label, value, _ in response.context["figures"]}
    assert figures["Tracks"] == "5"
    assert figures["Artists"] == "3"
    assert figures["Median release year"] == "1999"  # of 1985, 1997, 2001, 2003
    assert figures["Explicit"] == "20%"
    assert figures["Genre coverage"] == "60%"  # Alpha, Bravo, Delta
    assert figures["Local files"] == "1"
    assert "Road trip" in response.content.decode()


def test_it_charts_genres_with_the_share_of_tracks_without_one(client, alice, road_trip):
    client.force_login(alice)

    charts = chart_data(client.get(dashboard_url(road_trip.pk)))

    assert set(charts) == {"artists", "genres", "decades", "years", "durations", "timeline"}
    genres = dict(zip(charts["genres"]["labels"], charts["genres"]["values"], strict=True))
    # The tracks without a genre are a sentence, not a bar (issue 16: it dwarfed the rest).
    assert genres == {"jazz": 2, "pop": 2, "rock": 2}
    assert "40% of tracks have no genre" in charts["genres"]["note"]
    assert charts["artists"]["labels"] == ["Ana", "Zed", "Bo"]  # 2, 2 (by name), 1
    assert charts["decades"]["labels"] == ["1980s", "1990s", "2000s"]
    assert charts["decades"]["values"] == [1, 1, 2]


def test_it_gives_every_chart_a_table_of_its_values(client, alice, road_trip):
    client.force_login(alice)

    html = client.get(dashboard_url(road_trip.pk)).content.decode()

    for chart_id in ("artists", "genres", "decades", "years", "durations", "timeline"):
        assert f'<canvas id="chart-{chart_id}" role="img" aria-label="' in html
    assert html.count('<details class="chart-values">') == 6
    assert '<tr><th scope="row">jazz</th><td class="num">2</td></tr>' in html
    assert "No genre listed" not in html


def test_it_loads_scripts_from_static_files_only(client, alice, road_trip):
    client.force_login(alice)

    html = client.get(dashboard_url(road_trip.pk)).content.decode()

    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts == [
        ' src="/static/dashboard/site.js" defer',  # every page: the cover fallback
        ' id="chart-data" type="application/json"',
        ' src="/static/vendor/chartjs/chart.umd.min.js"',
        ' src="/static/dashboard/charts.js"',  # the one palette and chart helper
        ' src="/static/dashboard/playlist.js"',
    ]
    assert "cdn" not in html.lower()


def test_it_vendors_a_pinned_chart_js():
    folder = Path(settings.BASE_DIR) / "dashboard" / "static" / "vendor" / "chartjs"
    version = re.search(r"Chart\.js v(4\.\d+\.\d+)", (folder / "chart.umd.min.js").read_text())

    assert version
    assert f"Chart.js **{version.group(1)}**" in (folder / "README.md").read_text()
    assert (folder / "LICENSE.md").exists()


# --- isolation ---------------------------------------------------------------------
def test_it_answers_404_to_a_user_who_did_not_add_the_playlist(client, charlie, road_trip):
    client.force_login(charlie)

    assert client.get(dashboard_url(road_trip.pk)).status_code == 404
    assert client.get(tracks_url(road_trip.pk)).status_code == 404
    assert client.get(tracks_url(road_trip.pk, format="json")).status_code == 404


def test_it_answers_404_for_a_playlist_nobody_added(client, alice):
    client.force_login(alice)

    assert client.get(dashboard_url("37i9dQZF1DXcBWIGoYBM5M")).status_code == 404


def test_it_shows_a_shared_playlist_to_everyone_who_added_it(client, alice, bob, loaded_playlist):
    playlist = loaded_playlist(alice, bob, tracks=2)
    client.force_login(bob)

    assert client.get(dashboard_url(playlist.pk)).status_code == 200
    assert client.get(tracks_url(playlist.pk)).status_code == 200


# --- escaping ------------------------------------------------------------------------
def test_it_renders_script_in_names_inert(client, alice, loaded_playlist):
    evil = "<script>alert(1)</script>"
    artist = ArtistRef("a1", f"{evil} & co")
    playlist = loaded_playlist(
        alice,
        # Five tracks: charts are drawn from CHARTS_FROM_TRACKS on.
        track_list=[TrackFactory(name=f"</script>{evil}", artists=(artist,), album_name=evil)]
        + [TrackFactory(artists=(artist,)) for _ in range(4)],
        name=evil,
        description=evil,
        genres={"a1": [evil]},
    )
    client.force_login(alice)

    html = client.get(dashboard_url(playlist.pk)).content.decode()

    assert "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in data.group(1)
    assert "<" not in data.group(1)
    charts = chart_data(client.get(dashboard_url(playlist.pk)))
    assert charts["artists"]["labels"] == [f"{evil} & co"]
    assert charts["genres"]["labels"][0] == evil
    fragment = client.get(tracks_url(playlist.pk)).content.decode()
    assert "alert(1)</script>" not in fragment


# --- the track table ----------------------------------------------------------------
@pytest.fixture
def sixty(alice, loaded_playlist):
    tracks = [
        TrackFactory(name=f"Song {n:02d}", album_name="Odd" if n % 2 else "Even") for n in range(60)
    ]
    return loaded_playlist(alice, track_list=tracks)


def test_it_pages_the_table_on_the_server(client, alice, sixty):
    client.force_login(alice)

    first = client.get(dashboard_url(sixty.pk)).content.decode()
    second = client.get(dashboard_url(sixty.pk, page=2)).content.decode()

    assert body_rows(first) == [f"Song {n:02d}" for n in range(50)]
    assert body_rows(second) == [f"Song {n:02d}" for n in range(50, 60)]
    assert "Page 2 of 2" in second
    assert "Tracks 51–60 of 60" in second


def test_it_sorts_the_table_on_the_server(client, alice, sixty):
    client.force_login(alice)

    html = client.get(tracks_url(sixty.pk, sort="track", dir="desc", size=25)).content.decode()

    assert body_rows(html)[:3] == ["Song 59", "Song 58", "Song 57"]
    assert len(body_rows(html)) == 25
    assert 'aria-sort="descending"' in html
    # the header link flips the direction and goes back to the first page
    assert 'href="?sort=track&amp;dir=asc&amp;size=25#tracks"' in html


def test_it_filters_the_table_on_the_server(client, alice, sixty):
    client.force_login(alice)

    html = client.get(dashboard_url(sixty.pk, q="song+1")).content.decode()

    assert body_rows(html) == [f"Song {n}" for n in range(10, 20)]
    assert "of 10 matching “song 1”" in html


def test_it_answers_the_table_as_json(client, alice, sixty):
    client.force_login(alice)

    response = client.get(tracks_url(sixty.pk, q="odd", sort="track", page=1, format="json"))

    data = response.json()
    assert (data["total"], data["pages"], data["sort"], data["query"]) == (30, 1, "track", "odd")
    assert data["rows"][0]["track_name"] == "Song 01"
    assert data["rows"][0]["added_at"].startswith("2024-03-01T12:00:00")


# --- states ----------------------------------------------------------------------------
def test_it_explains_a_playlist_not_loaded_yet(client, alice, ingest_run):
    UserPlaylist.objects.create(user=alice, playlist_id="p-new")
    run = ingest_run("p-new", status=RunStatus.RUNNING)
    client.force_login(alice)

    response = client.get(dashboard_url("p-new"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "being loaded for the first time" in html
    assert reverse("dashboard:run", args=[run.pk]) in html
    assert "chart-data" not in html


def test_it_explains_a_playlist_never_loaded(client, alice):
    UserPlaylist.objects.create(user=alice, playlist_id="p-new")
    client.force_login(alice)

    assert "has not been loaded yet" in client.get(dashboard_url("p-new")).content.decode()


def test_it_explains_a_playlist_without_tracks(client, alice, loaded_playlist, ingest_run):
    playlist = loaded_playlist(alice, tracks=0)
    ingest_run(playlist.pk, items_skipped={"episode": 3, "unavailable": 1})
    client.force_login(alice)

    html = client.get(dashboard_url(playlist.pk)).content.decode()

    assert "This playlist has no tracks" in html
    assert "3 podcast episodes" in html
    assert "1 unavailable item (no longer on Spotify)" in html
    assert "chart-data" not in html


def test_it_explains_a_partial_load(client, alice, road_trip, ingest_run):
    ingest_run(
        road_trip.pk,
        status=RunStatus.PARTIAL,
        error="2 artists could not be fetched",
        items_skipped={"unavailable": 4},
    )
    client.force_login(alice)

    response = client.get(dashboard_url(road_trip.pk))

    html = response.content.decode()
    assert "The last load was partial: 2 artists could not be fetched" in html
    assert "genre figures undercount" in html
    figures = {label: value for label, value, _ in response.context["figures"]}
    assert figures["Unavailable items"] == "4"


def test_it_explains_a_failed_refresh(client, alice, road_trip, ingest_run):
    ingest_run(road_trip.pk, items_skipped={"unavailable": 2})
    ingest_run(road_trip.pk, status=RunStatus.FAILED, error="Spotify is down")
    client.force_login(alice)

    response = client.get(dashboard_url(road_trip.pk))

    assert "The last refresh failed: Spotify is down" in response.content.decode()
    figures = {label: value for label, value, _ in response.context["figures"]}
    assert figures["Unavailable items"] == "2"  # from the last run that loaded


# --- cost ------------------------------------------------------------------------------
def test_it_costs_the_same_queries_for_1_and_1000_tracks(
    client, alice, loaded_playlist, django_assert_num_queries
):
    small = loaded_playlist(alice, tracks=1)
    big = loaded_playlist(alice, tracks=1000)
    client.force_login(alice)

    for playlist in (small, big):
        with django_assert_num_queries(IN_ORDER_QUERIES):
            assert client.get(dashboard_url(playlist.pk)).status_code == 200
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert client.get(dashboard_url(small.pk, sort="album")).status_code == 200
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert client.get(dashboard_url(big.pk, q="track", sort="album", page=3)).status_code == 200


def test_it_costs_the_table_fragment_a_fixed_number_of_queries(client, alice, sixty):
    client.force_login(alice)

    with CaptureQueriesContext(connection) as queries:
        client.get(tracks_url(sixty.pk, page=2))

    # session, user, access (entry + playlist), versions, whether it has audio features
    # (their columns), count, page, visible playlists (alice has no other playlist, so no
    # "also in" query: test_across_pages pins that one); in order, no ranks query (a
    # row's place is its index), sorted otherwise one.
    assert len(queries) == 9
    with CaptureQueriesContext(connection) as queries:
        client.get(tracks_url(sixty.pk, page=2, sort="track"))
    assert len(queries) == 10


def test_release_histograms_keep_their_empty_years_and_decades():
    from dashboard.views.analytics import _with_empty_steps

    assert _with_empty_steps({1955: 2, 1958: 1}, step=1) == {
        1955: 2,
        1956: 0,
        1957: 0,
        1958: 1,
    }
    assert _with_empty_steps({1950: 3, 1970: 1}, step=10) == {1950: 3, 1960: 0, 1970: 1}
    assert _with_empty_steps({}, step=1) == {}
