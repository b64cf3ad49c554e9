"""`transform_snapshots` (one pandas pass for many playlists) against `transform_snapshot`."""

import datetime as dt
import random

import pandas as pd
import pytest

from devtools.synthetic.mpd import generate_slices
from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.files.mpd import read_slice
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem
from ingestion.transform import ROW_COLUMNS, transform_snapshot, transform_snapshots
from warehouse.models import Source


def _values(frame):
    """The rows as the loader sees them: Python objects, missing values as None."""
    return frame.loc[:, list(ROW_COLUMNS)].to_numpy(dtype=object, na_value=None).tolist()


def _assert_same(batch, one_by_one):
    assert len(batch) == len(one_by_one)
    for got, expected in zip(batch, one_by_one, strict=True):
        assert list(got.rows.columns) == list(expected.rows.columns) == list(ROW_COLUMNS)
        assert _values(got.rows) == _values(expected.rows)
        assert got.rows.index.tolist() == list(range(len(expected.rows)))
        assert got.items_total == expected.items_total
        assert got.items_skipped == expected.items_skipped
        assert got.rows_without_genres == expected.rows_without_genres


def _mixed_snapshots():
    """Playlists of every shape: repeats, local files, skipped items, genres or not,
    missing values, dates or none, out-of-order and tied positions, empty ones."""
    rng = random.Random(5)
    lead, guest = ArtistRef("a" * 22, "Lead"), ArtistRef("b" * 22, "Guest")
    shared = [TrackFactory() for _ in range(6)]
    genres = {lead.id: ["indie pop", "dream pop"], guest.id: ["dream pop", "shoegaze"]}
    featured = TrackFactory(artists=(lead, guest), duration_ms=None, explicit=None)
    unknown_year = TrackFactory(album_release_date="0000", popularity=71)
    snapshots = [
        snapshot_of([shared[0], shared[1], shared[0], shared[0], LocalTrackFactory()]),
        snapshot_of([]),
        snapshot_of([featured, shared[0], TrackFactory(artists=(guest,))], genres=genres),
        snapshot_of(
            [
                PlaylistItem(position=0, kind=ItemKind.EPISODE),
                shared[2],
                PlaylistItem(position=0, kind=ItemKind.UNAVAILABLE),
                unknown_year,
            ]
        ),
        snapshot_of([PlaylistItem(position=0, kind=ItemKind.AUDIOBOOK)]),
        snapshot_of([rng.choice(shared) for _ in range(40)], source=Source.EXPORTIFY),
        snapshot_of([featured, TrackFactory(artists=(lead,))], genres={lead.id: None}),
    ]
    # Positions out of order and tied, added dates missing in one playlist.
    shuffled = snapshot_of([TrackFactory() for _ in range(8)] + [shared[3], shared[3]])
    for index, item in enumerate(shuffled.items):
        shuffled.items[index] = PlaylistItem(
            position=(index * 7) % 5,
            kind=item.kind,
            track=item.track,
            added_at=None if index % 3 else dt.datetime(2020, 1, index + 1, tzinfo=dt.UTC),
            added_by=None,
        )
    snapshots.append(shuffled)
    return snapshots


def test_it_gives_the_same_rows_as_one_playlist_at_a_time_on_mixed_playlists():
    snapshots = _mixed_snapshots()
    _assert_same(transform_snapshots(snapshots), [transform_snapshot(s) for s in snapshots])


def test_it_gives_the_same_rows_on_an_mpd_slice(tmp_path):
    (path,) = generate_slices(tmp_path, slices=1, playlists_per_slice=40, seed=11)
    snapshots = read_slice(path)
    batch = transform_snapshots(snapshots)
    one_by_one = [transform_snapshot(s) for s in snapshots]
    _assert_same(batch, one_by_one)
    # MPD rows are homogeneous, so the dtypes match too.
    for got, expected in zip(batch, one_by_one, strict=True):
        pd.testing.assert_frame_equal(got.rows, expected.rows)


@pytest.mark.parametrize("snapshots", [[], [snapshot_of([])], [snapshot_of([]), snapshot_of([])]])
def test_it_handles_no_playlists_and_only_empty_ones(snapshots):
    results = transform_snapshots(snapshots)
    assert len(results) == len(snapshots)
    assert all(result.rows.empty for result in results)
    assert all(list(result.rows.columns) == list(ROW_COLUMNS) for result in results)


def test_each_playlist_gets_its_own_genre_lists():
    artist = ArtistRef("c" * 22, "Someone")
    track = TrackFactory(artists=(artist,))
    with_genres = snapshot_of([track], genres={artist.id: ["jazz"]})
    without = snapshot_of([track])
    first, second = transform_snapshots([with_genres, without])
    assert first.rows["track_genres"].tolist() == [["jazz"]]
    assert second.rows["track_genres"].tolist() == [[]]
    assert (first.rows_without_genres, second.rows_without_genres) == (0, 1)
