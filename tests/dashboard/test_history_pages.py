"""The History tab (versions, size chart), its JSON, and the diff page."""

import datetime as dt
import io

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse.exports import CSV_HEADER
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def changing_playlist(loaded_playlist, alice):
    """alice's playlist in three versions: 3 tracks; one added at the top; renamed, one removed."""
    tracks = TrackFactory.create_batch(3)
    playlist = loaded_playlist(alice, track_list=tracks, name="Mix", snapshot_id="s1")
    newcomer = TrackFactory(name="Newcomer")
    for n, (items, name) in enumerate(
        [([newcomer, *tracks], "Mix"), ([newcomer, tracks[0], tracks[2]], "Mix II")], start=1
    ):
        snapshot = snapshot_of(items, playlist_id=playlist.pk, name=name, snapshot_id=f"s{n + 1}")
        load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0 + dt.timedelta(days=n))
    return playlist, tracks, newcomer


def test_the_history_lists_versions_newest_first_with_a_size_chart(
    client, alice, changing_playlist
):
    playlist, _, _ = changing_playlist
    client.force_login(alice)
    response = client.get(reverse("dashboard:history", args=[playlist.pk]))
    assert response.status_code == 200
    versions = response.context["versions"]
    assert [(v["version"], v["tracks"], v["added"], v["removed"]) for v in versions] == [
        (3, 3, 0, 1),
        (2, 4, 1, 0),
        (1, 3, 3, 0),
    ]
    assert versions[0]["renamed"] and not versions[1]["renamed"]
    assert response.context["chart_data"]["charts"][0]["values"] == [3, 4, 3]
    html = response.content.decode()
    assert "renamed “Mix II”" in html
    assert f"{reverse('dashboard:diff', args=[playlist.pk])}?from=2&amp;to=3" in html
    dashboard = client.get(reverse("dashboard:playlist", args=[playlist.pk])).content.decode()
    assert reverse("dashboard:history", args=[playlist.pk]) in dashboard


def test_the_versions_json(client, alice, changing_playlist):
    playlist, _, _ = changing_playlist
    client.force_login(alice)
    data = client.get(reverse("dashboard:history", args=[playlist.pk]), {"format": "json"}).json()
    assert [v["version"] for v in data["versions"]] == [1, 2, 3]
    assert data["versions"][2]["name"] == "Mix II"


def test_the_diff_shows_added_removed_and_moved(client, alice, changing_playlist):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    url = reverse("dashboard:diff", args=[playlist.pk])

    def listed(kind):
        response = client.get(url, {"from": 1, "to": 3, "kind": kind})
        return [row["track_id"] for row in response.context["table"]["page"].rows]

    assert listed("added") == [newcomer.id]
    assert listed("removed") == [tracks[1].id]
    assert listed("moved") == []
    kinds = client.get(url, {"from": 1, "to": 3}).context["kinds"]
    assert [(k["key"], k["count"]) for k in kinds] == [("added", 1), ("removed", 1), ("moved", 0)]
    # No parameters: the latest version against the one before; out-of-range numbers are clamped.
    default = client.get(url).context["diff"]
    assert (default.from_version, default.to_version) == (2, 3)
    clamped = client.get(url, {"from": "-4", "to": "99"}).context["diff"]
    assert (clamped.from_version, clamped.to_version) == (1, 3)
    html = client.get(url, {"from": 1, "to": 2}).content.decode()
    assert "Newcomer" in html and "Added: 1" in html


def test_the_diff_table_sorts_searches_and_pages_on_the_server(client, alice, loaded_playlist):
    """Like the track table: sort links, a search form and pages that keep the
    two versions and the kind; and the same page as JSON."""
    base = TrackFactory.create_batch(2)
    playlist = loaded_playlist(alice, track_list=base, name="Grows", snapshot_id="s1")
    added = [TrackFactory(name=f"Song {n:02d}") for n in range(30)]
    snapshot = snapshot_of([*base, *added], playlist_id=playlist.pk, name="Grows", snapshot_id="s2")
    load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0 + dt.timedelta(days=1))
    client.force_login(alice)
    url = reverse("dashboard:diff", args=[playlist.pk])
    first = client.get(url, {"from": 1, "to": 2, "size": 25})
    page = first.context["table"]["page"]
    assert (page.total, page.pages, len(page.rows)) == (30, 2, 25)
    assert [row["position"] for row in page.rows] == list(range(2, 27))
    html = first.content.decode()
    assert "sort=track" in html and "kind=added" in html  # links keep the diff
    assert '<input type="hidden" name="from" value="1">' in html
    by_name = client.get(
        url, {"from": 1, "to": 2, "sort": "track", "dir": "desc", "page": 2, "size": 25}
    ).context["table"]["page"]
    assert [row["track_name"] for row in by_name.rows] == [
        f"Song {n:02d}" for n in range(4, -1, -1)
    ]
    data = client.get(url, {"from": 1, "to": 2, "q": "song 1", "format": "json"}).json()
    assert (data["total"], data["counts"]) == (10, {"added": 30, "removed": 0, "moved": 0})
    assert [row["track_name"] for row in data["rows"]] == [f"Song {n}" for n in range(10, 20)]


