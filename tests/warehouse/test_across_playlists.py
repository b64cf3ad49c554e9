"""Selectors across playlists: duplicates, comparisons, the overlap matrix, the library
(SQLite and PostgreSQL), with the query count of each pinned."""

import datetime as dt

import pytest

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.snapshot import ArtistRef
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.loader import load_playlist
from warehouse.matching import Reason
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
QUEEN = ArtistRef(id="queen", name="Queen")
OTHER = ArtistRef(id="other", name="Other")


def load(playlist_id, tracks, *, name=None, snapshot_id="s1", now=T0):
    snapshot = snapshot_of(
        tracks, playlist_id=playlist_id, name=name or playlist_id, snapshot_id=snapshot_id
    )
    load_playlist(snapshot, transform_snapshot(snapshot).rows, now=now)
    return snapshot


def track(track_id, name="Song", *, artist=QUEEN, duration_ms=200_000, isrc=None, genres=()):
    return TrackFactory(
        id=track_id,
        name=name,
        artists=(artist,),
        duration_ms=duration_ms,
        isrc=isrc or f"ISRC-{track_id}",
    )


# --- duplicates ---------------------------------------------------------------------------
def test_a_repeat_within_one_playlist_is_a_group(django_assert_num_queries):
    song, other = track("t1"), track("t2", "Other song", duration_ms=100_000)
    load("p1", [song, other, song])
    # the rows of tracks that may match another, the repeats counted per track, the members
    with django_assert_num_queries(3):
        (group,) = queries.duplicate_groups(playlist_ids=["p1"])
    assert group.reasons == [Reason.SAME_ID]
    ((member,),) = [group.members]
    assert (member["track_id"], member["occurrences"], member["position"]) == ("t1", 2, 0)


def test_a_track_in_two_playlists_is_one_group_listing_both():
    song = track("t1")
    load("p1", [track("x1", "Filler", duration_ms=90_000), song], name="First")
    load("p2", [song], name="Second")
    (group,) = queries.duplicate_groups(playlist_ids=["p1", "p2"])
    assert [(m["playlist_name"], m["position"]) for m in group.members] == [
        ("First", 1),
        ("Second", 0),
    ]
    assert group.reasons == [Reason.SAME_ID]
    assert queries.duplicate_groups(playlist_ids=["p1"]) == []


def test_the_single_and_the_album_version_share_an_isrc():
    single = track("single", "Hit - Single", duration_ms=180_000, isrc="USABC2400001")
    album = track("album", "Hit", duration_ms=250_000, isrc="USABC2400001")
    load("p1", [single, album])
    (group,) = queries.duplicate_groups(playlist_ids=["p1"])
    assert {m["track_id"] for m in group.members} == {"single", "album"}
    assert group.reasons == [Reason.SAME_ISRC]
    assert group.explanations == ["the same recording (same ISRC) on another release"]


def test_probably_the_same_song_and_its_live_version_only_when_loose():
    studio = track("studio", "Don't Stop Me Now", duration_ms=209_000)
    remaster = track("remaster", "Don’t Stop Me Now", duration_ms=210_500)
    live = track("live", "Don't Stop Me Now - Live at Wembley", duration_ms=210_000)
    cover = track("cover", "Don't Stop Me Now", artist=OTHER, duration_ms=209_000)
    load("p1", [studio, live, cover])
    load("p2", [remaster])
    (group,) = queries.duplicate_groups(playlist_ids=["p1", "p2"])
    assert {m["track_id"] for m in group.members} == {"studio", "remaster"}
    assert group.reasons == [Reason.SAME_SONG]
    (loose,) = queries.duplicate_groups(playlist_ids=["p1", "p2"], loose=True)
    assert {m["track_id"] for m in loose.members} == {"studio", "remaster", "live"}


def test_local_files_match_by_artist_name():
    a = LocalTrackFactory(
        name="Home Demo", uri="spotify:local:A:B:Home+Demo:200", duration_ms=200_000
    )
    b = LocalTrackFactory(
        name="home demo", uri="spotify:local:A:C:home+demo:201", duration_ms=201_000
    )
    load("p1", [a, b])
    (group,) = queries.duplicate_groups(playlist_ids=["p1"])
    assert len(group.members) == 2


def test_removed_tracks_are_not_duplicates():
    song = track("t1")
    load("p1", [song])
    load("p2", [song, track("t2", "Other", duration_ms=90_000)])
    load("p2", [track("t2", "Other", duration_ms=90_000)], snapshot_id="s2", now=T1)
    assert PlaylistTrack.objects.get(playlist_id="p2", track_id="t1").removed_at == T1
    assert queries.duplicate_groups(playlist_ids=["p1", "p2"]) == []


