"""Artists, albums and tracks: the sandbox catalog's music, and the benchmarks' pool.

``generate_music(rng, artists=…, albums=…)`` returns them as :class:`Music`. The
recipe draws from `rng` in a fixed order; the sandbox catalog's ids depend on it.
"""

import itertools
import random
import string
from dataclasses import dataclass, field

from devtools.synthetic.primitives import (
    COUNTRIES,
    LABELS,
    album_name,
    artist_name,
    duration_ms,
    isrc,
    pick_genres,
    random_id,
    release_date,
    track_name,
)

_ALNUM_UP = string.ascii_uppercase + string.digits


@dataclass(slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...] | None  # None: the ``genres`` key is absent from responses
    popularity: int
    followers: int


@dataclass(slots=True)
class Album:
    id: str
    name: str
    artist_ids: tuple[str, ...]
    album_type: str
    release_date: str
    release_date_precision: str
    label: str
    popularity: int
    upc: str
    track_ids: list[str] = field(default_factory=list, compare=False)


@dataclass(slots=True)
class Track:
    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    duration_ms: int
    explicit: bool
    isrc: str
    track_number: int
    disc_number: int
    popularity: int


@dataclass(slots=True)
class Music:
    artists: dict[str, Artist]
    albums: dict[str, Album]
    tracks: dict[str, Track]


def generate_music(
    rng: random.Random,
    *,
    artists: int,
    albums: int | None = None,
    tracks: int | None = None,
    unknown_genres: float = 0.02,
) -> Music:
    """`artists` artists, then albums of 1 to 9 tracks: `albums` of them, or as many as
    give at least `tracks` tracks. Every artist has at least one album if there are
    as many albums as artists."""
    artist_map = generate_artists(rng, artists, unknown_genres=unknown_genres)
    album_map, track_map = generate_albums(rng, list(artist_map), albums=albums, tracks=tracks)
    return Music(artist_map, album_map, track_map)


def generate_artists(rng, count, *, unknown_genres=0.02):
    artists = {}
    for _ in range(count):
        artist_id = random_id(rng)
        popularity = min(100, int(abs(rng.gauss(0, 35))))
        name, genres = artist_name(rng), pick_genres(rng, unknown=unknown_genres)
        followers = int(popularity**3 * rng.uniform(5, 20))
        artists[artist_id] = Artist(artist_id, name, genres, popularity, followers)
    return artists


def generate_albums(rng, artist_ids, *, albums=None, tracks=None):
    """(albums, tracks) by id. Per-track values come from pools indexed by one random
    word: a catalog of 30,000 tracks takes a fraction of a second."""
    if albums is None and tracks is None:
        raise ValueError("say how many albums or how many tracks")
    name_pool = [track_name(rng) for _ in range(4096)]
    duration_pool = [duration_ms(rng) for _ in range(1024)]
    popularity_pool = [max(0, min(100, int(rng.gauss(35, 20)))) for _ in range(256)]
    album_map, track_map = {}, {}
    for i in itertools.count():
        if i == albums or (tracks is not None and len(track_map) >= tracks):
            break
        album, n_tracks = _album(rng, i, artist_ids)
        album_map[album.id] = album
        country, registrant = rng.choice(COUNTRIES), "".join(rng.choices(_ALNUM_UP, k=3))
        discs = 2 if n_tracks >= 9 and rng.random() < 0.15 else 1
        per_disc = (n_tracks + discs - 1) // discs
        for t in range(n_tracks):
            track_id = random_id(rng)
            bits = rng.getrandbits(64)
            track_artists = album.artist_ids
            if (bits >> 50) % 100 < 12:  # 12% feature one more artist
                featured = artist_ids[(bits >> 20) % len(artist_ids)]
                if featured not in track_artists:
                    track_artists = (*album.artist_ids, featured)[:3]
            track_map[track_id] = Track(
                track_id,
                name_pool[bits & 0xFFF],
                album.id,
                track_artists,
                duration_pool[(bits >> 12) & 0x3FF],
                (bits >> 22) % 5 == 0,
                isrc(country, registrant, album.release_date, (bits >> 25) % 100000),
                t % per_disc + 1,
                t // per_disc + 1,
                popularity_pool[(bits >> 42) & 0xFF],
            )
            album.track_ids.append(track_id)
    return album_map, track_map


def _album(rng, index, artist_ids):
    """The `index`-th album (without its tracks yet) and how many tracks it has."""
    album_id = random_id(rng)
    main = artist_ids[index] if index < len(artist_ids) else rng.choice(artist_ids)
    n_artists = rng.choices((1, 2, 3), weights=(88, 9, 3))[0]
    extra = [a for a in rng.sample(artist_ids, n_artists - 1) if a != main] if n_artists > 1 else []
    r = rng.random()
    if r < 0.32:
        album_type, n_tracks = "single", rng.randint(1, 3)
    elif r < 0.92:
        album_type, n_tracks = "album", rng.randint(4, 9)
    else:
        album_type, n_tracks = "compilation", rng.randint(3, 8)
    date, precision = release_date(rng)
    return Album(
        album_id,
        album_name(rng),
        (main, *extra),
        album_type,
        date,
        precision,
        rng.choice(LABELS),
        rng.randint(0, 100),
        f"{rng.randint(0, 10**12 - 1):012d}",
    ), n_tracks