def test_another_person_gets_404_on_every_history_page(client, bob, changing_playlist):
    playlist, _, _ = changing_playlist
    client.force_login(bob)  # bob has no entry for it
    for url, params in (
        (reverse("dashboard:history", args=[playlist.pk]), {}),
        (reverse("dashboard:history", args=[playlist.pk]), {"format": "json"}),
        (reverse("dashboard:diff", args=[playlist.pk]), {"from": 1, "to": 3}),
        (reverse("dashboard:diff", args=[playlist.pk]), {"kind": "moved", "format": "json"}),
        (reverse("dashboard:version-json", args=[playlist.pk, 1]), {}),
        (reverse("dashboard:version-csv", args=[playlist.pk, 1]), {}),
        (reverse("dashboard:version-parquet", args=[playlist.pk, 1]), {}),
    ):
        assert client.get(url, params).status_code == 404, url


def test_the_dashboard_as_of_a_version_shows_that_state(client, alice, changing_playlist):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    url = reverse("dashboard:playlist", args=[playlist.pk])
    now = client.get(url)
    assert now.context["headline"].tracks == 3 and now.context["as_of"]["version"] is None
    then = client.get(url, {"version": 2})
    assert then.context["as_of"]["version"] == 2
    assert then.context["headline"].tracks == 4
    rows = then.context["table"]["page"].rows
    assert [(row["track_id"], row["position"]) for row in rows] == [
        (track.id, position) for position, track in enumerate([newcomer, *tracks])
    ]
    assert "You are looking at version 2" in then.content.decode()
    # The table fragment and its JSON follow the same switch.
    table = client.get(
        reverse("dashboard:tracks", args=[playlist.pk]), {"version": 1, "format": "json"}
    ).json()
    assert [row["track_id"] for row in table["rows"]] == [track.id for track in tracks]
    # The latest version, or one that does not exist, is "now".
    assert client.get(url, {"version": 3}).context["as_of"]["version"] is None
    assert client.get(url, {"version": 42}).context["headline"].tracks == 3


def test_the_dashboard_as_of_a_date_shows_the_version_current_then(
    client, alice, changing_playlist
):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    url = reverse("dashboard:playlist", args=[playlist.pk])
    # Version 2 was seen on 2026-01-02, version 3 (now) on 2026-01-03.
    for date in ("2026-01-02", "2026-01-02T23:00", "2026-01-03T05:00:00+08:00"):
        then = client.get(url, {"date": date})
        assert then.context["as_of"]["version"] == 2, date
        assert then.context["headline"].tracks == 4
        assert "You are looking at version 2" in then.content.decode()
    # Its table (and the fragment) follow the date, and the search form keeps it.
    table = client.get(
        reverse("dashboard:tracks", args=[playlist.pk]), {"date": "2026-01-02", "format": "json"}
    ).json()
    assert [row["track_id"] for row in table["rows"]] == [t.id for t in [newcomer, *tracks]]
    html = client.get(url, {"date": "2026-01-02"}).content.decode()
    assert '<input type="hidden" name="date" value="2026-01-02">' in html
    # A date of the latest version is now; a bad date or one before any version says so.
    assert client.get(url, {"date": "2026-01-03"}).context["as_of"]["version"] is None
    for date, problem in (
        ("yesterday", "is not an ISO date (2026-01-31) or an ISO date and time"),
        ("2025-06-01", "was first seen after 2025-06-01"),
    ):
        response = client.get(url, {"date": date})
        assert response.context["as_of"]["version"] is None
        assert response.context["headline"].tracks == 3
        assert problem in response.content.decode(), date