def _shelves_of_duplicates():
    """Groups that tie on size and name, and a track named differently in two
    playlists of the same name, where only places (not order keys) say which is first."""
    one = ArtistRef(id="one", name="One")
    two = ArtistRef(id="two", name="Two")
    hit_single = track("single", "Hit - Single", artist=one, duration_ms=180_000, isrc="USX1")
    hit_album = track("album", "Hit", artist=one, duration_ms=250_000, isrc="USX1")
    other_hit = track("hit2", "Hit", artist=two, duration_ms=100_000)  # repeated, not linked
    amber = track("amber", "Amber", artist=two, duration_ms=300_000)
    renamed_a = track("renamed", "Alpha", artist=two, duration_ms=400_000)
    renamed_b = track("renamed", "Beta", artist=two, duration_ms=400_000)
    fillers = [track(f"f{n}", f"Filler {n}", artist=one, duration_ms=50_000 * n) for n in (1, 2)]
    load("p1", [fillers[0], renamed_a, hit_single, other_hit, amber], name="Same")
    # p2 loses its first two tracks: "renamed" keeps its order key but is now first
    load("p2", [*fillers, renamed_b], name="Same")
    load("p2", [renamed_b, amber], name="Same", snapshot_id="s2", now=T1)
    load("p3", [hit_album, other_hit], name="Other")
    return ["p1", "p2", "p3"]


def test_duplicate_groups_are_ordered_by_size_then_by_their_first_members_name():
    ids = _shelves_of_duplicates()
    groups = queries.duplicate_groups(playlist_ids=ids)
    listed = [(len(g.members), g.members[0]["track_name"]) for g in groups]
    # "renamed" is in the two playlists named "Same": first in p2 (place 0, though
    # its order key there is larger than in p1, where it is second), so it is
    # listed as "Beta", after "Amber"
    assert listed == [(2, "Amber"), (2, "Beta"), (2, "Hit"), (2, "Hit")]
    renamed = groups[1]
    assert [(m["playlist_id"], m["position"]) for m in renamed.members] == [("p2", 0), ("p1", 1)]
    # the linked pair (its album version "Hit" first, from "Other") and the repeats
    # of another "Hit" tie on size and name: the linked group comes first
    assert groups[2].reasons == [Reason.SAME_ISRC]
    assert {m["track_id"] for m in groups[3].members} == {"hit2"}


def test_pages_of_duplicates_are_the_groups_in_order(django_assert_num_queries, monkeypatch):
    ids = _shelves_of_duplicates()
    every = queries.duplicate_groups(playlist_ids=ids)
    # 3, and 2 for the track named differently in two playlists: its rows, their places
    with django_assert_num_queries(5):
        first = queries.duplicates_page(playlist_ids=ids, per_page=3)
    assert (first.total, first.pages, first.first_number) == (4, 2, 1)
    last = queries.duplicates_page(playlist_ids=ids, per_page=3, page=9)
    assert (last.page, last.first_number) == (2, 4)
    assert first.groups + last.groups == every
    # Many members: places found by binary search over the playlists' keys, the same
    monkeypatch.setattr(queries, "_MEMBERS_RANKED_IN_SQL", 0)
    assert queries.duplicate_groups(playlist_ids=ids) == every


# --- comparisons -----------------------------------------------------------------------
def test_comparing_identical_playlists(django_assert_num_queries):
    tracks = [track(f"t{n}", f"Song {n}", artist=QUEEN if n % 2 else OTHER) for n in range(4)]
    load("p1", tracks)
    load("p2", tracks)
    # one: the tracks, artists and genres counted from one read of the rows
    with django_assert_num_queries(1):
        result = queries.compare_playlists(playlist_ids=["p1", "p2"])
    assert (result.tracks.shared, result.tracks.union, result.tracks.jaccard) == (4, 4, 1.0)
    assert (result.artists.shared, result.artists.jaccard) == (2, 1.0)
    assert result.only_in == {"p1": 0, "p2": 0}
    assert [a["name"] for a in result.shared_artists] == ["Other", "Queen"]


def test_comparing_disjoint_playlists():
    load("p1", [track("a1", "A", artist=QUEEN)])
    load("p2", [track("b1", "B", artist=OTHER), track("b2", "C", artist=OTHER)])
    result = queries.compare_playlists(playlist_ids=["p1", "p2"])
    assert (result.tracks.shared, result.tracks.union, result.tracks.jaccard) == (0, 3, 0.0)
    assert result.tracks.per_playlist == {"p1": 1, "p2": 2}
    assert result.only_in == {"p1": 1, "p2": 2}
    assert (result.artists.shared, result.artists.union) == (0, 2)


