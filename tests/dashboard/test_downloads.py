"""Downloads: a playlist as CSV, JSON or Parquet (as the track table shows it) and the whole
library as a ZIP of CSVs, one JSON or one Parquet; streamed, named safely, and only what the
person may see."""

import csv
import io
import zipfile

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from accounts import library
from dashboard.views.downloads import content_disposition
from devtools.synthetic.snapshots import TrackFactory
from tests.dashboard.conftest import downloaded_text

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "json", "parquet")
LIBRARY_FORMATS = ("zip", "json", "parquet")


def download(client, playlist_id, file_format, **params):
    return client.get(reverse("dashboard:download", args=[playlist_id, file_format]), params)


def csv_names(response):
    text = b"".join(response.streaming_content).decode()
    return [line["Track Name"] for line in csv.DictReader(io.StringIO(text, newline=""))]


@pytest.fixture
def road_trip(alice, loaded_playlist):
    tracks = [TrackFactory(name=name) for name in ("Charlie", "alpha", "Bravo", "Delta")]
    return loaded_playlist(alice, track_list=tracks, name="Road trip: été/2024")


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("json", "application/json"),
        ("parquet", "application/vnd.apache.parquet"),
    ],
)
def test_a_playlist_downloads_in_each_format(client, alice, road_trip, file_format, content_type):
    client.force_login(alice)

    response = download(client, road_trip.playlist_id, file_format)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="Road trip_ ete_2024.{file_format}"; '
        f"filename*=UTF-8''Road%20trip_%20%C3%A9t%C3%A9_2024.{file_format}"
    )
    assert "Charlie" in downloaded_text(response, file_format)


def test_the_download_follows_the_tables_search_and_sort(client, alice, road_trip):
    client.force_login(alice)
    pid = road_trip.playlist_id

    assert csv_names(download(client, pid, "csv")) == ["Charlie", "alpha", "Bravo", "Delta"]
    assert csv_names(download(client, pid, "csv", sort="track")) == [
        "alpha",
        "Bravo",
        "Charlie",
        "Delta",
    ]
    assert csv_names(download(client, pid, "csv", sort="track", dir="desc", q="a")) == [
        "Delta",
        "Charlie",
        "Bravo",
        "alpha",
    ]
    assert csv_names(download(client, pid, "csv", q="rav")) == ["Bravo"]
    json_doc = orjson.loads(b"".join(download(client, pid, "json", q="rav").streaming_content))
    assert [t["track_name"] for t in json_doc["tracks"]] == ["Bravo"]
    table = pq.read_table(
        pa.BufferReader(b"".join(download(client, pid, "parquet", q="rav").streaming_content))
    )
    assert table.column("track_name").to_pylist() == ["Bravo"]


def test_the_dashboard_links_to_downloads_of_what_the_table_shows(client, alice, road_trip):
    client.force_login(alice)
    page = client.get(
        reverse("dashboard:playlist", args=[road_trip.playlist_id]), {"q": "rav", "sort": "year"}
    )

    html = page.content.decode()
    url = reverse("dashboard:download", args=[road_trip.playlist_id, "parquet"])
    assert f'href="{url}?sort=year&amp;dir=asc&amp;q=rav"' in html
    assert "Download the 1 matching track," in html


def test_an_unknown_format_is_not_found(client, alice, road_trip):
    client.force_login(alice)
    assert download(client, road_trip.playlist_id, "xlsx").status_code == 404
    assert client.get(reverse("dashboard:library-download", args=["csv"])).status_code == 404


@pytest.mark.parametrize("file_format", FORMATS)
def test_another_persons_playlist_is_not_found_in_every_format(
    client, alice, bob, charlie, road_trip, file_format
):
    library.add_to_list(bob, road_trip.playlist_id)  # on his list, never loaded by him
    for someone in (bob, charlie):
        client.force_login(someone)
        assert download(client, road_trip.playlist_id, file_format).status_code == 404
    client.logout()
    response = download(client, road_trip.playlist_id, file_format)
    assert response.status_code == 302  # to the sign-in page


@pytest.fixture
def two_libraries(alice, bob, loaded_playlist):
    """Alice: two playlists of the same name and one with HTML in its name; bob: his own."""
    loaded_playlist(alice, track_list=[TrackFactory(name="Song A")], name="Mix")
    loaded_playlist(alice, track_list=[TrackFactory(name="Song B")], name="Mix")
    loaded_playlist(alice, track_list=[TrackFactory(name="Song C")], name="<b>Mix</b>?")
    bobs = loaded_playlist(bob, track_list=[TrackFactory(name="Bob's song")], name="Bob's")
    library.add_to_list(alice, bobs.playlist_id)  # on her list, not hers to see
    return bobs


def library_download(client, file_format):
    return client.get(reverse("dashboard:library-download", args=[file_format]))


def test_the_library_zip_holds_one_csv_per_visible_playlist(client, alice, two_libraries):
    client.force_login(alice)

    response = library_download(client, "zip")

    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="playlists-')
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        names = sorted(archive.namelist())
        songs = sorted(
            row["Track Name"]
            for name in names
            for row in csv.DictReader(io.StringIO(archive.read(name).decode(), newline=""))
        )
    assert names == ["Mix (2).csv", "Mix.csv", "_b_Mix_b_.csv"]
    assert songs == ["Song A", "Song B", "Song C"]


@pytest.mark.parametrize("file_format", LIBRARY_FORMATS)
def test_the_library_holds_only_visible_playlists(client, alice, two_libraries, file_format):
    client.force_login(alice)

    text = downloaded_text(library_download(client, file_format), file_format)

    assert "Song A" in text and "Song B" in text and "Song C" in text
    assert "Bob's song" not in text and two_libraries.playlist_id not in text


def test_the_library_json_and_parquet_hold_every_visible_playlist(client, alice, two_libraries):
    client.force_login(alice)

    document = orjson.loads(b"".join(library_download(client, "json").streaming_content))
    table = pq.read_table(
        pa.BufferReader(b"".join(library_download(client, "parquet").streaming_content))
    )

    assert sorted(p["name"] for p in document) == ["<b>Mix</b>?", "Mix", "Mix"]
    assert sorted(table.column("track_name").to_pylist()) == ["Song A", "Song B", "Song C"]


def test_someone_with_nothing_to_see_downloads_empty_files(client, charlie):
    client.force_login(charlie)
    assert orjson.loads(b"".join(library_download(client, "json").streaming_content)) == []
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(library_download(client, "zip").streaming_content))
    )
    assert archive.namelist() == []


def test_home_and_overview_link_to_the_library_downloads(client, alice, road_trip):
    client.force_login(alice)
    url = reverse("dashboard:library-download", args=["zip"])
    for page in ("dashboard:home", "dashboard:overview"):
        assert url in client.get(reverse(page)).content.decode(), page


def test_home_has_no_library_downloads_before_anything_is_loaded(client, charlie):
    client.force_login(charlie)
    html = client.get(reverse("dashboard:home")).content.decode()
    assert reverse("dashboard:library-download", args=["zip"]) not in html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mix.csv", "attachment; filename=\"mix.csv\"; filename*=UTF-8''mix.csv"),
        ("Björk.csv", "attachment; filename=\"Bjork.csv\"; filename*=UTF-8''Bj%C3%B6rk.csv"),
        (
            "日本.json",
            "attachment; filename=\"download.json\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.json",
        ),
        ('a"b.csv', "attachment; filename=\"a_b.csv\"; filename*=UTF-8''a%22b.csv"),
    ],
)
def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name(name, expected):
    assert content_disposition(name) == expected
