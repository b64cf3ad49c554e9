"""Selectors over the whole warehouse (SQLite and PostgreSQL)."""

import pytest

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.snapshot import ArtistRef
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

LEAD = ArtistRef(id="lead", name="Lead")
GUEST = ArtistRef(id="guest", name="Guest")
SOLO = ArtistRef(id="solo", name="Solo")


def load(tracks, **fields):
    snapshot = snapshot_of(tracks, **fields)
    load_playlist(snapshot, transform_snapshot(snapshot).rows)
    return snapshot


def test_it_counts_playlist_entries_per_artist_across_all_playlists():
    duet = TrackFactory(artists=(LEAD, GUEST))
    lead_solo = TrackFactory(artists=(LEAD,))
    solo = TrackFactory(artists=(SOLO,))
    load([duet, lead_solo, solo, LocalTrackFactory()])
    load([duet, solo, duet])  # a repeated track is one row
    load([lead_solo])
    assert queries.warehouse_top_artists(limit=10) == [
        {"artist_id": "lead", "name": "Lead", "playlist_tracks": 4},
        {"artist_id": "guest", "name": "Guest", "playlist_tracks": 2},
        {"artist_id": "solo", "name": "Solo", "playlist_tracks": 2},
    ]


def test_it_limits_and_ignores_removed_rows():
    first, second = TrackFactory(artists=(LEAD,)), TrackFactory(artists=(GUEST,))
    snapshot = load([first, second], playlist_id="p1", snapshot_id="one")
    assert len(queries.warehouse_top_artists(limit=1)) == 1
    # The next snapshot of p1 drops `second`: its row is marked removed.
    load([first], playlist_id=snapshot.playlist_id, snapshot_id="two")
    assert queries.warehouse_top_artists() == [
        {"artist_id": "lead", "name": "Lead", "playlist_tracks": 1}
    ]


def test_an_empty_warehouse_has_no_top_artists():
    assert queries.warehouse_top_artists() == []
