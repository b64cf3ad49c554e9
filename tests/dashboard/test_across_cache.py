"""The pages across playlists keep their figures in the shared cache: keyed by the
person and a stamp of their playlists' loads, never one person's for another, and
never stale (a load, a removal or an access change makes another key)."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts import library
from accounts.models import UserPlaylist
from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.snapshot import ArtistRef
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.loader import load_playlist
from warehouse.models import Playlist

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]

ARTIST = ArtistRef(id="art1", name="Queen")


def song(n):
    return TrackFactory(id=f"t{n}", name=f"Song {n}", artists=(ARTIST,), duration_ms=100_000 * n)


@pytest.fixture
def shelves(alice, loaded_playlist):
    """alice: "Mine A" (t1 t2 t3) and "Mine B" (t2 t3 t4)."""
    t1, t2, t3, t4 = (song(n) for n in range(1, 5))
    loaded_playlist(alice, track_list=[t1, t2, t3], name="Mine A", playlist_id="pa")
    loaded_playlist(alice, track_list=[t2, t3, t4], name="Mine B", playlist_id="pb")


def library_total(client):
    return client.get(reverse("dashboard:library")).context["summary"].figures.distinct_tracks


def across_keys():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM django_cache WHERE cache_key LIKE %s", ["%across:%"])
        return [key for (key,) in cursor.fetchall()]


def plant_library_total(total):
    """Set the distinct-track figure of the one kept library entry to `total`."""
    (key,) = [key for key in across_keys() if ":library:" in key]
    name = key.split(":", 2)[2]  # the cache's own key, without its prefix and version
    summary = cache.get(name)
    summary.figures.distinct_tracks = total
    cache.set(name, summary)


def test_the_library_is_read_back_from_the_cache_until_something_changes(client, alice, shelves):
    client.force_login(alice)
    assert library_total(client) == 4
    # A figure planted in the kept entry shows: the second view reads the cache.
    plant_library_total(999)
    assert library_total(client) == 999


def test_one_persons_cached_figures_are_never_anothers(client, alice, bob, shelves):
    """bob sees the same playlists as alice (he loaded them too): the same stamp,
    but another key. Were the person left out of it, bob would read alice's entry."""
    for playlist_id in ("pa", "pb"):
        library.grant(bob.pk, playlist_id, add=True)
    client.force_login(alice)
    assert library_total(client) == 4
    plant_library_total(999)

    client.force_login(bob)
    assert library_total(client) == 4
    assert len([key for key in across_keys() if ":library:" in key]) == 2
    for name in ("overlap", "duplicates"):
        client.force_login(alice)
        client.get(reverse(f"dashboard:{name}"))
        client.force_login(bob)
        client.get(reverse(f"dashboard:{name}"))
        assert len([key for key in across_keys() if f":{name}" in key]) == 2, name
    assert all(f"user-{alice.pk}:" in key or f"user-{bob.pk}:" in key for key in across_keys())


def load_again(playlist_id, tracks, name):
    snapshot = snapshot_of(tracks, playlist_id=playlist_id, name=name)
    load_playlist(snapshot, transform_snapshot(snapshot).rows)


def test_a_new_version_of_a_playlist_shows_at_once(client, alice, shelves):
    client.force_login(alice)
    assert library_total(client) == 4
    overlap = client.get(reverse("dashboard:overlap")).context["overlap"]
    assert [(p["a"], p["b"], p["shared"]) for p in overlap.pairs] == [("pa", "pb", 2)]
    duplicates = client.get(reverse("dashboard:duplicates")).context["total"]
    assert duplicates == 2

    load_again("pa", [song(1), song(2), song(3), song(4), song(5)], "Mine A")

    assert library_total(client) == 5
    overlap = client.get(reverse("dashboard:overlap")).context["overlap"]
    assert [(p["a"], p["b"], p["shared"]) for p in overlap.pairs] == [("pa", "pb", 3)]
    assert client.get(reverse("dashboard:duplicates")).context["total"] == 3
    compared = client.get(reverse("dashboard:compare"), {"p": ["pa", "pb"]})
    assert compared.context["comparison"].tracks.shared == 3