def test_a_version_downloads_as_json_to_recreate_it(client, alice, changing_playlist):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    response = client.get(reverse("dashboard:version-json", args=[playlist.pk, 2]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert (data["version"], data["name"], data["tracks"][0]["track_id"]) == (2, "Mix", newcomer.id)
    assert [t["track_id"] for t in data["tracks"]] == [t.id for t in [newcomer, *tracks]]
    assert client.get(reverse("dashboard:version-json", args=[playlist.pk, 9])).status_code == 404


def test_a_version_downloads_as_csv_in_the_playlist_downloads_layout(
    client, alice, changing_playlist
):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    # The latest version's CSV is the playlist's own CSV download, byte for byte.
    latest = client.get(reverse("dashboard:version-csv", args=[playlist.pk, 3]))
    now = client.get(reverse("dashboard:download", args=[playlist.pk, "csv"]))
    assert latest.status_code == 200 and latest["Content-Type"].startswith("text/csv")
    assert "attachment" in latest["Content-Disposition"]
    assert b"".join(latest.streaming_content) == b"".join(now.streaming_content)
    older = b"".join(
        client.get(reverse("dashboard:version-csv", args=[playlist.pk, 2])).streaming_content
    )
    lines = older.decode().splitlines()
    assert lines[0] == ",".join(CSV_HEADER)
    uris = [line.split(",")[0] for line in lines[1:]]
    assert uris == [f"spotify:track:{t.id}" for t in [newcomer, *tracks]]
    assert client.get(reverse("dashboard:version-csv", args=[playlist.pk, 9])).status_code == 404


def test_a_version_downloads_as_parquet_in_the_playlist_downloads_schema(
    client, alice, changing_playlist
):
    playlist, tracks, newcomer = changing_playlist
    client.force_login(alice)
    # The latest version's Parquet holds what the playlist's own Parquet download holds.
    latest = client.get(reverse("dashboard:version-parquet", args=[playlist.pk, 3]))
    now = client.get(reverse("dashboard:download", args=[playlist.pk, "parquet"]))
    assert latest.status_code == 200 and "attachment" in latest["Content-Disposition"]
    latest_table = pq.read_table(io.BytesIO(b"".join(latest.streaming_content)))
    now_table = pq.read_table(io.BytesIO(b"".join(now.streaming_content)))
    assert latest_table.schema == now_table.schema
    assert latest_table.to_pylist() == now_table.to_pylist()
    older = client.get(reverse("dashboard:version-parquet", args=[playlist.pk, 2]))
    table = pq.read_table(io.BytesIO(b"".join(older.streaming_content)))
    assert table.column("track_id").to_pylist() == [t.id for t in [newcomer, *tracks]]
    assert set(table.column("playlist_name").to_pylist()) == {"Mix"}  # its name then
    assert (
        client.get(reverse("dashboard:version-parquet", args=[playlist.pk, 9])).status_code == 404
    )


def test_the_diff_and_a_past_version_cost_the_same_queries_for_3_and_600_tracks(
    client, alice, loaded_playlist, django_assert_num_queries
):
    client.force_login(alice)
    playlists = []
    for size in (3, 600):
        tracks = TrackFactory.create_batch(size)
        playlist = loaded_playlist(alice, track_list=tracks, name=f"Of {size}", snapshot_id="s1")
        changed = [TrackFactory(), *tracks[1:]]
        changed.append(changed.pop(1))  # one added, one removed, one moved
        snapshot = snapshot_of(changed, playlist_id=playlist.pk, name="Of", snapshot_id="s2")
        load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0)
        playlists.append(playlist)
    for playlist in playlists:
        diff = reverse("dashboard:diff", args=[playlist.pk])
        # session, user, access (2), latest version, the changes (1), the page;
        # a search adds its count.
        with django_assert_num_queries(7):
            assert client.get(diff, {"from": 1, "to": 2, "kind": "moved"}).status_code == 200
        with django_assert_num_queries(8):
            assert (
                client.get(diff, {"from": 1, "to": 2, "q": "a", "sort": "track"}).status_code == 200
            )
        # The table as of version 1: session, user, access (2), versions, whether it has
        # audio features (their columns), the page with the version's size (one query:
        # its spans joined to their rows), visible playlists, their "also in".
        table = reverse("dashboard:tracks", args=[playlist.pk])
        with django_assert_num_queries(9):
            assert client.get(table, {"version": 1}).status_code == 200
        # Sorted otherwise: the page's ids with the version's size and their places
        # (windows over the version), then their rows.
        with django_assert_num_queries(10):
            assert client.get(table, {"version": 1, "sort": "track"}).status_code == 200
