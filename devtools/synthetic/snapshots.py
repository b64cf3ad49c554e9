"""Normalized playlist snapshots: factory-boy factories for the tests, and the
benchmarks' playlists of generated music (``benchmark_snapshots``)."""

import datetime as dt

import factory

from devtools.synthetic.music import generate_music
from devtools.synthetic.primitives import (
    awkward,
    isrc,
    numbered_id,
    seeded,
    track_name,
)
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source


def spotify_id(n, prefix="t"):
    """A deterministic 22-character id: `prefix`, then `n` zero-padded."""
    return numbered_id(n, prefix)


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
    isrc = factory.Sequence(lambda n: isrc("US", "ABC", "2024", n))
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


# --- the benchmarks' playlists ------------------------------------------------------------
def benchmark_snapshots(rows_total, playlists, *, seed):
    """`playlists` snapshots of ``rows_total // playlists`` rows each, drawn from one
    pool of generated music (so playlists overlap): 2% local files, ~1% of items
    repeating an earlier track (one row, ``occurrences = 2``), names that exercise
    escaping (``awkward``), 2% of tracks without an ISRC, 10% of artists with
    unknown genres."""
    rng = seeded(seed)
    per_playlist = rows_total // playlists
    pool_size = max(int(per_playlist * 1.2), int(rows_total * 0.6))
    music = generate_music(rng, artists=5000, tracks=pool_size, unknown_genres=0.10)
    artists = {a.id: ArtistRef(id=a.id, name=awkward(rng, a.name)) for a in music.artists.values()}
    genres = {a.id: None if a.genres is None else list(a.genres) for a in music.artists.values()}
    pool = [_snapshot_track(rng, music, track, artists) for track in music.tracks.values()]
    out = []
    for p in range(playlists):
        n_local = per_playlist // 50
        tracks = rng.sample(pool, per_playlist - n_local)
        tracks += [LocalTrackFactory(name=awkward(rng, track_name(rng))) for _ in range(n_local)]
        rng.shuffle(tracks)
        items = list(tracks)
        for _ in range(per_playlist // 100):
            items.insert(rng.randrange(len(items) + 1), rng.choice(tracks[:1000]))
        name = f"Benchmark playlist {p} — {awkward(rng, track_name(rng))}"
        out.append(snapshot_of(items, genres=genres, playlist_id=spotify_id(p, "p"), name=name))
    return out


def _snapshot_track(rng, music, track, artists):
    album = music.albums[track.album_id]
    return Track(
        id=track.id,
        uri=f"spotify:track:{track.id}",
        name=awkward(rng, track.name),
        duration_ms=track.duration_ms,
        explicit=track.explicit,
        isrc=None if rng.random() < 0.02 else track.isrc,
        album_id=album.id,
        album_name=awkward(rng, album.name),
        album_release_date=album.release_date,
        album_release_date_precision=album.release_date_precision,
        artists=tuple(artists[artist_id] for artist_id in track.artist_ids),
    )
