"""The upload page: export files in as queued file-import runs, playlists on the
uploader's list (and nobody else's).

The test settings run queued tasks inline (django-q2 `sync`), so executing the
on-commit callbacks runs the import within the request, like a worker would.
"""

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserPlaylist
from devtools.synthetic.exports import (
    classic_row,
    export_playlist,
    export_track_item,
    write_csv,
    write_export_zip,
)
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:upload")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """POST a file to the upload page, running its queued import as a worker would."""

    def post(name, content):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, {"file": SimpleUploadedFile(name, content)})

    return post


def _run_of(response):
    assert response.status_code == 302, response.content.decode()[:500]
    run = IngestRun.objects.get()
    assert response["Location"] == reverse("dashboard:run", args=[run.pk])
    return run


def _export_json(*playlists):
    return json.dumps({"playlists": list(playlists)}).encode()


def _road_trip():
    return export_playlist("Road trip", [export_track_item(n) for n in range(1, 4)])


def test_it_needs_a_signed_in_user(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_page_shows_the_form_and_the_limits(client, alice):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "Exportify" in page and "50 MB" in page


def test_an_upload_is_a_file_run_that_lists_its_playlists_for_the_uploader(client, alice, upload):
    client.force_login(alice)
    other = export_playlist("Focus", [export_track_item(9)])
    run = _run_of(upload("Playlist1.json", _export_json(_road_trip(), other)))
    assert (run.kind, run.trigger, run.requested_by, run.name) == (
        Kind.FILE,
        Trigger.WEB,
        alice,
        "Playlist1.json",
    )
    assert run.status == RunStatus.SUCCEEDED
    assert (run.playlists_done, run.playlists_total, run.tracks_loaded) == (2, 2, 4)
    listed = set(UserPlaylist.objects.filter(user=alice).values_list("playlist_id", flat=True))
    assert {p.name for p in Playlist.objects.filter(pk__in=listed)} == {"Road trip", "Focus"}
    assert {p["playlist_id"] for p in run.playlists} == listed
    assert PlaylistTrack.objects.filter(playlist_id__in=listed).count() == 4
    page = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    assert "2 playlists (4 tracks) imported from Playlist1.json." in page
    for playlist_id in listed:
        assert reverse("dashboard:playlist", args=[playlist_id]) in page
    home = client.get(reverse("dashboard:home")).content.decode()
    assert "Road trip" in home and "Focus" in home


def test_the_run_status_leads_to_the_dashboard_of_a_files_only_playlist(client, alice, upload):
    client.force_login(alice)
    run = _run_of(upload("Playlist1.json", _export_json(_road_trip())))
    status = client.get(reverse("dashboard:run-status", args=[run.pk])).json()
    (entry,) = UserPlaylist.objects.filter(user=alice)
    assert status["kind"] == "file" and status["done"] and status["final"]
    assert status["playlist_url"] == reverse("dashboard:playlist", args=[entry.playlist_id])
    assert status["can_retry"] is False


def test_a_queued_upload_shows_its_progress_page(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            URL, {"file": SimpleUploadedFile("Playlist1.json", _export_json(_road_trip()))}
        )
    run = _run_of(response)
    assert run.status == RunStatus.QUEUED
    page = client.get(response["Location"]).content.decode()
    # Wording changed (issue 16, docs/wording.md): "Import of a file", not "File import run".
    assert "Import of a file" in page and "lists the imported playlists" in page
    assert reverse("dashboard:run-status", args=[run.pk]) in page
    assert not Playlist.objects.exists()


def test_a_zip_export_and_an_exportify_csv_are_imported(client, alice, upload, tmp_path):
    client.force_login(alice)
    archive = write_export_zip(tmp_path / "my_spotify_data.zip", {"Playlist1.json": [_road_trip()]})
    assert upload("my_spotify_data.zip", archive.read_bytes()).status_code == 302
    csv_file = write_csv(tmp_path / "Night drive.csv", [classic_row(1), classic_row(2)])
    assert upload("Night drive.csv", csv_file.read_bytes()).status_code == 302
    names = set(
        Playlist.objects.filter(
            pk__in=UserPlaylist.objects.filter(user=alice).values("playlist_id")
        ).values_list("name", flat=True)
    )
    assert names == {"Road trip", "Night drive"}
    assert set(IngestRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}


def test_the_upload_waits_in_the_users_private_folder_and_goes_once_imported(
    client, alice, data_dir, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(URL, {"file": SimpleUploadedFile("Playlist1.json", _export_json(_road_trip()))})
    (saved,) = (data_dir / "uploads" / str(alice.pk)).glob("*/Playlist1.json")
    assert saved.stat().st_mode & 0o077 == 0
    assert saved.parent.stat().st_mode & 0o077 == 0
    for callback in queued:
        callback()
    assert IngestRun.objects.get().status == RunStatus.SUCCEEDED
    assert not saved.parent.exists()


def test_uploading_the_same_file_again_updates_instead_of_duplicating(client, alice, upload):
    client.force_login(alice)
    upload("Playlist1.json", _export_json(_road_trip()))
    upload("Playlist1.json", _export_json(_road_trip()))
    assert UserPlaylist.objects.filter(user=alice).count() == 1
    assert Playlist.objects.count() == 1
    first, second = IngestRun.objects.order_by("pk")
    assert (first.status, first.rows_inserted) == (RunStatus.SUCCEEDED, 3)
    assert (second.status, second.rows_inserted, second.rows_updated) == (
        RunStatus.UNCHANGED,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", "is not a file this page imports"),
        ("mpd.slice.0-999.json", b'{"info": {}, "playlists": []}', "Million Playlist Dataset"),
        ("Playlist1.json", b"", "is empty"),
        ("Playlist1.json", b"\x00\x01 binary", "is not a file this app imports"),
    ],
)
def test_a_file_that_is_not_an_export_shows_an_inline_error(
    client, alice, upload, data_dir, name, content, message
):
    client.force_login(alice)
    response = upload(name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="errorlist"' in page
    assert message in page
    assert not IngestRun.objects.exists()
    assert not Playlist.objects.exists()
    # The refused file is not kept.
    assert not list(data_dir.glob("uploads/*/*/*"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("Playlist1.json", b'{"playlists": [{"name": "Cut', "not valid JSON"),
        ("Playlist1.json", b'{"something": "else"}', "has no “playlists” list"),
        ("broken.zip", b"not a zip at all", "is not a ZIP archive"),
        ("columns.csv", b"Name,Artist\nx,y\n", "is missing the column(s)"),
    ],
)
def test_a_damaged_export_fails_its_run_with_the_reason_and_loads_nothing(
    client, alice, upload, data_dir, name, content, message
):
    client.force_login(alice)
    run = _run_of(upload(name, content))
    assert run.status == RunStatus.FAILED
    assert message in run.error
    page = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    assert message in page.replace("&quot;", '"')
    assert "Upload another file" in page and "Try again" not in page
    assert not UserPlaylist.objects.exists()
    assert not Playlist.objects.exists()
    assert not PlaylistTrack.objects.exists()
    assert not list(data_dir.glob("uploads/*/*/*"))


def test_an_mpd_slice_under_another_name_is_refused_too(client, alice, upload):
    client.force_login(alice)
    slice_like = {"info": {"slice": "0-0"}, "playlists": [{"pid": 1, "name": "x", "tracks": []}]}
    response = upload("Playlist1.json", json.dumps(slice_like).encode())
    assert response.status_code == 400
    assert "Million Playlist Dataset" in response.content.decode()
    assert not Playlist.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, alice, upload, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    client.force_login(alice)
    response = upload("Playlist1.json", _export_json(_road_trip()) + b" " * 2048)
    assert response.status_code == 400
    assert "over the upload limit of 0.0 MB" in response.content.decode()
    assert not Playlist.objects.exists()
    assert not (settings.DATA_DIR / "uploads").exists()


def test_a_request_far_over_the_limit_is_refused_from_its_length(client, alice, upload, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    client.force_login(alice)
    response = upload("Playlist1.json", b" " * 200_000)
    assert response.status_code == 400
    assert "over the upload limit" in response.content.decode()
    assert not (settings.DATA_DIR / "uploads").exists()


def test_another_user_sees_neither_the_playlists_nor_the_run(client, alice, bob, upload):
    client.force_login(alice)
    run = _run_of(upload("Playlist1.json", _export_json(_road_trip())))
    (entry,) = UserPlaylist.objects.filter(user=alice)
    client.force_login(bob)
    assert "Road trip" not in client.get(reverse("dashboard:home")).content.decode()
    assert client.get(reverse("dashboard:playlist", args=[entry.playlist_id])).status_code == 404
    assert client.get(reverse("dashboard:run", args=[run.pk])).status_code == 404
    assert client.get(reverse("dashboard:run-status", args=[run.pk])).status_code == 404
    # Bob's own upload of the same file is his own playlist, not alice's.
    upload("Playlist1.json", _export_json(_road_trip()))
    (bobs,) = UserPlaylist.objects.filter(user=bob)
    assert bobs.playlist_id != entry.playlist_id


def test_the_home_page_links_to_the_upload_page(alice, client):
    client.force_login(alice)
    response = client.get(reverse("dashboard:home"))
    assert reverse("dashboard:upload").encode() in response.content


def _age_uploads(minutes):
    """Move every upload back in time (the limits look at the last hour)."""
    for run in IngestRun.objects.all():
        IngestRun.objects.filter(pk=run.pk).update(
            queued_at=run.queued_at - dt.timedelta(minutes=minutes)
        )


def test_uploads_past_the_hourly_count_are_refused_until_the_oldest_ages_out(
    client, alice, bob, upload, settings, data_dir
):
    settings.UPLOADS_PER_HOUR = 2
    client.force_login(alice)
    for number in (1, 2):
        _run_of_latest(upload(f"Playlist{number}.json", _export_json(_road_trip())))
    _age_uploads(50)  # the two were uploaded 50 minutes ago
    refused = upload("Playlist3.json", _export_json(_road_trip()))
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "You have uploaded 2 file(s)" in text and "limit of 2 files" in text
    oldest = IngestRun.objects.order_by("queued_at").first().queued_at
    again = timezone.localtime(oldest + dt.timedelta(hours=1))
    assert f"You can upload it again from {again:%H:%M} (in 10 minutes)" in text
    assert 9 * 60 <= int(refused["Retry-After"]) <= 10 * 60
    assert IngestRun.objects.count() == 2
    assert len(list((data_dir / "uploads" / str(alice.pk)).glob("*/*"))) == 0
    client.force_login(bob)  # limits are per person
    assert upload("Playlist1.json", _export_json(_road_trip())).status_code == 302
    client.force_login(alice)
    _age_uploads(11)  # an hour and a minute after the first two
    assert upload("Playlist3.json", _export_json(_road_trip())).status_code == 302


def test_uploads_past_the_hourly_bytes_are_refused(client, alice, upload, settings):
    content = _export_json(_road_trip())
    settings.UPLOAD_BYTES_PER_HOUR = 3 * len(content)
    client.force_login(alice)
    run = _run_of_latest(upload("Playlist1.json", content))
    assert run.parameters["upload_bytes"] == len(content)
    refused = upload("Playlist2.json", content + b" " * (2 * len(content)))
    assert refused.status_code == 429
    assert "per hour" in refused.content.decode()
    assert IngestRun.objects.count() == 1
    settings.UPLOAD_BYTES_PER_HOUR = len(content) // 2
    alone = upload("Playlist2.json", content)
    assert alone.status_code == 429
    assert "UPLOAD_BYTES_PER_HOUR" in alone.content.decode()
    assert "Retry-After" not in alone


def _run_of_latest(response):
    assert response.status_code == 302, response.content.decode()[:500]
    return IngestRun.objects.latest("queued_at")
