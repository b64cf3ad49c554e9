"""My playlists as a newcomer meets it (issue 16): the empty state that leads, the
"needs attention" strip, remove with confirmation and undo, search and sort, the
one JSON the page polls for its runs, the favicon."""

import functools

import pytest
from django.urls import reverse

from accounts.models import Access, UserPlaylist
from ingestion.models import RunStatus

pytestmark = pytest.mark.django_db

HOME = reverse("dashboard:home")
FAILED_ID = "37abcdefghijklmnopqrst"


@pytest.fixture
def ingest_run(ingest_run, alice):
    return functools.partial(ingest_run, requested_by=alice)


def test_an_empty_list_leads_to_connect_upload_and_the_demo(client, alice, settings):
    client.force_login(alice)
    page = client.get(HOME).content.decode()

    assert "Your list is empty" in page
    assert f'href="{reverse("spotify")}">Connect Spotify</a>' in page
    assert "only the playlists you own or collaborate on" in page  # the why
    assert f'href="{reverse("dashboard:upload")}">Upload an export</a>' in page


def test_a_failed_add_is_in_the_attention_strip_with_its_reason_not_a_card(
    client, alice, ingest_run
):
    UserPlaylist.objects.create(user=alice, playlist_id=FAILED_ID)
    run = ingest_run(
        FAILED_ID, status=RunStatus.FAILED, error="Spotify is down.", name="Late Night"
    )
    client.force_login(alice)

    response = client.get(HOME)
    page = response.content.decode()

    assert [row.playlist_id for row in response.context["attention"]] == [FAILED_ID]
    assert response.context["shown"] == []
    assert "Needs attention" in page
    assert "Late Night" in page and "Spotify is down." in page
    assert f'action="{reverse("dashboard:run-retry", args=[run.pk])}"' in page
    assert f'action="{reverse("dashboard:remove", args=[FAILED_ID])}"' in page
    assert "Your list is empty" not in page


def test_a_refused_playlist_is_in_the_attention_strip(client, alice):
    UserPlaylist.objects.create(
        user=alice, playlist_id=FAILED_ID, access=Access.REFUSED, access_reason="It is private."
    )
    client.force_login(alice)

    page = client.get(HOME).content.decode()

    assert "Not readable by your Spotify account: It is private." in page


def test_remove_asks_first_and_can_be_undone(client, alice, loaded_playlist):
    playlist = loaded_playlist(alice, name="Road Trip")
    client.force_login(alice)
    page = client.get(HOME).content.decode()
    assert '<details class="remove">' in page
    assert "Remove Road Trip from your list?" in page

    response = client.post(reverse("dashboard:remove", args=[playlist.pk]), follow=True)
    page = response.content.decode()
    assert not UserPlaylist.objects.filter(user=alice).exists()
    assert f'action="{reverse("dashboard:restore", args=[playlist.pk])}"' in page
    # Offered once: a reload does not offer it again.
    assert "dashboard:restore" not in client.get(HOME).content.decode()

    response = client.post(reverse("dashboard:restore", args=[playlist.pk]), follow=True)
    assert "Road Trip is back on your list." in response.content.decode()
    entry = UserPlaylist.objects.get(user=alice, playlist_id=playlist.pk)
    assert entry.access == Access.GRANTED  # as it was: its data shows again
    assert [row.playlist_id for row in response.context["shown"]] == [playlist.pk]


def test_undo_puts_back_only_what_the_user_removed(client, alice, bob, loaded_playlist):
    others = loaded_playlist(bob)
    client.force_login(alice)

    # Nothing removed: no undo, and never someone else's playlist.
    assert client.post(reverse("dashboard:restore", args=[others.pk])).status_code == 404
    assert not UserPlaylist.objects.filter(user=alice).exists()


def test_home_sorts_and_searches(client, alice, loaded_playlist):
    loaded_playlist(alice, tracks=1, name="Beta")
    loaded_playlist(alice, tracks=3, name="alpha")
    loaded_playlist(alice, tracks=2, name="Gamma")
    client.force_login(alice)

    def names(**params):
        response = client.get(HOME, params)
        return [row.name for row in response.context["shown"]]

    assert names() == ["alpha", "Beta", "Gamma"]
    assert names(sort="tracks", dir="desc") == ["alpha", "Gamma", "Beta"]
    assert names(sort="tracks", dir="asc") == ["Beta", "Gamma", "alpha"]
    assert names(sort="name", dir="desc") == ["Gamma", "Beta", "alpha"]
    assert names(q="MM") == ["Gamma"]
    assert names(sort="nonsense", dir="sideways") == ["alpha", "Beta", "Gamma"]
    page = client.get(HOME, {"q": "zzz"}).content.decode()
    assert "None of your playlists is called anything like “zzz”" in page


def test_the_runs_json_answers_only_the_users_runs(client, alice, bob, ingest_run):
    mine = ingest_run(FAILED_ID, status=RunStatus.RUNNING)
    bobs = ingest_run(FAILED_ID, status=RunStatus.QUEUED, requested_by=bob)
    client.force_login(alice)

    url = reverse("dashboard:home-runs")
    data = client.get(url, {"run": [mine.pk, bobs.pk, "junk"]}).json()

    assert [(run["id"], run["status"]) for run in data["runs"]] == [(mine.pk, "running")]


def test_the_home_page_follows_its_active_runs(client, alice, ingest_run):
    UserPlaylist.objects.create(user=alice, playlist_id=FAILED_ID)
    run = ingest_run(FAILED_ID, status=RunStatus.QUEUED)
    client.force_login(alice)

    page = client.get(HOME).content.decode()

    assert f'data-run-id="{run.pk}" data-active' in page
    assert f'data-runs-url="{reverse("dashboard:home-runs")}"' in page
    assert "/static/dashboard/home.js" in page


def test_the_favicon_is_linked_and_favicon_ico_does_not_404(client, alice):
    client.force_login(alice)
    assert 'rel="icon" href="/static/dashboard/favicon.svg"' in client.get(HOME).content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == "/static/dashboard/favicon.svg"
