"""Pick from my Spotify: /v1/me/playlists, readable ones selectable, the rest explained."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import UserPlaylist
from devtools.sandbox import (
    BOB_PUBLIC_PLAYLIST_ID,
    COLLAB_PLAYLIST_ID,
    DEMO_PLAYLISTS,
    DEMO_USER_ID,
    OTHER_USER_PLAYLIST_ID,
    PRIVATE_PLAYLIST_ID,
)
from ingestion.models import IngestRun, RunStatus

pytestmark = pytest.mark.django_db

PICK = reverse("spotify-playlists")


def choices_of(response):
    return {choice.playlist_id: choice for choice in response.context["choices"]}


def test_it_lists_owned_collaborative_and_followed_playlists(
    client, alice, connect_spotify, sandbox
):
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)
    response = client.get(PICK)
    choices = choices_of(response)
    assert choices[DEMO_PLAYLISTS[50]].relation == "yours" and choices[DEMO_PLAYLISTS[50]].readable
    assert choices[COLLAB_PLAYLIST_ID].relation == "collaborative"
    assert choices[COLLAB_PLAYLIST_ID].readable
    followed = choices[OTHER_USER_PLAYLIST_ID]
    assert (followed.relation, followed.readable) == ("followed", False)
    page = response.content.decode()
    assert (
        "followed, not yours: Spotify lets this app read only playlists you own or "
        "collaborate on" in page
    )
    assert f'value="{OTHER_USER_PLAYLIST_ID}"' not in page  # not selectable
    assert response.context["readable_count"] == len(choices) - 1


def test_one_click_adds_the_playlist_and_ingests_it_with_the_users_token(
    client, alice, connect_spotify, sandbox, django_capture_on_commit_callbacks
):
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PICK, {"playlist": DEMO_PLAYLISTS[50]})
    run = IngestRun.objects.get()
    assert response.url == reverse("dashboard:run", args=[run.pk])
    assert run.parameters["spotify_user"] == alice.pk
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL), run.error
    assert UserPlaylist.objects.filter(user=alice, playlist_id=DEMO_PLAYLISTS[50]).exists()


def test_add_all_creates_every_readable_entry_and_run_in_one_post(
    client, alice, connect_spotify, sandbox, django_capture_on_commit_callbacks
):
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)
    readable = [c.playlist_id for c in client.get(PICK).context["choices"] if c.readable]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(PICK, {"all": "1"})
    assert response.url == reverse("dashboard:home")
    assert len(callbacks) == len(readable)  # one enqueue per run, after the commit
    assert sorted(UserPlaylist.objects.values_list("playlist_id", flat=True)) == sorted(readable)
    assert sorted(IngestRun.objects.values_list("playlist_id", flat=True)) == sorted(readable)
    assert OTHER_USER_PLAYLIST_ID not in readable


def test_a_picked_playlists_run_has_its_name_before_spotify_is_asked(
    client, alice, connect_spotify, sandbox, django_capture_on_commit_callbacks
):
    """If the run fails before Spotify names the playlist, its page (and the
    "needs attention" strip) still say which one: the listing knew (issue 16)."""
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)
    listed = choices_of(client.get(PICK))[DEMO_PLAYLISTS[50]].name
    with django_capture_on_commit_callbacks(execute=False):  # queued, not run
        client.post(PICK, {"playlist": DEMO_PLAYLISTS[50]})
    run = IngestRun.objects.get()
    assert listed and run.name == listed
    page = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    assert f"<h1>{escape(listed)}</h1>" in page


@pytest.mark.parametrize(
    "playlist_id",
    [OTHER_USER_PLAYLIST_ID, PRIVATE_PLAYLIST_ID, BOB_PUBLIC_PLAYLIST_ID],
    ids=["followed", "bob-private", "bob-public"],
)
def test_it_adds_only_what_the_listing_offers(client, alice, connect_spotify, sandbox, playlist_id):
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)
    response = client.post(PICK, {"playlist": playlist_id}, follow=True)
    assert "Choose at least one playlist this app can read" in response.content.decode()
    assert not UserPlaylist.objects.exists() and not IngestRun.objects.exists()


def test_alices_pick_page_does_not_list_bobs_playlists(
    client, alice, bob, connect_spotify, sandbox
):
    connect_spotify(alice, "sandbox-alice")
    connect_spotify(bob, "sandbox-bob")
    client.force_login(alice)
    listed = set(choices_of(client.get(PICK)))
    assert listed and not listed & {PRIVATE_PLAYLIST_ID, BOB_PUBLIC_PLAYLIST_ID}
    client.force_login(bob)
    assert PRIVATE_PLAYLIST_ID in choices_of(client.get(PICK))


def test_without_a_connection_the_pick_page_sends_to_connect(client, alice):
    client.force_login(alice)
    assert client.get(PICK).url == reverse("spotify")
