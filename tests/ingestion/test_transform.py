import pandas as pd

from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem
from ingestion.transform import release_years, transform_snapshot


def test_it_takes_the_release_year_from_every_precision():
    dates = pd.Series(["1987-05-12", "1987-05", "1987", "0000", None])
    assert release_years(dates).tolist() == [1987, 1987, 1987, pd.NA, pd.NA]


def test_it_converts_durations_to_seconds():
    result = transform_snapshot(snapshot_of([TrackFactory(duration_ms=215_432)]))
    row = result.rows.iloc[0]
    assert row["track_duration_ms"] == 215_432
    assert row["track_duration_sec"] == 215.432


def test_it_counts_a_track_present_twice_once_with_occurrences():
    again = TrackFactory()
    other = TrackFactory()
    result = transform_snapshot(snapshot_of([again, other, again, again]))
    rows = result.rows.set_index("track_id")
    assert len(rows) == 2
    assert rows.loc[again.id, "occurrences"] == 3
    assert rows.loc[again.id, "position"] == 0
    assert rows.loc[other.id, "position"] == 1


def test_it_unions_the_genres_of_all_artists_primary_first():
    lead, guest = ArtistRef("a" * 22, "Lead"), ArtistRef("b" * 22, "Guest")
    genres = {lead.id: ["indie pop", "dream pop"], guest.id: ["dream pop", "shoegaze"]}
    result = transform_snapshot(snapshot_of([TrackFactory(artists=(lead, guest))], genres=genres))
    row = result.rows.iloc[0]
    assert row["track_genres"] == ["indie pop", "dream pop", "shoegaze"]
    assert row["artist_ids"] == [lead.id, guest.id]
    assert row["artist_names"] == ["Lead", "Guest"]


def test_it_leaves_genres_empty_when_artists_have_none_or_unknown():
    listed_none, unknown = ArtistRef("c" * 22, "Quiet"), ArtistRef("d" * 22, "Gone")
    tracks = [TrackFactory(artists=(listed_none,)), TrackFactory(artists=(unknown,))]
    result = transform_snapshot(snapshot_of(tracks, genres={listed_none.id: [], unknown.id: None}))
    assert result.rows["track_genres"].tolist() == [[], []]
    assert result.rows_without_genres == 2


def test_it_keeps_local_files_as_rows_keyed_by_their_uri():
    local = LocalTrackFactory()
    result = transform_snapshot(snapshot_of([local]))
    row = result.rows.iloc[0]
    assert row["track_id"] == local.uri
    assert row["is_local"]
    assert row["artist_ids"] == []
    assert row["artist_names"] == ["Some Artist"]
    assert pd.isna(row["release_year"])


def test_it_skips_episodes_and_unavailable_items_and_counts_them_by_reason():
    track = TrackFactory()
    items = [
        track,
        PlaylistItem(position=0, kind=ItemKind.EPISODE),
        PlaylistItem(position=0, kind=ItemKind.UNAVAILABLE),
        PlaylistItem(position=0, kind=ItemKind.UNAVAILABLE),
    ]
    result = transform_snapshot(snapshot_of(items))
    assert result.rows["track_id"].tolist() == [track.id]
    assert result.items_total == 4
    assert result.items_skipped == {"episode": 1, "unavailable": 2}


def test_it_handles_an_empty_playlist():
    result = transform_snapshot(snapshot_of([]))
    assert result.rows.empty
    assert result.items_skipped == {}


def test_it_keeps_unknown_values_missing_rather_than_inventing_them():
    track = TrackFactory(explicit=None, isrc=None, duration_ms=None, album_release_date="0000")
    row = transform_snapshot(snapshot_of([track])).rows.iloc[0]
    assert pd.isna(row["track_explicit"])
    assert row["track_isrc"] is None
    assert pd.isna(row["track_duration_ms"])
    assert pd.isna(row["release_year"])
    assert pd.isna(row["track_popularity"])
