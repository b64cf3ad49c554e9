"""The upload page: export files in, playlists on the uploader's list (and nobody else's)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dashboard.models import UserPlaylist
from tests.ingestion.files.builders import (
    classic_row,
    export_playlist,
    export_track_item,
    write_csv,
    write_export_zip,
)
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:upload")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def _upload(client, name, content):
    return client.post(URL, {"file": SimpleUploadedFile(name, content)})


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
    assert "Exportify" in page and "20 MB" in page


def test_an_export_json_lists_its_playlists_for_the_uploader(client, alice):
    client.force_login(alice)
    other = export_playlist("Focus", [export_track_item(9)])
    response = _upload(client, "Playlist1.json", _export_json(_road_trip(), other))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:home")
    listed = set(UserPlaylist.objects.filter(user=alice).values_list("playlist_id", flat=True))
    assert {p.name for p in Playlist.objects.filter(pk__in=listed)} == {"Road trip", "Focus"}
    assert PlaylistTrack.objects.filter(playlist_id__in=listed).count() == 4
    home = client.get(reverse("dashboard:home")).content.decode()
    assert "Road trip" in home and "Focus" in home
    assert "Imported 2 playlists (4 tracks) from Playlist1.json." in home


def test_a_zip_export_and_an_exportify_csv_are_imported(client, alice, tmp_path):
    client.force_login(alice)
    archive = write_export_zip(tmp_path / "my_spotify_data.zip", {"Playlist1.json": [_road_trip()]})
    assert _upload(client, "my_spotify_data.zip", archive.read_bytes()).status_code == 302
    csv_file = write_csv(tmp_path / "Night drive.csv", [classic_row(1), classic_row(2)])
    assert _upload(client, "Night drive.csv", csv_file.read_bytes()).status_code == 302
    names = set(
        Playlist.objects.filter(
            pk__in=UserPlaylist.objects.filter(user=alice).values("playlist_id")
        ).values_list("name", flat=True)
    )
    assert names == {"Road trip", "Night drive"}


def test_the_upload_is_kept_in_the_users_private_folder(client, alice, data_dir):
    client.force_login(alice)
    _upload(client, "Playlist1.json", _export_json(_road_trip()))
    (saved,) = (data_dir / "uploads" / str(alice.pk)).glob("*/Playlist1.json")
    assert saved.stat().st_mode & 0o077 == 0
    assert saved.parent.stat().st_mode & 0o077 == 0


def test_uploading_the_same_file_again_updates_instead_of_duplicating(client, alice):
    client.force_login(alice)
    _upload(client, "Playlist1.json", _export_json(_road_trip()))
    _upload(client, "Playlist1.json", _export_json(_road_trip()))
    assert UserPlaylist.objects.filter(user=alice).count() == 1
    assert Playlist.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("Playlist1.json", b'{"playlists": [{"name": "Cut', "not valid JSON"),
        ("Playlist1.json", b'{"something": "else"}', "Playlist1.json"),
        ("broken.zip", b"not a zip at all", "is not a ZIP archive"),
        ("columns.csv", b"Name,Artist\nx,y\n", "columns.csv"),
        ("notes.txt", b"hello", "is not a file this page imports"),
        ("mpd.slice.0-999.json", b'{"info": {}, "playlists": []}', "Million Playlist Dataset"),
        ("Playlist1.json", b"", "is empty"),
    ],
)
def test_a_bad_file_shows_an_inline_error_and_loads_nothing(
    client, alice, data_dir, name, content, message
):
    client.force_login(alice)
    response = _upload(client, name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="errorlist"' in page
    assert message in page
    assert not UserPlaylist.objects.exists()
    assert not Playlist.objects.exists()
    assert not PlaylistTrack.objects.exists()
    # The refused file is not kept.
    assert not list(data_dir.glob("uploads/*/*/*"))


def test_an_mpd_slice_under_another_name_is_refused_too(client, alice):
    client.force_login(alice)
    slice_like = {"info": {"slice": "0-0"}, "playlists": [{"pid": 1, "name": "x", "tracks": []}]}
    response = _upload(client, "Playlist1.json", json.dumps(slice_like).encode())
    assert response.status_code == 400
    assert "Million Playlist Dataset" in response.content.decode()
    assert not Playlist.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, alice, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    client.force_login(alice)
    response = _upload(client, "Playlist1.json", _export_json(_road_trip()) + b" " * 2048)
    assert response.status_code == 400
    assert "over the upload limit of 0.0 MB" in response.content.decode()
    assert not Playlist.objects.exists()
    assert not (settings.DATA_DIR / "uploads").exists()


def test_a_request_far_over_the_limit_is_refused_from_its_length(client, alice, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    client.force_login(alice)
    response = _upload(client, "Playlist1.json", b" " * 200_000)
    assert response.status_code == 400
    assert "over the upload limit" in response.content.decode()
    assert not (settings.DATA_DIR / "uploads").exists()


def test_another_user_does_not_see_the_uploaded_playlists(client, alice, bob):
    client.force_login(alice)
    _upload(client, "Playlist1.json", _export_json(_road_trip()))
    (entry,) = UserPlaylist.objects.filter(user=alice)
    client.force_login(bob)
    assert "Road trip" not in client.get(reverse("dashboard:home")).content.decode()
    assert client.get(reverse("dashboard:playlist", args=[entry.playlist_id])).status_code == 404
    # Bob's own upload of the same file is his own playlist, not alice's.
    _upload(client, "Playlist1.json", _export_json(_road_trip()))
    (bobs,) = UserPlaylist.objects.filter(user=bob)
    assert bobs.playlist_id != entry.playlist_id


def test_the_home_page_links_to_the_upload_page(alice, client):
    client.force_login(alice)
    response = client.get(reverse("dashboard:home"))
    assert reverse("dashboard:upload").encode() in response.content
