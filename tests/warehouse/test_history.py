"""Playlist history: versions, spans and order keys written by the loader."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, connections
from django.db.migrations.executor import MigrationExecutor

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.history import Present, plan_order
from warehouse.loader import load_playlist
from warehouse.models import PlaylistTrack, PlaylistTrackSpan, PlaylistVersion

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def day(n):
    return T0 + dt.timedelta(days=n)


def load(tracks, n, *, playlist_id="p-history", **fields):
    fields.setdefault("snapshot_id", f"s{n}")
    fields.setdefault("name", "History")
    snapshot = snapshot_of(tracks, playlist_id=playlist_id, **fields)
    return load_playlist(snapshot, transform_snapshot(snapshot).rows, now=day(n))


def as_of(version, playlist_id="p-history"):
    rows = queries.playlist_rows_as_of(playlist_id=playlist_id, version=version)
    assert [row["position"] for row in rows] == list(range(len(rows)))
    return [(row["track_id"], row["occurrences"]) for row in rows]


def served(tracks):
    """(track id, occurrences) in first-occurrence order, as the playlist holds them."""
    ids = [track.id for track in tracks]
    return [(track_id, ids.count(track_id)) for track_id in dict.fromkeys(ids)]


def counts(result):
    made = result.version
    return None if made is None else (made.version, made.added, made.removed, made.moved)


def test_plan_order_keeps_unmoved_keys_and_tells_moves_from_shifts():
    present = {f"t{i}": Present(key=(i + 1) * 1000, occurrences=1) for i in range(5)}
    # An insertion at the top shifts every position: one added track, no move.
    top = plan_order(present, ["new", "t0", "t1", "t2", "t3", "t4"], range(6), [1] * 6)
    assert (top.added, top.moved, top.removed) == (["new"], [], [])
    assert top.keys[1:] == [1000, 2000, 3000, 4000, 5000]
    assert top.keys[0] < 1000
    # The last track dragged to the top: one move, not four.
    dragged = plan_order(present, ["t4", "t0", "t1", "t2", "t3"], range(5), [1] * 5)
    assert (dragged.added, dragged.moved) == ([], ["t4"])
    assert dragged.keys[0] < 1000 and dragged.keys[1:] == [1000, 2000, 3000, 4000]
    removal = plan_order(present, ["t0", "t2", "t3", "t4"], range(4), [1] * 4)
    assert (removal.removed, removal.moved, removal.keys) == (["t1"], [], [1000, 3000, 4000, 5000])


def test_plan_order_renumbers_when_neighbours_leave_no_room():
    present = {"a": Present(key=1, occurrences=1), "b": Present(key=2, occurrences=1)}
    plan = plan_order(present, ["a", "new", "b"], range(3), [1] * 3)
    assert plan.renumbered
    assert plan.keys == sorted(plan.keys) and len(set(plan.keys)) == 3


def test_add_remove_readd_move_rename_give_exactly_the_expected_versions():
    a, b, c, d = TrackFactory.create_batch(4)
    states = [
        ([a, b, c], {}),
        ([a, b, c, d], {}),  # d added
        ([a, c, d], {}),  # b removed
        ([a, b, c, d], {}),  # b back
        ([d, a, b, c], {}),  # d moved to the top
        ([d, a, b, c], {"name": "Renamed"}),  # renamed only
        ([d, a, b, c, a], {"name": "Renamed"}),  # a twice
    ]
    results = [load(tracks, n, **fields) for n, (tracks, fields) in enumerate(states)]
    assert [counts(result) for result in results] == [
        (1, 3, 0, 0),
        (2, 1, 0, 0),
        (3, 0, 1, 0),
        (4, 1, 0, 0),
        (5, 0, 0, 1),
        (6, 0, 0, 0),
        (7, 0, 0, 0),
    ]
    for number, (tracks, _) in enumerate(states, start=1):
        assert as_of(number) == served(tracks), f"version {number}"
    versions = queries.playlist_versions(playlist_id="p-history")
    assert [v["renamed"] for v in versions] == [False] * 5 + [True, False]
    assert [v["tracks"] for v in versions] == [3, 4, 3, 4, 4, 4, 4]
    assert versions[1]["seen_at"] == day(1) and versions[1]["snapshot_id"] == "s1"
    # b left and came back: two spans, the first closed where it left.
    spans = PlaylistTrackSpan.objects.filter(playlist_id="p-history", track_id=b.id)
    assert sorted((s.valid_from, s.valid_to) for s in spans) == [(1, 3), (4, None)]
    diff = queries.playlist_diff(playlist_id="p-history", from_version=1, to_version=5)
    assert [row["track_id"] for row in diff.added] == [d.id]
    assert diff.removed == [] and diff.moved == []
    diff = queries.playlist_diff(playlist_id="p-history", from_version=4, to_version=5)
    assert [(row["track_id"], row["position_before"], row["position"]) for row in diff.moved] == [
        (d.id, 3, 0)
    ]


def test_an_unchanged_refresh_makes_no_version_and_writes_nothing():
    tracks = TrackFactory.create_batch(5)
    load(tracks, 0, snapshot_id="same")
    spans_before = list(PlaylistTrackSpan.objects.values_list("track_id", "valid_from", "valid_to"))
    result = load(tracks, 1, snapshot_id="same")
    assert result.version is None
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (0, 0, 0)
    assert PlaylistVersion.objects.count() == 1
    assert list(PlaylistTrackSpan.objects.values_list("track_id", "valid_from", "valid_to")) == (
        spans_before
    )


def test_a_new_snapshot_id_alone_makes_a_version_without_events():
    tracks = TrackFactory.create_batch(3)
    load(tracks, 0)
    assert counts(load(tracks, 1)) == (2, 0, 0, 0)


def test_an_insertion_at_the_top_writes_one_row_not_every_row():
    tracks = TrackFactory.create_batch(50)
    load(tracks, 0)
    result = load([TrackFactory(), *tracks], 1)
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (1, 0, 0)
    assert counts(result) == (2, 1, 0, 0)
    assert PlaylistTrackSpan.objects.count() == 51
    # Positions are order keys: ORDER BY position is still the playlist's order.
    ordered = PlaylistTrack.objects.filter(playlist_id="p-history").order_by("position")
    assert [row.track_id for row in ordered][1:] == [track.id for track in tracks]
    page = queries.playlist_tracks_page(playlist_id="p-history", sort="position")
    assert [row["position"] for row in page.rows] == list(range(50))


def test_many_insertions_at_one_spot_renumber_and_stay_in_order():
    first, last = TrackFactory(), TrackFactory()
    tracks = [first, last]
    load(tracks, 0)
    for n in range(1, 30):  # more than the gap allows between two keys
        tracks = [first, TrackFactory(), *tracks[1:]]
        load(tracks, n)
        assert as_of(n + 1) == served(tracks)


def test_a_failed_load_leaves_no_partial_version():
    tracks = TrackFactory.create_batch(3)
    load(tracks, 0)
    snapshot = snapshot_of([*tracks, TrackFactory()], playlist_id="p-history", snapshot_id="s1")
    rows = transform_snapshot(snapshot).rows
    rows.loc[3, "track_name"] = None
    rows.loc[3, "position"] = None  # violates NOT NULL
    with pytest.raises(IntegrityError):
        load_playlist(snapshot, rows, now=day(1))
    assert PlaylistVersion.objects.count() == 1
    assert PlaylistTrackSpan.objects.filter(valid_to__isnull=True).count() == 3
    assert as_of(1) == served(tracks)


def test_version_at_a_date_and_unknown_versions():
    tracks = TrackFactory.create_batch(2)
    load(tracks, 0)
    load(tracks[:1], 3)
    assert queries.version_at(playlist_id="p-history", when=day(2)) == 1
    assert queries.version_at(playlist_id="p-history", when=day(3)) == 2
    assert queries.version_at(playlist_id="p-history", when=day(-1)) is None
    assert as_of(99) == served(tracks[:1])  # past the latest: the state now
    assert queries.playlist_rows_as_of(playlist_id="p-history", version=0) == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_loads_of_one_playlist_get_consecutive_versions():
    base = TrackFactory.create_batch(3)
    load(base, 0)
    errors = []

    def refresh(n):
        try:
            load([*base, TrackFactory()], n)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = list(PlaylistVersion.objects.order_by("version").values_list("version", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
    assert PlaylistTrackSpan.objects.filter(valid_to__isnull=True).count() == 4


@pytest.mark.django_db(transaction=True)
def test_backfill_gives_each_playlist_version_one_from_todays_rows():
    executor = MigrationExecutor(connection)
    executor.migrate([("warehouse", "0003_track_cache")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO warehouse_playlists (playlist_id, name, description, owner_id, "
            "owner_name, image_url, collaborative, source, snapshot_id, snapshot_seen_at, "
            "total_items, created_at) VALUES "
            "('old', 'Old', '', '', '', '', false, 'spotify_api', 'snap', %s, 3, %s)",
            [T0, T0],
        )
        for track_id, position, removed_at in (("x", 0, None), ("y", 1, T0), ("z", 1, None)):
            cursor.execute(
                "INSERT INTO playlist_tracks (playlist_id, track_id, track_duration_ms, position, "
                "occurrences, first_seen_at, last_seen_at, removed_at, loaded_at) "
                "VALUES ('old', %s, 1000, %s, 1, %s, %s, %s, %s)",
                [track_id, position, T0, T0, removed_at, T0],
            )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    version = PlaylistVersion.objects.get(playlist_id="old")
    assert (version.version, version.tracks, version.duration_ms, version.added) == (1, 2, 2000, 2)
    assert (version.snapshot_id, version.seen_at) == ("snap", T0)
    assert as_of(1, "old") == [("x", 1), ("z", 1)]
    # The next refresh builds on it: z moved to the top is one move.
    result = load_playlist(
        *_rows_for("old", ["z", "x"]),
        now=day(1),
    )
    assert counts(result) == (2, 0, 0, 1)


def _rows_for(playlist_id, track_ids):
    tracks = [TrackFactory(id=track_id) for track_id in track_ids]
    snapshot = snapshot_of(tracks, playlist_id=playlist_id, snapshot_id="snap2", name="Old")
    return snapshot, transform_snapshot(snapshot).rows


def test_a_batch_of_new_playlists_opens_one_span_per_row_and_versions_on_from_there():
    # The bulk path (MPD slices): version 1 of new playlists copies its spans
    # from the rows just written; the next batch versions only the changes.
    from ingestion.transform import transform_snapshots
    from warehouse.loader import load_playlists

    a, b, c = TrackFactory.create_batch(3)
    first = [
        snapshot_of([a, b, a], playlist_id="bulk-1", snapshot_id="x", name="Bulk"),
        snapshot_of([c], playlist_id="bulk-2", snapshot_id="x", name="Bulk"),
        snapshot_of([], playlist_id="bulk-3", snapshot_id="x", name="Bulk"),
    ]
    second = [
        snapshot_of(
            [b, a, a, c], playlist_id="bulk-1", snapshot_id="y", name="Bulk"
        ),  # b moved, c added
        snapshot_of([c], playlist_id="bulk-2", snapshot_id="x", name="Bulk"),  # unchanged
        snapshot_of([a], playlist_id="bulk-3", snapshot_id="y", name="Bulk"),
    ]
    for n, batch in enumerate((first, second)):
        rows = transform_snapshots(batch)
        load_playlists([(s, r.rows) for s, r in zip(batch, rows, strict=True)], now=day(n))
    spans = PlaylistTrackSpan.objects.filter(playlist_id="bulk-1", valid_from=1)
    stored = {
        row.track_id: row.position for row in PlaylistTrack.objects.filter(playlist_id="bulk-1")
    }
    assert {(s.track_id, s.occurrences) for s in spans} == {(a.id, 2), (b.id, 1)}
    assert all(s.sort_key > 0 for s in spans)
    assert {s.track_id: s.sort_key for s in spans if s.valid_to is None} == {
        track_id: key for track_id, key in stored.items() if track_id in (a.id,)
    }
    assert as_of(1, "bulk-1") == [(a.id, 2), (b.id, 1)]
    assert as_of(2, "bulk-1") == [(b.id, 1), (a.id, 2), (c.id, 1)]
    assert as_of(1, "bulk-2") == [(c.id, 1)] and as_of(1, "bulk-3") == []
    assert as_of(2, "bulk-3") == [(a.id, 1)]
    versions = PlaylistVersion.objects.order_by("playlist_id", "version")
    assert [(v.playlist_id, v.version, v.tracks, v.added, v.moved) for v in versions] == [
        ("bulk-1", 1, 2, 2, 0),
        ("bulk-1", 2, 3, 1, 1),
        ("bulk-2", 1, 1, 1, 0),
        ("bulk-3", 1, 0, 0, 0),
        ("bulk-3", 2, 1, 1, 0),
    ]
