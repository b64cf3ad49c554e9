"""The overview: totals, top artists and genres across a user's playlists, and only theirs."""

import json
import re

import pytest
from django.urls import reverse

from accounts.models import UserPlaylist
from devtools.synthetic.snapshots import TrackFactory
from ingestion.snapshot import ArtistRef

pytestmark = pytest.mark.django_db

ZED, ANA = ArtistRef("a1", "Zed"), ArtistRef("a2", "Ana")
GENRES = {"a1": ["pop"], "a2": []}


def figures(response):
    return {label: value for label, value, _ in response.context["figures"]}


def chart(response, chart_id):
    data = re.search(
        r'<script id="chart-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    ).group(1)
    (found,) = [c for c in json.loads(data)["charts"] if c["id"] == chart_id]
    return dict(zip(found["labels"], found["values"], strict=True))


@pytest.fixture
def shared_track():
    return TrackFactory(name="Shared", artists=(ZED,))


@pytest.fixture
def alices(alice, loaded_playlist, shared_track):
    first = loaded_playlist(
        alice,
        track_list=[shared_track, TrackFactory(artists=(ANA,))],
        name="First",
        genres=GENRES,
    )
    second = loaded_playlist(
        alice, track_list=[shared_track, TrackFactory(artists=(ZED,))], name="Second", genres=GENRES
    )
    return first, second


def test_it_requires_signing_in(client):
    response = client.get(reverse("dashboard:overview"))

    assert response.status_code == 302


def test_it_sums_up_the_users_playlists(client, alice, alices):
    client.force_login(alice)

    response = client.get(reverse("dashboard:overview"))

    assert response.status_code == 200
    assert figures(response)["Playlists"] == "2"
    assert figures(response)["Tracks"] == "4"  # 2 + 2 rows
    assert figures(response)["Artists"] == "2"
    html = response.content.decode()
    assert "First" in html and "Second" in html
    # The shared track counts once for its artist and genre.
    assert chart(response, "artists") == {"Zed": 2, "Ana": 1}
    assert chart(response, "genres") == {"pop": 2}  # no "No genre listed" bar (issue 16)


def test_it_counts_only_the_users_own_playlists(client, alice, bob, alices, loaded_playlist):
    loaded_playlist(bob, tracks=7, name="Bob's secret")
    client.force_login(alice)

    response = client.get(reverse("dashboard:overview"))

    assert figures(response)["Tracks"] == "4"
    assert "Bob&#x27;s secret" not in response.content.decode()
    assert "Bob's secret" not in response.content.decode()


def test_it_explains_an_empty_overview(client, charlie):
    client.force_login(charlie)

    html = client.get(reverse("dashboard:overview")).content.decode()

    assert "You have not added any playlist yet" in html
    assert "chart-data" not in html


def test_it_explains_playlists_not_loaded_yet(client, charlie):
    UserPlaylist.objects.create(user=charlie, playlist_id="p-new")
    client.force_login(charlie)

    html = client.get(reverse("dashboard:overview")).content.decode()

    assert "None of your playlists has tracks loaded yet" in html


def test_it_renders_names_inert(client, alice, loaded_playlist):
    evil = "<script>alert(1)</script>"
    loaded_playlist(alice, track_list=[TrackFactory(artists=(ArtistRef("a9", evil),))], name=evil)
    client.force_login(alice)

    html = client.get(reverse("dashboard:overview")).content.decode()

    assert "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert re.findall(r"<script([^>]*)>", html) == [
        ' src="/static/dashboard/site.js" defer',  # every page: the cover fallback
        ' id="chart-data" type="application/json"',
        ' src="/static/vendor/chartjs/chart.umd.min.js"',
        ' src="/static/dashboard/charts.js"',  # the one palette and chart helper
        ' src="/static/dashboard/overview.js"',
    ]


def test_it_costs_the_same_queries_for_few_and_many_playlists(
    client, alice, loaded_playlist, django_assert_num_queries
):
    loaded_playlist(alice, tracks=2)
    client.force_login(alice)
    # session, user, the user's ids, figures, artists, genres, track counts, playlists
    with django_assert_num_queries(8):
        client.get(reverse("dashboard:overview"))

    for _ in range(5):
        loaded_playlist(alice, tracks=20)
    with django_assert_num_queries(8):
        client.get(reverse("dashboard:overview"))


def test_the_playlists_table_sorts_and_searches(client, alice, loaded_playlist):
    loaded_playlist(alice, tracks=1, name="Beta")
    loaded_playlist(alice, tracks=3, name="alpha")
    loaded_playlist(alice, tracks=2, name="Gamma")
    client.force_login(alice)

    def names(**params):
        response = client.get(reverse("dashboard:overview"), params)
        return [p["name"] for p in response.context["playlists"]]

    assert names() == ["alpha", "Beta", "Gamma"]
    assert names(sort="tracks", dir="desc") == ["alpha", "Gamma", "Beta"]
    assert names(sort="length", dir="asc")[0] == "Beta"
    assert names(q="et") == ["Beta"]
    html = client.get(reverse("dashboard:overview"), {"sort": "tracks"}).content.decode()
    assert 'aria-sort="descending" data-sort="tracks"' in html
    # The figures stay those of every playlist: the search narrows the table only.
    response = client.get(reverse("dashboard:overview"), {"q": "et"})
    assert figures(response)["Tracks"] == "6"
