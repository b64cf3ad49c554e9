"""Enrichment in the web app: the upload's "fill in from Spotify" option, and the
dashboard of an imported playlist saying what its file lacks and offering to fill
it in. The queue runs inline (test settings); the sandbox answers over HTTP."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import UserPlaylist
from devtools.synthetic.exports import (
    catalog_tracks,
    export_item,
    export_playlist,
    export_track_item,
)
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db
UPLOAD = reverse("dashboard:upload")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def export_file(sandbox):
    """Playlist1.json with two sandbox catalog tracks and one Spotify does not know."""
    catalog = sandbox.catalog
    several, single, _ = catalog_tracks(catalog)
    items = [export_item(catalog, several), export_item(catalog, single), export_track_item(999)]
    return json.dumps({"playlists": [export_playlist("Road trip", items)]}).encode()


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    def post(content, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                UPLOAD, {"file": SimpleUploadedFile("Playlist1.json", content), **fields}
            )

    return post


def _dashboard(client, playlist_id):
    return client.get(reverse("dashboard:playlist", args=[playlist_id])).content.decode()


def test_an_upload_with_fill_in_enriches_each_imported_playlist(
    client, alice, upload, export_file, connect_spotify
):
    connect_spotify(alice)
    client.force_login(alice)
    assert "Fill in durations, release dates and genres" in client.get(UPLOAD).content.decode()
    upload(export_file, enrich="on")
    file_run = IngestRun.objects.get(kind=Kind.FILE)
    enrichment = IngestRun.objects.get(kind=Kind.ENRICH)
    (entry,) = UserPlaylist.objects.filter(user=alice)
    assert file_run.status == RunStatus.SUCCEEDED
    assert "enrichment queued for 1 playlist(s)" in file_run.log
    assert (enrichment.playlist_id, enrichment.trigger, enrichment.requested_by) == (
        entry.playlist_id,
        Trigger.WEB,
        alice,
    )
    assert enrichment.parameters["spotify_user"] == alice.pk
    # Two tracks found, the third unknown to Spotify: partial, and it says so.
    assert enrichment.status == RunStatus.PARTIAL and "could not find 1" in enrichment.error
    assert enrichment.rows_updated == 2
    rows = PlaylistTrack.objects.filter(playlist_id=entry.playlist_id)
    assert rows.filter(track_duration_ms__isnull=False).count() == 2
    page = _dashboard(client, entry.playlist_id)
    assert "1 has no length" in page
    assert "Spotify has nothing more to add" in page


def test_without_fill_in_the_dashboard_says_what_is_missing_and_offers_it(
    client, alice, upload, export_file, django_capture_on_commit_callbacks
):
    client.force_login(alice)  # not connected: the app's own credentials will do
    upload(export_file)
    assert not IngestRun.objects.filter(kind=Kind.ENRICH).exists()
    (entry,) = UserPlaylist.objects.filter(user=alice)
    page = _dashboard(client, entry.playlist_id)
    assert "Of its 3 tracks, 3 have no length, 3 no release date and 3 no genre" in page
    assert "Fill in from Spotify" in page and "3 tracks to look up" in page
    enrich_url = reverse("dashboard:enrich", args=[entry.playlist_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(enrich_url)
    run = IngestRun.objects.get(kind=Kind.ENRICH)
    assert response["Location"] == reverse("dashboard:run", args=[run.pk])
    assert run.status == RunStatus.PARTIAL and "spotify_user" not in run.parameters
    run_page = client.get(response["Location"]).content.decode()
    assert "2 of 3 tracks filled in from Spotify." in run_page
    status = client.get(reverse("dashboard:run-status", args=[run.pk])).json()
    assert status["playlist_url"] == reverse("dashboard:playlist", args=[entry.playlist_id])


def test_an_active_enrichment_is_followed_not_started_twice(
    client, alice, upload, export_file, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    upload(export_file)
    (entry,) = UserPlaylist.objects.filter(user=alice)
    enrich_url = reverse("dashboard:enrich", args=[entry.playlist_id])
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(enrich_url)
        second = client.post(enrich_url)
    assert first["Location"] == second["Location"]
    run = IngestRun.objects.get(kind=Kind.ENRICH)
    assert run.status == RunStatus.QUEUED
    assert "follow the enrichment" in _dashboard(client, entry.playlist_id)


def test_without_any_way_to_ask_spotify_it_says_to_connect(
    client, alice, upload, export_file, settings
):
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = ""
    client.force_login(alice)
    assert "Fill in durations" not in client.get(UPLOAD).content.decode()
    upload(export_file, enrich="on")  # the option is not offered: ignored
    assert not IngestRun.objects.filter(kind=Kind.ENRICH).exists()
    (entry,) = UserPlaylist.objects.filter(user=alice)
    page = _dashboard(client, entry.playlist_id)
    assert "Connect Spotify</a> to fill them in" in page
    assert "Fill in from Spotify" not in page


def test_only_the_users_own_file_playlists_can_be_enriched(
    client, alice, bob, upload, export_file, loaded_playlist
):
    client.force_login(alice)
    upload(export_file)
    (entry,) = UserPlaylist.objects.filter(user=alice)
    from_api = loaded_playlist(alice)
    assert client.post(reverse("dashboard:enrich", args=[from_api.pk])).status_code == 404
    assert "missing-details" not in _dashboard(client, from_api.pk)
    client.force_login(bob)
    assert client.post(reverse("dashboard:enrich", args=[entry.playlist_id])).status_code == 404
    assert not IngestRun.objects.filter(kind=Kind.ENRICH).exists()