def test_comparing_with_an_empty_playlist():
    load("p1", [track("a1")])
    load("p2", [])
    result = queries.compare_playlists(playlist_ids=["p1", "p2"])
    assert (result.tracks.shared, result.tracks.union) == (0, 1)
    assert result.tracks.per_playlist == {"p1": 1, "p2": 0}
    assert result.artists.jaccard == 0.0
    empty = queries.compare_playlists(playlist_ids=["p2", "p2"])
    assert empty.tracks.jaccard is None


def test_three_playlists_share_what_all_three_have_and_removed_rows_do_not_count():
    a, b, c = track("a"), track("b", "B"), track("c", "C")
    load("p1", [a, b, c])
    load("p2", [a, b])
    load("p3", [a, b])
    load("p3", [a], snapshot_id="s2", now=T1)  # b removed from p3
    result = queries.compare_playlists(playlist_ids=["p1", "p2", "p3"])
    assert (result.tracks.shared, result.tracks.union) == (1, 3)
    assert result.only_in == {"p1": 1, "p2": 0, "p3": 0}


def test_a_comparison_lists_the_first_shared_artists_and_genres_by_name_and_counts_all():
    artists = [ArtistRef(id=f"a{n}", name=name) for n, name in enumerate(["Cher", "ABBA", "Bjork"])]
    tracks = [
        TrackFactory(id=f"t{n}", name=f"Song {n}", artists=(artist,))
        for n, artist in enumerate(artists)
    ]
    genres = {"a0": ["pop"], "a1": ["disco", "pop"], "a2": ["art pop"]}
    for playlist_id in ("p1", "p2"):
        snapshot = snapshot_of(tracks, playlist_id=playlist_id, genres=genres)
        load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0)
    result = queries.compare_playlists(playlist_ids=["p1", "p2"], limit=2)
    assert [a["name"] for a in result.shared_artists] == ["ABBA", "Bjork"]
    assert (result.artists.shared, result.artists.union) == (3, 3)
    assert result.shared_genres == ["art pop", "disco"]
    assert (result.genres.shared, result.genres.per_playlist) == (3, {"p1": 3, "p2": 3})


def test_the_track_table_lists_shared_and_only_in_tracks():
    a, b, c = track("a", "Alpha"), track("b", "Beta"), track("c", "Gamma")
    load("p1", [a, b, c])
    load("p2", [b])
    only = queries.playlist_tracks_page(playlist_id="p1", not_in=["p2"], sort="track")
    assert [row["track_id"] for row in only.rows] == ["a", "c"]
    shared = queries.playlist_tracks_page(playlist_id="p1", also_in=["p2"])
    assert [row["track_id"] for row in shared.rows] == ["b"]
    searched = queries.playlist_tracks_page(playlist_id="p1", not_in=["p2"], query="gam")
    assert [row["track_id"] for row in searched.rows] == ["c"]


def test_a_track_table_whose_size_is_known_does_not_count_it(django_assert_num_queries):
    load("p1", [track("a", "Alpha"), track("b", "Beta"), track("c", "Gamma")])
    load("p2", [track("b", "Beta")])
    with django_assert_num_queries(2):  # the page and its places, no count
        only = queries.playlist_tracks_page(playlist_id="p1", not_in=["p2"], known_total=2)
    assert (only.total, [row["track_id"] for row in only.rows]) == (2, ["a", "c"])
    # searched, the table counts what it finds: the known size is the unsearched one
    searched = queries.playlist_tracks_page(
        playlist_id="p1", not_in=["p2"], query="gam", known_total=2
    )
    assert (searched.total, [row["track_id"] for row in searched.rows]) == (1, ["c"])


# --- the overlap matrix ----------------------------------------------------------------
def test_the_overlap_matrix_is_symmetric_with_the_right_counts(django_assert_num_queries):
    tracks = {n: track(f"t{n}", f"Song {n}") for n in range(6)}
    load("p1", [tracks[n] for n in (0, 1, 2, 3)], name="One")
    load("p2", [tracks[n] for n in (2, 3, 4)], name="Two")
    load("p3", [tracks[n] for n in (3, 4, 5)], name="Three")
    with django_assert_num_queries(3):
        overlap = queries.overlap_matrix(playlist_ids=["p1", "p2", "p3"])
    ids = ["p1", "p2", "p3"]
    matrix = [[overlap.shared(a, b) for b in ids] for a in ids]
    assert matrix == [[4, 2, 1], [2, 3, 2], [1, 2, 3]]
    assert matrix == [list(row) for row in zip(*matrix, strict=True)]
    assert [(p["a"], p["b"], p["shared"]) for p in overlap.pairs][0] in {
        ("p1", "p2", 2),
        ("p2", "p3", 2),
    }
    assert overlap.pairs[-1]["shared"] == 1
    assert overlap.pairs[0]["jaccard"] == pytest.approx(2 / 5)


