import datetime as dt
from dataclasses import replace

import pytest
from django.db import IntegrityError

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse.loader import load_playlist
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
T2 = T0 + dt.timedelta(days=2)


def load(snapshot, now):
    return load_playlist(snapshot, transform_snapshot(snapshot).rows, now=now)


def table(playlist_id):
    return list(PlaylistTrack.objects.filter(playlist_id=playlist_id).order_by("track_id").values())


def test_it_loads_every_column_with_its_type():
    track = TrackFactory(name="Tab\there, new\nline, back\\slash, ünïcødé ✓", explicit=True)
    snapshot = snapshot_of([track, LocalTrackFactory()], genres={track.artists[0].id: ["k-pop"]})
    result = load(snapshot, T0)
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (2, 0, 0)
    row = PlaylistTrack.objects.get(playlist_id=snapshot.playlist_id, track_id=track.id)
    assert row.track_name == track.name
    assert row.track_genres == ["k-pop"]
    assert row.artist_ids == [track.artists[0].id]
    assert row.track_explicit is True
    assert row.track_duration_sec == 215.0
    assert row.release_year == 1997
    assert row.album_release_date_precision == "day"
    assert row.added_at == dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    assert row.first_seen_at == row.last_seen_at == row.loaded_at == T0
    assert row.removed_at is None
    assert row.source == "spotify_api"
    local = PlaylistTrack.objects.get(playlist_id=snapshot.playlist_id, is_local=True)
    assert local.track_id.startswith("spotify:local:")
    assert Playlist.objects.get(pk=snapshot.playlist_id).snapshot_seen_at == T0


def test_it_writes_nothing_when_the_same_snapshot_is_loaded_again():
    snapshot = snapshot_of(TrackFactory.create_batch(5))
    load(snapshot, T0)
    before = table(snapshot.playlist_id)
    result = load(snapshot, T1)
    assert (result.rows_inserted, result.rows_updated, result.rows_unchanged) == (0, 0, 5)
    assert table(snapshot.playlist_id) == before


def test_it_updates_only_the_rows_that_changed():
    tracks = TrackFactory.create_batch(3)
    snapshot = snapshot_of(tracks)
    load(snapshot, T0)
    renamed = TrackFactory(id=tracks[1].id, name="Renamed", artists=tracks[1].artists)
    changed = snapshot_of([tracks[0], renamed, tracks[2]], playlist_id=snapshot.playlist_id)
    result = load(changed, T1)
    assert (result.rows_updated, result.rows_unchanged) == (1, 2)
    row = PlaylistTrack.objects.get(playlist_id=snapshot.playlist_id, track_id=tracks[1].id)
    assert (row.track_name, row.loaded_at, row.first_seen_at) == ("Renamed", T1, T0)


def test_it_marks_removed_tracks_and_clears_the_mark_when_they_come_back():
    kept, dropped = TrackFactory(), TrackFactory()
    playlist_id = snapshot_of([]).playlist_id
    load(snapshot_of([kept, dropped], playlist_id=playlist_id, snapshot_id="s1"), T0)

    result = load(snapshot_of([kept], playlist_id=playlist_id, snapshot_id="s2"), T1)
    assert result.rows_removed == 1
    gone = PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=dropped.id)
    assert gone.removed_at == T1
    assert gone.last_seen_at == T0
    # "Last seen" of a present track is the playlist's: its row is not rewritten.
    still = PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=kept.id)
    assert (still.last_seen_at, still.loaded_at) == (T0, T0)
    assert Playlist.objects.get(pk=playlist_id).snapshot_seen_at == T1

    result = load(snapshot_of([kept, dropped], playlist_id=playlist_id, snapshot_id="s3"), T2)
    assert result.rows_removed == 0
    back = PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=dropped.id)
    assert back.removed_at is None
    assert (back.first_seen_at, back.last_seen_at) == (T0, T2)


