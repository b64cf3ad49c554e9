"""My playlists: the list, the add form, "remove from my list"."""

import datetime as dt
import functools

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserPlaylist
from devtools.sandbox import DEMO_PLAYLISTS
from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.models import IngestRun, RunStatus, Trigger
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest_run(ingest_run, alice):
    """Alice's runs (she asked for them): a run is shown to the person who asked."""
    return functools.partial(ingest_run, requested_by=alice)


HOME = reverse("dashboard:home")
ADD = reverse("dashboard:add")
GOOD_ID = "37abcdefghijklmnopqrst"  # 22 characters: a well-formed playlist id


def test_it_asks_anonymous_visitors_to_sign_in(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={HOME}"


def test_it_lists_the_users_playlists_with_their_facts(client, alice, loaded_playlist):
    playlist = loaded_playlist(
        alice,
        tracks=4,
        name="Road Trip",
        owner_name="Alice A.",
        image_url="https://i.example.com/cover.jpg",
    )
    client.force_login(alice)

    response = client.get(HOME)

    assert response.status_code == 200
    assert [row.playlist_id for row in response.context["rows"]] == [playlist.pk]
    assert response.context["rows"][0].track_count == 4
    page = response.content.decode()
    assert "Road Trip" in page
    assert "by Alice A." in page
    assert "4 tracks" in page
    assert 'src="https://i.example.com/cover.jpg"' in page
    assert reverse("dashboard:playlist", args=[playlist.pk]) in page
    assert "refreshed" in page


def test_it_counts_only_tracks_present_now(client, alice, loaded_playlist):
    from ingestion.pipeline import IngestResult, transform_and_load

    tracks = TrackFactory.build_batch(3)
    playlist = loaded_playlist(alice, track_list=tracks)
    # A later snapshot without the last track: that row is marked removed, not deleted.
    later = snapshot_of(tracks[:2], playlist_id=playlist.pk, name=playlist.name, snapshot_id="s2")
    transform_and_load(later, IngestResult(reference=playlist.pk))
    assert PlaylistTrack.objects.filter(playlist_id=playlist.pk).count() == 3
    client.force_login(alice)

    response = client.get(HOME)

    assert response.context["rows"][0].track_count == 2
    assert "2 tracks" in response.content.decode()


def test_it_shows_the_state_of_the_latest_run(client, alice, loaded_playlist, ingest_run):
    playlist = loaded_playlist(alice)
    ingest_run(playlist.pk, status=RunStatus.FAILED, error="old failure")
    latest = ingest_run(playlist.pk, status=RunStatus.RUNNING)
    client.force_login(alice)

    response = client.get(HOME)

    assert response.context["rows"][0].latest_run == latest
    assert f'href="{reverse("dashboard:run", args=[latest.pk])}"' in response.content.decode()
    assert ">Running</a>" in response.content.decode()


def test_it_lists_a_playlist_whose_first_ingest_is_still_running(client, alice, ingest_run):
    UserPlaylist.objects.create(user=alice, playlist_id=GOOD_ID)
    ingest_run(GOOD_ID, status=RunStatus.QUEUED, name="")
    client.force_login(alice)

    response = client.get(HOME)

    page = response.content.decode()
    assert GOOD_ID in page
    assert "not loaded yet" in page
    assert "0 tracks" in page
    assert ">Queued</a>" in page


def test_it_renders_script_in_names_and_descriptions_inert(client, alice, loaded_playlist):
    loaded_playlist(
        alice,
        name="<script>alert('name')</script>",
        description="<script>alert('description')</script>",
    )
    client.force_login(alice)

    page = client.get(HOME).content.decode()

    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in page
    # Descriptions are shown as text without their tags (issue 16: Spotify sends a few).
    assert '<p class="description">alert(&#x27;description&#x27;)</p>' in page


def test_descriptions_show_their_words_not_their_tags(client, alice, loaded_playlist):
    loaded_playlist(alice, description="<i>No skips.</i> Rock &amp; roll &lt;3")
    client.force_login(alice)

    page = client.get(HOME).content.decode()

    assert '<p class="description">No skips. Rock &amp; roll &lt;3</p>' in page
    assert "<i>" not in page


def _home_queries(client, user, django_assert_num_queries, count):
    client.force_login(user)
    # session, user, the list, its playlists, one track count query, one latest-run
    # query, the Spotify connection (for its "reconnect" banner)
    with django_assert_num_queries(count):
        response = client.get(HOME)
    return response


@pytest.mark.parametrize("playlists", [1, 5])
def test_it_makes_the_same_queries_for_one_or_many_playlists(
    client, alice, loaded_playlist, ingest_run, django_assert_num_queries, playlists
):
    for n in range(playlists):
        playlist = loaded_playlist(alice, tracks=n + 1)
        ingest_run(playlist.pk, status=RunStatus.FAILED)
        ingest_run(playlist.pk, status=RunStatus.SUCCEEDED)

    response = _home_queries(client, alice, django_assert_num_queries, 7)

    assert len(response.context["rows"]) == playlists
    assert all(row.latest_run.status == RunStatus.SUCCEEDED for row in response.context["rows"])


def test_an_empty_list_says_how_to_start(client, charlie):
    client.force_login(charlie)

    response = client.get(HOME)

    assert response.context["rows"] == []
    assert "Your list is empty" in response.content.decode()


# --- Adding a playlist ----------------------------------------------------------


def test_a_bad_reference_is_explained_inline_and_creates_nothing(client, alice):
    client.force_login(alice)

    response = client.post(ADD, {"reference": "https://open.spotify.com/album/abc"})

    assert response.status_code == 200
    assert "That is a Spotify album link, not a playlist." in response.content.decode()
    assert not UserPlaylist.objects.exists()
    assert not IngestRun.objects.exists()


def test_an_empty_reference_is_explained_inline(client, alice):
    client.force_login(alice)

    response = client.post(ADD, {"reference": ""})

    assert response.context["form"].errors["reference"] == ["This field is required."]
    assert not IngestRun.objects.exists()


def test_a_good_reference_lists_the_playlist_and_queues_a_run(
    client, alice, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(ADD, {"reference": f"spotify:playlist:{GOOD_ID}"})

    run = IngestRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("dashboard:run", args=[run.pk])
    assert (run.playlist_id, run.status, run.trigger) == (GOOD_ID, RunStatus.QUEUED, Trigger.WEB)
    assert run.requested_by == alice
    assert UserPlaylist.objects.filter(user=alice, playlist_id=GOOD_ID).exists()
    assert len(callbacks) == 1  # enqueued only once the rows commit


def test_adding_runs_the_ingest_end_to_end(
    client, alice, sandbox, connect_spotify, django_capture_on_commit_callbacks
):
    connect_spotify(alice)  # to sandbox-demo, who owns the playlist
    client.force_login(alice)
    playlist_id = DEMO_PLAYLISTS[50]  # 50 items: one page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD, {"reference": f"https://open.spotify.com/playlist/{playlist_id}"}
        )

    run = IngestRun.objects.get()
    assert response.url == reverse("dashboard:run", args=[run.pk])
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    assert Playlist.objects.filter(pk=playlist_id).exists()
    home = client.get(HOME)
    assert home.context["rows"][0].track_count == run.tracks_loaded > 0


def test_adding_a_playlist_being_ingested_goes_to_that_run(client, alice, ingest_run):
    active = ingest_run(GOOD_ID, status=RunStatus.RUNNING, name="Busy One")  # alice's
    client.force_login(alice)

    response = client.post(ADD, {"reference": GOOD_ID}, follow=True)

    assert response.redirect_chain == [(reverse("dashboard:run", args=[active.pk]), 302)]
    assert "Busy One is already being ingested" in response.content.decode()
    assert IngestRun.objects.count() == 1


def test_adding_a_playlist_someone_else_is_ingesting_makes_a_run_of_ones_own(
    client, alice, bob, ingest_run
):
    bobs = ingest_run(GOOD_ID, status=RunStatus.RUNNING, name="Busy One", requested_by=bob)
    client.force_login(alice)

    response = client.post(ADD, {"reference": GOOD_ID})

    alices = IngestRun.objects.exclude(pk=bobs.pk).get()
    assert (alices.requested_by, alices.status) == (alice, RunStatus.QUEUED)
    assert response.url == reverse("dashboard:run", args=[alices.pk])
    assert UserPlaylist.objects.filter(user=alice, playlist_id=GOOD_ID).exists()


def test_the_add_form_needs_a_post(client, alice):
    client.force_login(alice)

    assert client.get(ADD).status_code == 405


# --- Removing a playlist from the list ----------------------------------------------


def test_remove_deletes_only_the_users_entry(client, alice, bob, loaded_playlist):
    shared = loaded_playlist(alice, bob, tracks=2)
    client.force_login(alice)

    response = client.post(reverse("dashboard:remove", args=[shared.pk]), follow=True)

    assert response.redirect_chain == [(HOME, 302)]
    assert f"Removed {shared.name} from your list." in response.content.decode()
    assert not UserPlaylist.objects.filter(user=alice).exists()
    assert UserPlaylist.objects.filter(user=bob, playlist_id=shared.pk).exists()
    # The warehouse keeps the data.
    assert Playlist.objects.filter(pk=shared.pk).exists()
    assert PlaylistTrack.objects.filter(playlist_id=shared.pk).count() == 2


def test_remove_needs_a_post(client, alice, loaded_playlist):
    playlist = loaded_playlist(alice)
    client.force_login(alice)

    assert client.get(reverse("dashboard:remove", args=[playlist.pk])).status_code == 405
    assert UserPlaylist.objects.filter(user=alice).exists()


def test_the_refresh_time_is_the_last_ingest(client, alice, loaded_playlist):
    playlist = loaded_playlist(alice)
    Playlist.objects.filter(pk=playlist.pk).update(
        last_ingested_at=timezone.now() - dt.timedelta(days=3)
    )
    client.force_login(alice)

    assert ">3\xa0days ago</time>" in client.get(HOME).content.decode()
