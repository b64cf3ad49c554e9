"""The pages across playlists: duplicates, compare, overlap, library, "also in";
each shows only the signed-in person's visible playlists (others: 404 or absent)."""

import csv
import io

import pytest
from django.urls import reverse

from devtools.synthetic.snapshots import TrackFactory
from ingestion.snapshot import ArtistRef

# The pages keep their figures in the shared cache: a database table here, so that
# the counts below include its reads and writes (first view: counted and kept;
# the next one: read back).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]
# Keeping a computed value in the database cache: its count (to cull), then, in a
# savepoint, whether the key exists and the insert.
CACHE_WRITE = 5

ARTIST = ArtistRef(id="art1", name="Queen")


def song(track_id, name, **fields):
    return TrackFactory(id=track_id, name=name, artists=(ARTIST,), **fields)


@pytest.fixture
def shelves(alice, bob, loaded_playlist):
    """alice: "Mine A" (t1 t2 t3) and "Mine B" (t2 t3 t4); bob: "Bob's" (t1 t2 secret)."""
    t1, t2, t3, t4 = (song(f"t{n}", f"Song {n}", duration_ms=100_000 * n) for n in range(1, 5))
    mine_a = loaded_playlist(alice, track_list=[t1, t2, t3], name="Mine A", playlist_id="pa")
    mine_b = loaded_playlist(alice, track_list=[t2, t3, t4], name="Mine B", playlist_id="pb")
    secret = song("secret", "Bob Secret Song", duration_ms=700_000)
    bobs = loaded_playlist(bob, track_list=[t1, t2, secret], name="Bob's", playlist_id="pbob")
    return mine_a, mine_b, bobs


def compare_url(*ids, **params):
    query = "&".join([f"p={pid}" for pid in ids] + [f"{k}={v}" for k, v in params.items()])
    return reverse("dashboard:compare") + "?" + query


# --- duplicates --------------------------------------------------------------------------
def test_duplicates_across_mine_list_only_my_playlists(client, alice, shelves):
    client.force_login(alice)
    response = client.get(reverse("dashboard:duplicates"))
    assert response.status_code == 200
    groups = response.context["shown"]
    assert {g.members[0]["track_id"] for g in groups} == {"t2", "t3"}
    assert all(set(g.playlist_ids) == {"pa", "pb"} for g in groups)
    html = response.content.decode()
    assert "Bob" not in html and "the same Spotify track" in html


def test_duplicates_of_another_persons_playlist_answer_404(client, alice, shelves):
    client.force_login(alice)
    url = reverse("dashboard:duplicates")
    assert client.get(url, {"playlist": "pbob"}).status_code == 404
    assert client.get(url, {"playlist": "pbob", "format": "csv"}).status_code == 404
    assert client.get(url, {"playlist": "pa"}).context["shown"] == []