def test_a_removal_is_not_repeated_by_a_later_load():
    kept, dropped = TrackFactory(), TrackFactory()
    playlist_id = snapshot_of([]).playlist_id
    load(snapshot_of([kept, dropped], playlist_id=playlist_id, snapshot_id="s1"), T0)
    load(snapshot_of([kept], playlist_id=playlist_id, snapshot_id="s2"), T1)
    result = load(snapshot_of([kept], playlist_id=playlist_id, snapshot_id="s2"), T2)
    assert result.rows_removed == 0
    assert PlaylistTrack.objects.get(track_id=dropped.id).removed_at == T1


def test_it_keeps_playlists_apart():
    shared = TrackFactory()
    first, second = snapshot_of([shared]), snapshot_of([shared])
    load(first, T0)
    load(second, T0)
    load(snapshot_of([], playlist_id=first.playlist_id, snapshot_id="empty"), T1)
    assert PlaylistTrack.objects.get(playlist_id=first.playlist_id).removed_at == T1
    assert PlaylistTrack.objects.get(playlist_id=second.playlist_id).removed_at is None


def test_a_failed_load_leaves_nothing_behind():
    snapshot = snapshot_of(TrackFactory.create_batch(3))
    rows = transform_snapshot(snapshot).rows
    rows.loc[2, "position"] = None  # violates NOT NULL half-way through the load
    with pytest.raises(IntegrityError):
        load_playlist(snapshot, rows, now=T0)
    assert not Playlist.objects.filter(pk=snapshot.playlist_id).exists()
    assert table(snapshot.playlist_id) == []


def test_values_that_look_like_copy_syntax_arrive_intact():
    odd = ["\\N", "back\\slash", "tab\there", "new\nline", "cr\rhere", "", "null"]
    tracks = [TrackFactory(name=name, album_name=name) for name in odd]
    snapshot = snapshot_of(tracks)
    load(snapshot, T0)
    loaded = PlaylistTrack.objects.filter(playlist_id=snapshot.playlist_id).order_by("position")
    assert [(row.track_name, row.album_name) for row in loaded] == [(n, n) for n in odd]


def test_added_at_survives_missing_values_and_other_time_zones():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    snapshot = snapshot_of(TrackFactory.create_batch(3))
    snapshot.items = [
        replace(item, added_at=added_at)
        for item, added_at in zip(
            snapshot.items,
            [
                None,
                dt.datetime(2024, 1, 1, 12, tzinfo=plus_two),
                dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            ],
            strict=True,
        )
    ]
    load(snapshot, T0)
    rows = PlaylistTrack.objects.filter(playlist_id=snapshot.playlist_id).order_by("position")
    assert [row.added_at for row in rows] == [
        None,
        dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
    ]
    everything_missing = snapshot_of(TrackFactory.create_batch(2))
    everything_missing.items = [replace(item, added_at=None) for item in everything_missing.items]
    load(everything_missing, T0)
    assert not PlaylistTrack.objects.filter(
        playlist_id=everything_missing.playlist_id, added_at__isnull=False
    ).exists()


def test_rows_are_written_in_chunks_with_the_same_outcome(monkeypatch):
    monkeypatch.setattr("warehouse.loader.WRITE_CHUNK", 3)
    tracks = TrackFactory.create_batch(8)
    snapshot = snapshot_of(tracks)
    first = load(snapshot, T0)
    assert (first.rows_inserted, len(table(snapshot.playlist_id))) == (8, 8)
    newcomer = TrackFactory()
    again = load(snapshot_of([*tracks[:6], newcomer], playlist_id=snapshot.playlist_id), T1)
    assert (again.rows_inserted, again.rows_unchanged, again.rows_removed) == (1, 6, 2)
    present = {row["track_id"] for row in table(snapshot.playlist_id) if not row["removed_at"]}
    assert present == {track.id for track in [*tracks[:6], newcomer]}
