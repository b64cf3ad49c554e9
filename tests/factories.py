"""factory-boy factories for the normalized snapshot and warehouse rows."""

import datetime as dt

import factory

from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source


def spotify_id(n, prefix="t"):
    """A deterministic 22-character base-62 id."""
    return f"{prefix}{n:021d}"


class ArtistRefFactory(factory.Factory):
    class Meta:
        model = ArtistRef

    id = factory.Sequence(lambda n: spotify_id(n, "a"))
    name = factory.Sequence(lambda n: f"Artist {n}")


class TrackFactory(factory.Factory):
    class Meta:
        model = Track

    id = factory.Sequence(lambda n: spotify_id(n))
    uri = factory.LazyAttribute(lambda track: f"spotify:track:{track.id}")
    name = factory.Sequence(lambda n: f"Track {n}")
    duration_ms = 215_000
    explicit = False
    isrc = factory.Sequence(lambda n: f"USABC24{n:05d}")
    album_id = factory.Sequence(lambda n: spotify_id(n, "b"))
    album_name = "An Album"
    album_release_date = "1997-05-12"
    album_release_date_precision = "day"
    artists = factory.LazyFunction(lambda: (ArtistRefFactory(),))


class LocalTrackFactory(TrackFactory):
    id = None
    uri = factory.Sequence(lambda n: f"spotify:local:Some+Artist:Some+Album:Home+Demo+{n}:215")
    isrc = None
    album_id = None
    album_release_date = None
    album_release_date_precision = None
    artists = factory.LazyFunction(lambda: (ArtistRef(id=None, name="Some Artist"),))


class PlaylistItemFactory(factory.Factory):
    class Meta:
        model = PlaylistItem

    position = factory.Sequence(lambda n: n)
    kind = ItemKind.TRACK
    track = factory.SubFactory(TrackFactory)
    added_at = factory.LazyFunction(lambda: dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC))
    added_by = "sandbox-demo"


class PlaylistSnapshotFactory(factory.Factory):
    class Meta:
        model = PlaylistSnapshot

    playlist_id = factory.Sequence(lambda n: spotify_id(n, "p"))
    name = factory.Sequence(lambda n: f"Playlist {n}")
    source = Source.SPOTIFY_API
    snapshot_id = "snap-1"
    items = factory.LazyFunction(list)
    artist_genres = factory.LazyFunction(dict)


def snapshot_of(tracks, *, genres=None, **fields):
    """A snapshot whose items are `tracks` (Track or PlaylistItem) in order."""
    items = []
    for position, entry in enumerate(tracks):
        if isinstance(entry, PlaylistItem):
            items.append(PlaylistItemFactory(position=position, kind=entry.kind, track=entry.track))
        else:
            kind = ItemKind.LOCAL if entry.id is None else ItemKind.TRACK
            items.append(PlaylistItemFactory(position=position, kind=kind, track=entry))
    return PlaylistSnapshotFactory(
        items=items, total_items=len(items), artist_genres=genres or {}, **fields
    )
