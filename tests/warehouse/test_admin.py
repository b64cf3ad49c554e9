import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def loaded_playlist():
    kept, dropped = TrackFactory(name="<script>alert(1)</script>"), TrackFactory(name="Gone Song")
    first = snapshot_of([kept, dropped], name="Road <b>trip</b>", snapshot_id="s1")
    load_playlist(first, transform_snapshot(first).rows, now=NOW)
    second = snapshot_of([kept], playlist_id=first.playlist_id, name=first.name, snapshot_id="s2")
    load_playlist(second, transform_snapshot(second).rows, now=NOW + dt.timedelta(days=1))
    return second


def test_the_playlist_list_shows_present_track_counts(admin_client, loaded_playlist):
    response = admin_client.get(reverse("admin:warehouse_playlist_changelist"))
    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    assert row.present_count == 1
    assert b"Road &lt;b&gt;trip&lt;/b&gt;" in response.content


def test_a_playlist_page_lists_its_tracks_escaped_and_marks_removed_ones(
    admin_client, loaded_playlist
):
    url = reverse("admin:warehouse_playlist_change", args=[loaded_playlist.playlist_id])
    response = admin_client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)" not in content
    assert "Gone Song — Artist" in content and "[removed]" in content


def test_the_versions_list_shows_each_version_read_only(admin_client, loaded_playlist):
    response = admin_client.get(reverse("admin:warehouse_playlistversion_changelist"))
    assert response.status_code == 200
    versions = [(v.version, v.added, v.removed) for v in response.context["cl"].result_list]
    assert versions == [(2, 0, 1), (1, 2, 0)]
    assert admin_client.get(reverse("admin:warehouse_playlistversion_add")).status_code == 403


def test_a_playlist_page_numbers_present_tracks_from_one(admin_client, loaded_playlist):
    url = reverse("admin:warehouse_playlist_change", args=[loaded_playlist.playlist_id])
    content = admin_client.get(url).content.decode()
    assert "<div>1. &lt;script&gt;" in content and "<div>–. Gone Song" in content


def test_the_warehouse_cannot_be_edited_from_the_admin(admin_client, loaded_playlist):
    assert admin_client.get(reverse("admin:warehouse_playlist_add")).status_code == 403
    assert admin_client.get(reverse("admin:warehouse_artist_add")).status_code == 403


def test_the_track_rows_list_searches_and_filters(admin_client, loaded_playlist):
    url = reverse("admin:warehouse_playlisttrackrow_changelist")
    response = admin_client.get(url, {"q": loaded_playlist.playlist_id})
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert len(rows) == 2
    assert b"&lt;script&gt;" in response.content
    removed = admin_client.get(url, {"present": "no"}).context["cl"].result_list
    assert [row.track_name for row in removed] == ["Gone Song"]
    present = admin_client.get(url, {"present": "yes", "q": "Gone"}).context["cl"].result_list
    assert list(present) == []


def changelist_sql(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:warehouse_playlisttrackrow_changelist"), params)
    assert response.status_code == 200
    return " ".join(query["sql"] for query in queries.captured_queries)


@pytest.mark.postgres_only
def test_the_unfiltered_track_list_does_not_count_the_whole_table(admin_client, loaded_playlist):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE playlist_tracks")
    count = 'SELECT COUNT(*) AS "__count" FROM "playlist_tracks_admin"'
    unfiltered = changelist_sql(admin_client)
    assert "reltuples" in unfiltered
    assert count not in unfiltered
    # A filtered page counts what the filter leaves.
    assert count in changelist_sql(admin_client, present="no")
