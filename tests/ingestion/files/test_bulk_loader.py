"""load_playlists (the bulk path) has load_playlist's semantics."""

import datetime as dt

import pytest
from django.db import IntegrityError

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse.loader import load_playlist, load_playlists
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def pairs(snapshots):
    return [(snapshot, transform_snapshot(snapshot).rows) for snapshot in snapshots]


def table_and_dimension():
    tracks = list(PlaylistTrack.objects.order_by("playlist_id", "track_id").values())
    playlists = list(Playlist.objects.order_by("pk").values())
    for playlist in playlists:
        playlist.pop("created_at")
    return tracks, playlists


def history():
    """Two loads of three playlists: removals, changes, an emptied playlist."""
    shared = TrackFactory()
    kept, dropped, renamed = TrackFactory.create_batch(3)
    first = [
        snapshot_of([shared, kept, dropped], playlist_id="p1", snapshot_id="a"),
        snapshot_of([shared, LocalTrackFactory()], playlist_id="p2", snapshot_id="a"),
        snapshot_of([renamed], playlist_id="p3", snapshot_id="a"),
    ]
    changed = TrackFactory(id=renamed.id, name="Renamed", artists=renamed.artists)
    second = [
        snapshot_of([shared, kept], playlist_id="p1", snapshot_id="b"),
        first[1],
        snapshot_of([changed], playlist_id="p3", snapshot_id="b"),
        snapshot_of([], playlist_id="p4", snapshot_id="a"),
    ]
    return first, second


def test_bulk_and_single_loads_leave_the_same_tables():
    first, second = history()
    one_by_one = [[load_playlist(s, r, now=now) for s, r in pairs(batch)]
                  for batch, now in ((first, T0), (second, T1))]  # fmt: skip
    expected = table_and_dimension()
    PlaylistTrack.objects.all().delete()
    Playlist.objects.all().delete()
    in_bulk = [load_playlists(pairs(batch), now=now) for batch, now in ((first, T0), (second, T1))]
    assert table_and_dimension() == expected
    assert in_bulk == one_by_one


def test_bulk_results_count_per_playlist():
    first, second = history()
    load_playlists(pairs(first), now=T0)
    p1, p2, p3, p4 = load_playlists(pairs(second), now=T1)
    # A new snapshot no longer rewrites the rows that stayed (issue 12: no write amplification).
    assert (p1.rows_removed, p1.rows_updated, p1.rows_inserted, p1.rows_unchanged) == (1, 0, 0, 2)
    assert (p2.rows_unchanged, p2.rows_updated) == (2, 0)
    assert (p3.rows_updated, p3.rows_removed) == (1, 0)
    assert (p4.rows_loaded, p4.rows_removed) == (0, 0)


def test_a_failed_bulk_load_leaves_nothing_behind():
    good, bad = snapshot_of([TrackFactory()]), snapshot_of(TrackFactory.create_batch(2))
    batch = pairs([good, bad])
    batch[1][1].loc[1, "position"] = None  # violates NOT NULL in the second playlist
    with pytest.raises(IntegrityError):
        load_playlists(batch, now=T0)
    assert not Playlist.objects.exists()
    assert not PlaylistTrack.objects.exists()


def test_a_playlist_twice_in_one_batch_is_refused():
    snapshot = snapshot_of([TrackFactory()])
    with pytest.raises(ValueError, match="more than once"):
        load_playlists(pairs([snapshot, snapshot]), now=T0)
