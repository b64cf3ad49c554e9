"""Synthetic Million Playlist Dataset slices, for tests and benchmarks.

The real dataset may never be committed (its licence forbids redistribution), so
this writes files of the same shape and realistic sizes: playlist lengths skewed
around a mean of ~66 tracks (5 to 250, like the dataset), drawn from a catalog of
~2.2 tracks per playlist (2.2 million at the full million playlists) with a few
popular tracks drawn far more often than the long tail. Deterministic per seed.
"""

import json
import math
from pathlib import Path

from devtools.synthetic.primitives import hashed_id, seeded

TRACKS_PER_PLAYLIST_IN_CATALOG = 2.2
TRACKS_PER_ALBUM = 3
ALBUMS_PER_ARTIST = 2.5
# Lognormal lengths: exp(mu + sigma²/2) ≈ 66 tracks before clamping to 5…250.
_LENGTH_MU, _LENGTH_SIGMA = math.log(66) - 0.32, 0.8
MIN_TRACKS, MAX_TRACKS = 5, 250
# index = catalog × u^POPULARITY_SKEW: a higher skew concentrates draws on few tracks.
POPULARITY_SKEW = 2.5
_NAMES = (
    *("chill", "workout", "road trip", "throwback", "party", "sleep", "focus", "summer"),
    *("country", "rap", "indie", "jams", "Oldies", "feels", "study", "worship", "90s"),
)
EPOCH_2010, EPOCH_2017 = 1262304000, 1509494400


def generate_slices(out: Path, *, slices: int, playlists_per_slice: int = 1000, seed: int = 0):
    """Write `slices` slice files into `out`; their paths, in order."""
    out.mkdir(parents=True, exist_ok=True)
    catalog_size = max(1, round(slices * playlists_per_slice * TRACKS_PER_PLAYLIST_IN_CATALOG))
    paths = []
    for index in range(slices):
        start = index * playlists_per_slice
        document = synthetic_slice(start, playlists_per_slice, catalog_size=catalog_size, seed=seed)
        path = out / f"mpd.slice.{start}-{start + playlists_per_slice - 1}.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def synthetic_slice(start: int, count: int, *, catalog_size: int, seed: int = 0) -> dict:
    rng = seeded(seed, start)
    return {
        "info": {
            "generated_on": "synthetic",
            "slice": f"{start}-{start + count - 1}",
            "version": "v1-synthetic",
        },
        "playlists": [_playlist(start + offset, rng, catalog_size) for offset in range(count)],
    }


def _playlist(pid, rng, catalog_size):
    length = int(rng.lognormvariate(_LENGTH_MU, _LENGTH_SIGMA))
    length = min(MAX_TRACKS, max(MIN_TRACKS, length))
    indexes = [int(catalog_size * rng.random() ** POPULARITY_SKEW) for _ in range(length)]
    tracks = [_track(position, index) for position, index in enumerate(indexes)]
    playlist = {
        "name": rng.choice(_NAMES),
        "collaborative": "true" if rng.random() < 0.02 else "false",
        "pid": pid,
        "modified_at": rng.randrange(EPOCH_2010, EPOCH_2017),
        "num_tracks": length,
        "num_albums": len({track["album_uri"] for track in tracks}),
        "num_followers": max(1, int(rng.paretovariate(1.5))),
        "num_edits": rng.randrange(1, 40),
        "duration_ms": sum(track["duration_ms"] for track in tracks),
        "num_artists": len({track["artist_uri"] for track in tracks}),
        "tracks": tracks,
    }
    if rng.random() < 0.02:  # about 2% of MPD playlists have a description
        playlist["description"] = "songs &amp; more for " + playlist["name"]
    return playlist


def _track(position, index):
    album = index // TRACKS_PER_ALBUM
    artist = int(album / ALBUMS_PER_ARTIST)
    return {
        "pos": position,
        "artist_name": f"Artist {artist}",
        "track_uri": f"spotify:track:{hashed_id(index, 1)}",
        "artist_uri": f"spotify:artist:{hashed_id(artist, 2)}",
        "track_name": f"Track {index}",
        "album_uri": f"spotify:album:{hashed_id(album, 3)}",
        # 2 to 6 minutes, fixed per track.
        "duration_ms": 120_000 + (index * 7919) % 240_000,
        "album_name": f"Album {album}",
    }