def test_also_in_counts_the_shared_tracks_of_the_other_playlists(django_assert_num_queries):
    a, b = track("a"), track("b", "B")
    load("p1", [a, b])
    load("p2", [a])
    load("p3", [a, b])
    with django_assert_num_queries(1):
        found = queries.also_in(playlist_id="p1", playlist_ids=["p1", "p2", "p3"])
    assert [(row["playlist_id"], row["shared"]) for row in found] == [("p3", 2), ("p2", 1)]
    per_track = queries.tracks_also_in(
        track_ids=["a", "b"], playlist_id="p1", playlist_ids=["p1", "p3"]
    )
    assert {k: [p["playlist_id"] for p in v] for k, v in per_track.items()} == {
        "a": ["p3"],
        "b": ["p3"],
    }


# --- the library ---------------------------------------------------------------------
def test_the_library_counts_equal_the_distinct_present_tracks(django_assert_num_queries):
    a, b, c = track("a", "Alpha"), track("b", "Beta"), track("c", "Gamma")
    load("p1", [a, b, c])
    load("p2", [a, b])
    load("p2", [a], snapshot_id="s2", now=T1)
    load("other", [track("z", "Zeta")])  # not in the playlists asked about
    with django_assert_num_queries(2):
        page = queries.library_tracks_page(playlist_ids=["p1", "p2"])
    distinct = set(
        PlaylistTrack.objects.filter(
            playlist_id__in=["p1", "p2"], removed_at__isnull=True
        ).values_list("track_id", flat=True)
    )
    assert page.total == len(distinct) == 3
    assert [(row["track_id"], row["playlists"]) for row in page.rows] == [
        ("a", 2),
        ("b", 1),
        ("c", 1),
    ]
    by_name = queries.library_tracks_page(playlist_ids=["p1", "p2"], sort="track", direction="desc")
    assert [row["track_name"] for row in by_name.rows] == ["Gamma", "Beta", "Alpha"]
    assert queries.library_tracks_page(playlist_ids=["p1", "p2"], query="bet").total == 1
    assert queries.library_tracks_page(playlist_ids=["p1", "p2"], min_playlists=2).total == 1
    paged = queries.library_tracks_page(playlist_ids=["p1", "p2"], page_size=25, page=9)
    assert (paged.page, paged.pages) == (1, 1)


def test_the_library_summary_counts_each_track_once(django_assert_num_queries):
    a = TrackFactory(id="a", album_release_date="1990-01-01", duration_ms=61_000)
    b = TrackFactory(id="b", album_release_date="2000-01-01", duration_ms=200_000)
    load("p1", [a, b])
    load("p2", [a])
    with django_assert_num_queries(4):  # figures, artists, genres, years and lengths
        summary = queries.library_summary(playlist_ids=["p1", "p2"])
    assert summary.figures.distinct_tracks == 2
    assert summary.figures.median_year == 1995.0  # of the distinct tracks, not the entries
    assert summary.years.years == [{"year": 1990, "tracks": 1}, {"year": 2000, "tracks": 1}]
    assert [bucket["tracks"] for bucket in summary.durations.buckets][:4] == [0, 1, 0, 1]
    assert sum(artist["tracks"] for artist in summary.top_artists) == 2


def test_the_library_table_orders_and_pages_by_playlists_then_track(django_assert_num_queries):
    """The default order (most playlists first, then by id) is chosen from the track
    ids alone (on PostgreSQL, through the index of present rows): the same pages
    as the other sorts' plain grouping gives."""
    tracks = {n: TrackFactory(id=f"t{n}", name=f"Song {n}") for n in range(1, 6)}
    load("p1", [tracks[n] for n in (1, 2, 3, 4, 5)])
    load("p2", [tracks[n] for n in (2, 4, 5)])
    load("p3", [tracks[n] for n in (4, 5)])
    load("p4", [tracks[n] for n in (3, 1)])
    load("p4", [tracks[3]], snapshot_id="s2")  # t1 removed from p4: not counted there
    ids = ["p1", "p2", "p3", "p4"]
    with django_assert_num_queries(1):  # the count known: the page only
        first = queries.library_tracks_page(playlist_ids=ids, page_size=25, distinct_tracks=5)
    assert [(r["track_id"], r["playlists"]) for r in first.rows] == [
        ("t4", 3),
        ("t5", 3),
        ("t2", 2),
        ("t3", 2),
        ("t1", 1),
    ]
    assert first.rows[0]["track_name"] == "Song 4" and first.rows[0]["occurrences"] == 3
    ascending = queries.library_tracks_page(playlist_ids=ids, direction="asc", min_playlists=2)
    assert [r["track_id"] for r in ascending.rows] == ["t2", "t3", "t4", "t5"]
    assert ascending.total == 4
    by_name = queries.library_tracks_page(playlist_ids=ids, sort="track", direction="asc")
    assert [r["track_id"] for r in by_name.rows] == ["t1", "t2", "t3", "t4", "t5"]