def test_duplicates_export_as_csv(client, alice, shelves):
    client.force_login(alice)
    response = client.get(reverse("dashboard:duplicates"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(row["group"], row["playlist"], row["track_id"]) for row in rows} == {
        ("1", "Mine A", "t2"),
        ("1", "Mine B", "t2"),
        ("2", "Mine A", "t3"),
        ("2", "Mine B", "t3"),
    }
    assert rows[0]["why"] == "the same Spotify track"


def test_the_duplicates_page_costs_a_fixed_number_of_queries(
    client, alice, shelves, django_assert_num_queries
):
    client.force_login(alice)
    # session, user, visible playlists, their stamp, the cache; the rows of tracks that
    # may match another, the repeats counted per track (both kept in the cache), the
    # members of the page's groups (only those are read)
    with django_assert_num_queries(8 + CACHE_WRITE):
        client.get(reverse("dashboard:duplicates"))
    # again: the groups read back from the cache, only the page's members from the table
    with django_assert_num_queries(6):
        client.get(reverse("dashboard:duplicates"))


# --- compare ---------------------------------------------------------------------------
def test_compare_two_of_mine(client, alice, shelves, django_assert_num_queries):
    client.force_login(alice)
    # session, user, visible, names, stamp, cache, comparison (1, kept), the table's
    # page and ranks (its size is the comparison's), also in
    with django_assert_num_queries(10 + CACHE_WRITE):
        response = client.get(compare_url("pa", "pb"))
    with django_assert_num_queries(9):  # the comparison read back from the cache
        again = client.get(compare_url("pa", "pb"))
    assert again.context["comparison"] == response.context["comparison"]
    result = response.context["comparison"]
    assert (result.tracks.shared, result.tracks.union) == (2, 4)
    assert result.tracks.jaccard == 0.5
    page = response.context["table"]["page"]
    assert [row["track_id"] for row in page.rows] == ["t2", "t3"]
    assert page.total == 2
    only_b = client.get(compare_url("pa", "pb", set=1)).context["table"]["page"]
    assert ([row["track_id"] for row in only_b.rows], only_b.total) == (["t4"], 1)
    assert "Bob" not in response.content.decode()


def test_a_searched_comparison_table_counts_what_it_finds(client, alice, shelves):
    """The table's size comes from the comparison's counts, but not once searched."""
    client.force_login(alice)
    page = client.get(compare_url("pa", "pb", q="song+3")).context["table"]["page"]
    assert ([row["track_id"] for row in page.rows], page.total) == (["t3"], 1)
    fragment = reverse("dashboard:compare-tracks") + "?p=pa&p=pb&set=0&format=json"
    assert client.get(fragment).json()["total"] == 1  # the comparison kept: its count
    assert client.get(fragment + "&q=nothing").json()["total"] == 0


def test_comparing_with_another_persons_playlist_answers_404(client, alice, bob, shelves):
    client.force_login(alice)
    assert client.get(compare_url("pa", "pbob")).status_code == 404
    fragment = reverse("dashboard:compare-tracks") + "?p=pa&p=pbob&format=json"
    assert client.get(fragment).status_code == 404
    client.force_login(bob)
    assert client.get(compare_url("pa", "pb")).status_code == 404


def test_the_comparison_table_fragment_sorts_and_searches(client, alice, shelves):
    client.force_login(alice)
    url = reverse("dashboard:compare-tracks") + "?p=pa&p=pb&set=0&format=json"
    data = client.get(url).json()  # no comparison kept yet: the table counts itself
    assert ([row["track_id"] for row in data["rows"]], data["total"]) == (["t1"], 1)
    data = client.get(
        reverse("dashboard:compare-tracks") + "?p=pa&p=pb&q=song+3&format=json"
    ).json()
    assert ([row["track_id"] for row in data["rows"]], data["total"]) == (["t3"], 1)


def test_compare_with_fewer_than_two_offers_my_playlists(client, alice, shelves):
    client.force_login(alice)
    response = client.get(reverse("dashboard:compare"))
    assert [name for _, name in response.context["choices"]] == ["Mine A", "Mine B"]


# --- overlap ---------------------------------------------------------------------------
def test_the_overlap_map_shows_my_pairs_only(client, alice, shelves, django_assert_num_queries):
    client.force_login(alice)
    # session, user, visible, stamp, cache, the pairs, the playlists' sizes, their names
    with django_assert_num_queries(8 + CACHE_WRITE):
        response = client.get(reverse("dashboard:overlap"))
    with django_assert_num_queries(5):  # the map read back from the cache
        again = client.get(reverse("dashboard:overlap"))
    assert again.context["overlap"].pairs == response.context["overlap"].pairs
    overlap = response.context["overlap"]
    assert [p["playlist_id"] for p in overlap.playlists] == ["pa", "pb"]
    assert [(p["a"], p["b"], p["shared"]) for p in overlap.pairs] == [("pa", "pb", 2)]
    html = response.content.decode()
    assert "shade-9" in html and 'style="' not in html and "Bob" not in html
    assert compare_url("pa", "pb").replace("&", "&amp;") in html


# --- the library -----------------------------------------------------------------------
def test_the_library_counts_my_distinct_tracks(
    client, alice, bob, shelves, django_assert_num_queries
):
    client.force_login(alice)
    # session, user, visible, stamp, cache, summary (4, kept), the table's page (its
    # count is the summary's distinct tracks)
    with django_assert_num_queries(10 + CACHE_WRITE):
        response = client.get(reverse("dashboard:library"))
    with django_assert_num_queries(6):  # the figures read back from the cache
        again = client.get(reverse("dashboard:library"))
    assert again.context["figures"] == response.context["figures"]
    page = response.context["table"]["page"]
    assert page.total == 4
    assert {row["track_id"]: row["playlists"] for row in page.rows} == {
        "t1": 1,
        "t2": 2,
        "t3": 2,
        "t4": 1,
    }
    data = client.get(reverse("dashboard:library-tracks"), {"format": "json", "min": 2}).json()
    assert data["total"] == 2
    client.force_login(bob)
    bobs = client.get(reverse("dashboard:library-tracks"), {"format": "json"}).json()
    assert {row["track_id"] for row in bobs["rows"]} == {"t1", "t2", "secret"}


def test_the_library_of_someone_without_playlists_is_empty(client, charlie, shelves):
    client.force_login(charlie)
    response = client.get(reverse("dashboard:library"))
    assert response.context["figures"] is None
    assert client.get(reverse("dashboard:library-tracks"), {"format": "json"}).json()["total"] == 0


# --- "also in" on a playlist's dashboard ------------------------------------------------
def test_the_dashboard_says_which_of_my_playlists_also_have_its_tracks(client, alice, shelves):
    client.force_login(alice)
    response = client.get(reverse("dashboard:playlist", args=["pa"]))
    assert [(row["playlist_id"], row["shared"]) for row in response.context["also_in"]] == [
        ("pb", 2)
    ]
    rows = {row["track_id"]: row for row in response.context["table"]["page"].rows}
    assert [other["name"] for other in rows["t2"]["also_in"]] == ["Mine B"]
    assert rows["t1"]["also_in"] == []  # also in bob's, which alice does not see
    html = response.content.decode()
    assert "also in 1 of your playlists" in html and "Bob" not in html


def test_every_page_needs_signing_in(client):
    for name in ("library", "duplicates", "compare", "overlap", "library-tracks", "compare-tracks"):
        response = client.get(reverse(f"dashboard:{name}"))
        assert response.status_code == 302, name


def test_duplicate_groups_come_in_pages(client, alice, shelves, monkeypatch):
    from dashboard.views import across

    monkeypatch.setattr(across, "GROUPS_PER_PAGE", 1)
    client.force_login(alice)
    first = client.get(reverse("dashboard:duplicates"))
    second = client.get(reverse("dashboard:duplicates"), {"page": 2})
    assert (first.context["pages"], len(first.context["shown"])) == (2, 1)
    assert first.context["shown"] != second.context["shown"]
    assert 'rel="next"' in first.content.decode()


def test_a_big_overlap_map_shades_the_playlists_sharing_most(client, alice, shelves, monkeypatch):
    from dashboard.views import across

    monkeypatch.setattr(across, "MAP_PLAYLISTS", 1)
    client.force_login(alice)
    response = client.get(reverse("dashboard:overlap"))
    assert len(response.context["mapped"]) == 1
    assert len(response.context["pairs"]) == 1  # the list still has every pair