def test_a_reload_at_the_same_moment_still_shows(client, alice, shelves):
    """The stamp counts loads; it does not compare clocks (a load may reuse `now`)."""
    client.force_login(alice)
    assert library_total(client) == 4
    moment = Playlist.objects.get(pk="pb").last_ingested_at
    snapshot = snapshot_of([song(2), song(3), song(4), song(6)], playlist_id="pb", name="Mine B")
    load_playlist(snapshot, transform_snapshot(snapshot).rows, now=moment)
    assert library_total(client) == 5


def test_removing_a_playlist_and_undoing_it_show(client, alice, shelves):
    client.force_login(alice)
    assert library_total(client) == 4
    client.get(reverse("dashboard:overlap"))
    response = client.post(reverse("dashboard:remove", args=["pb"]))
    assert response.status_code in (200, 302)
    assert not UserPlaylist.objects.filter(user=alice, playlist_id="pb").exists()
    assert library_total(client) == 3
    assert client.get(reverse("dashboard:overlap")).context["overlap"].pairs == []


def test_a_refused_playlist_leaves_the_library(client, alice, shelves):
    client.force_login(alice)
    assert library_total(client) == 4
    library.refuse(alice.pk, "pb", "Spotify answered 404")
    assert library_total(client) == 3
    library.grant(alice.pk, "pb")
    assert library_total(client) == 4


def test_a_playlist_gone_from_the_warehouse_changes_the_stamp(alice, shelves):
    before = queries.playlists_stamp(playlist_ids=["pa", "pb"])
    Playlist.objects.filter(pk="pb").delete()
    assert queries.playlists_stamp(playlist_ids=["pa", "pb"]) != before


def test_every_load_moves_the_stamp_even_one_that_writes_nothing(alice, shelves):
    before = queries.playlists_stamp(playlist_ids=["pa", "pb"])
    loads = Playlist.objects.get(pk="pa").loads
    load_again("pa", [song(1), song(2), song(3)], "Mine A")
    assert Playlist.objects.get(pk="pa").loads == loads + 1
    assert queries.playlists_stamp(playlist_ids=["pa", "pb"]) != before
    assert queries.playlists_stamp(playlist_ids=["pb"]) == queries.playlists_stamp(
        playlist_ids=["pb"]
    )


def test_the_library_table_fragment_takes_its_count_from_the_cached_figures(
    client, alice, shelves, django_assert_num_queries
):
    client.force_login(alice)
    url = reverse("dashboard:library-tracks")
    # session, user, visible, stamp, cache (nothing kept yet), the table's count and page
    with django_assert_num_queries(7):
        assert client.get(url, {"format": "json"}).json()["total"] == 4
    client.get(reverse("dashboard:library"))
    # the same, the count from the kept figures
    with django_assert_num_queries(6):
        assert client.get(url, {"format": "json"}).json()["total"] == 4
    # narrowed: the count is the table's own
    with django_assert_num_queries(7):
        assert client.get(url, {"format": "json", "min": 2}).json()["total"] == 2


def test_without_caching_every_view_counts_again(
    client, alice, shelves, settings, django_assert_num_queries
):
    settings.ACROSS_CACHE_SECONDS = 0
    client.force_login(alice)
    # session, user, visible, summary (4), the table's page
    for _ in range(2):
        with django_assert_num_queries(8):
            client.get(reverse("dashboard:library"))
    assert across_keys() == []


def test_a_cache_that_fails_costs_only_the_counting(client, alice, shelves, monkeypatch, caplog):
    from warehouse import across_cache

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("Redis is down")

        set = get

    monkeypatch.setattr(across_cache, "cache", Down())
    client.force_login(alice)
    assert library_total(client) == 4
    assert "across cache: reading library failed" in caplog.text


def test_the_maps_cells_escape_playlist_names(client, alice, loaded_playlist):
    """The map's cells are written by the view, not the template: names still escaped."""
    loaded_playlist(alice, track_list=[song(1)], name="<b>Mine</b> & co", playlist_id="px")
    loaded_playlist(alice, track_list=[song(1)], name='Other "one"', playlist_id="py")
    client.force_login(alice)
    html = client.get(reverse("dashboard:overlap")).content.decode()
    assert "<b>Mine" not in html
    assert (
        'title="&lt;b&gt;Mine&lt;/b&gt; &amp; co and Other &quot;one&quot;: 1 shared tracks"'
        in (html)
    )
    assert 'href="/compare/?p=px&amp;p=py"' in html or 'href="/compare/?p=py&amp;p=px"' in html
