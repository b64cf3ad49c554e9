"""Deterministic generated catalog for the Spotify sandbox.

Pure standard library. ``build_catalog(seed)`` returns an immutable-by-convention
:class:`Catalog` (cached per seed, so many servers can share it). Well-known playlist
ids are module constants that do not depend on the seed; everything else (artist,
album, track ids, names, items) is derived from ``random.Random(seed)``: the music by
``devtools.synthetic.music``, the sandbox's playlists, episodes and users here.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote_plus

from devtools.synthetic.music import Album, Artist, Track, generate_music
from devtools.synthetic.primitives import (  # BASE62 and GENRES: the sandbox imports them here
    ADJECTIVES,
    BASE62,  # noqa: F401
    GENRES,  # noqa: F401
    PLURAL_NOUNS,
    random_id,
    seeded,
    spread_dates,
    timestamp,
)

DEFAULT_SEED = 20261126

# --- users -------------------------------------------------------------------------------
DEMO_USER_ID = "sandbox-demo"
ALICE_USER_ID = "sandbox-alice"
BOB_USER_ID = "sandbox-bob"
CAROL_USER_ID = "sandbox-carol"
DAVE_USER_ID = "sandbox-dave"
#: A sixth listener: not on the app's default allow-list of five (Development Mode).
ERIN_USER_ID = "sandbox-erin"
SPOTIFY_USER_ID = "spotify"
REFRESH_TOKEN_PREFIX = "sandbox-refresh-"  # sandbox only: pre-issued refresh tokens
DEMO_REFRESH_TOKEN = REFRESH_TOKEN_PREFIX + DEMO_USER_ID
ALICE_REFRESH_TOKEN = REFRESH_TOKEN_PREFIX + ALICE_USER_ID
BOB_REFRESH_TOKEN = REFRESH_TOKEN_PREFIX + BOB_USER_ID
ERIN_REFRESH_TOKEN = REFRESH_TOKEN_PREFIX + ERIN_USER_ID
#: Development Mode lets at most 5 users use an app; these are on its allow-list.
DEFAULT_ALLOW_LIST = (DEMO_USER_ID, ALICE_USER_ID, BOB_USER_ID, CAROL_USER_ID, DAVE_USER_ID)
PRE_ISSUED_SCOPE = "playlist-read-private playlist-read-collaborative user-read-private"

# --- well-known playlists ----------------------------------------------------------------
#: Playlists owned by sandbox-demo, keyed by number of items.
DEMO_PLAYLISTS: dict[int, str] = {
    0: "USOE7yqiZB6gSyW3QuX9M6",
    1: "7eNxSp9UDZVWJRo08c9FxI",
    50: "atrRtFSQYeY98OY7YinIgf",
    51: "3TLj9NjSl1p7gBmYvw4gLx",
    237: "j5sjVOjclUwHZ2eIo9oAT9",
    1000: "sJN63c3DZBD760ujiPFRPg",
    10000: "tZ1eeQkUL7371aZ6sGIkQd",
}
MIXED_PLAYLIST_ID = "RhjuOZdTfJsZPlFVEZQUaP"
LEGACY_SHAPE_PLAYLIST_ID = "kLfOulW57rtNO8JA92Nuye"
COLLAB_PLAYLIST_ID = "HWPugObf3IDZmbviizcJAU"
OTHER_USER_PLAYLIST_ID = "efYN1P9aM2sZBUWC0x7RJ5"
PRIVATE_PLAYLIST_ID = "o92dJvdGTRHRmKaV1FfGVn"
BOB_PUBLIC_PLAYLIST_ID = "fZa24MNBIBKY4U7u8jzrAH"
EDITORIAL_PLAYLIST_ID = "37i9dQZF1DXcBWIGoYBM5M"  # Today's Top Hits
DISCOVER_WEEKLY_PLAYLIST_ID = "37i9dQZEVXcQ9COmYvdajy"
EDITORIAL_PLAYLIST_IDS = (EDITORIAL_PLAYLIST_ID, DISCOVER_WEEKLY_PLAYLIST_ID)


# --- data types --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Episode:
    id: str
    name: str
    duration_ms: int
    show_id: str
    show_name: str
    publisher: str
    release_date: str
    description: str


@dataclass(frozen=True, slots=True)
class LocalFile:
    name: str
    artist_name: str
    album_name: str
    duration_ms: int
    has_external_ids: bool = True  # False: key absent; True: ``{}`` like Spotify sends

    @property
    def uri(self) -> str:
        parts = (self.artist_name, self.album_name, self.name)
        return (
            "spotify:local:"
            + ":".join(quote_plus(p) for p in parts)
            + (f":{self.duration_ms // 1000}")
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    display_name: str
    account_id: str
    refresh_token: str


class PlaylistItem(NamedTuple):
    """One row of a playlist. ``kind`` is "track", "episode", "local" or "unavailable"."""

    kind: str
    ref: str | LocalFile | None  # track/episode id, LocalFile, or None (unavailable)
    added_at: str | None
    added_by: str | None  # user id


@dataclass(frozen=True, slots=True)
class Playlist:
    id: str
    name: str
    description: str | None
    owner_id: str
    public: bool
    collaborative: bool
    collaborators: tuple[str, ...]
    items: tuple[PlaylistItem, ...]
    legacy_shape: bool = False  # items carry only the deprecated ``track`` key
    deprecated_track_key: bool = False  # items carry ``item`` AND ``track``
    followers: int = 0
    image_style: str = "mosaic"  # "mosaic" (3 sizes), "single" (no size), "none" (null)

    @property
    def editorial(self) -> bool:
        return self.owner_id == SPOTIFY_USER_ID


@dataclass(slots=True)
class Catalog:
    seed: int
    artists: dict[str, Artist]
    albums: dict[str, Album]
    tracks: dict[str, Track]
    episodes: dict[str, Episode]
    users: dict[str, User]
    playlists: dict[str, Playlist]
    follows: dict[str, tuple[str, ...]]  # user id -> followed (not owned) playlist ids
    artist_ids: list[str]
    album_ids: list[str]
    track_ids: list[str]
    demo_playlists: dict[int, str] = field(default_factory=lambda: dict(DEMO_PLAYLISTS))


# --- generation --------------------------------------------------------------------------
def account_id_for(user_id: str) -> str:
    return "acc-" + hashlib.sha256(f"sandbox-account:{user_id}".encode()).hexdigest()[:16]


def _generate(seed: int) -> Catalog:  # noqa: C901 - a linear recipe
    rng = seeded(seed)
    music = generate_music(rng, artists=3000, albums=6000)
    artists, albums, tracks = music.artists, music.albums, music.tracks
    artist_ids, album_ids, track_ids = list(artists), list(albums), list(tracks)

    # episodes
    episodes: dict[str, Episode] = {}
    shows = [
        (random_id(rng), "The Sandbox Hour", "Sandbox Radio"),
        (random_id(rng), "Café Conversations — Gespräche", "Ünïcödé Media"),
        (random_id(rng), "Data & Music", "Playlist Analytics"),
    ]
    for i in range(9):
        show_id, show_name, publisher = shows[i % 3]
        eid = random_id(rng)
        episodes[eid] = Episode(
            eid,
            f"Episode {i + 1}: {rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}",
            rng.randint(600_000, 5_400_000),
            show_id,
            show_name,
            publisher,
            f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "An episode with <b>HTML</b> &amp; entities in its description.",
        )
    episode_ids = list(episodes)

    # users
    users = {
        uid: User(uid, name, account_id_for(uid), REFRESH_TOKEN_PREFIX + uid)
        for uid, name in (
            (DEMO_USER_ID, "Demo Listener"),
            (ALICE_USER_ID, "Alice Ångström"),
            (BOB_USER_ID, "Bob"),
            (CAROL_USER_ID, "Carol"),
            (DAVE_USER_ID, "Dave"),
            (ERIN_USER_ID, "Erin (not allow-listed)"),
            (SPOTIFY_USER_ID, "Spotify"),
        )
    }

    # playlists
    playlists: dict[str, Playlist] = {}

    def simple_items(n, owner, start_year, *, nulls=0, by=None, unique=True):
        chosen = rng.sample(track_ids, n) if unique else rng.choices(track_ids, k=n)
        dates = spread_dates(rng, n, timestamp(start_year), timestamp(2026, 11, 1))
        adders = by or (owner,)
        out = []
        for pos, (tid, at) in enumerate(zip(chosen, dates, strict=True)):
            if pos < nulls:
                out.append(PlaylistItem("track", tid, None, None))
            else:
                out.append(PlaylistItem("track", tid, at, adders[pos % len(adders)]))
        return tuple(out)

    demo_specs = [
        # size, name, description, collaborative, collaborators, deprecated key, images
        (0, "Empty — nothing here yet", "", False, (), True, "none"),
        (1, "Solo · 一曲だけ", None, True, (BOB_USER_ID,), False, "single"),
        (
            50,
            "Fifty Exactly <script>alert(1)</script>",
            'Songs &amp; more <a href="spotify:user:x">link</a>',
            False,
            (),
            True,
            "mosaic",
        ),
        (
            51,
            "Fifty-One & Counting (Ålesund mix)",
            "Made with friends &#x2F; for friends",
            True,
            (ALICE_USER_ID,),
            False,
            "mosaic",
        ),
        (
            237,
            "Late Night 🌙 Drive",
            "Für die Fahrt nach Hause — &quot;leise&quot;",
            False,
            (),
            True,
            "single",
        ),
        (
            1000,
            "Thousand Tracks — Ünïcödé Mix",
            "One thousand songs. <i>No skips.</i>",
            False,
            (),
            False,
            "mosaic",
        ),
        (
            10000,
            "The Big One (10k) 大きい",
            "Everything, forever &amp; ever.",
            False,
            (),
            True,
            "mosaic",
        ),
    ]
    for size, name, desc, collab, collaborators, dep, img in demo_specs:
        pid = DEMO_PLAYLISTS[size]
        nulls = 5 if size >= 1000 else 0
        items = simple_items(
            size,
            DEMO_USER_ID,
            2013 if size >= 1000 else 2019,
            nulls=nulls,
            by=(DEMO_USER_ID, *collaborators),
        )
        playlists[pid] = Playlist(
            pid,
            name,
            desc,
            DEMO_USER_ID,
            public=not collab,
            collaborative=collab,
            collaborators=collaborators,
            items=items,
            deprecated_track_key=dep,
            followers=rng.randint(0, 40),
            image_style=img,
        )

    # mixed playlist
    no_genre = [t for t in track_ids[:6000] if artists[tracks[t].artist_ids[0]].genres == ()]
    absent_genre = [t for t in track_ids[:12000] if artists[tracks[t].artist_ids[0]].genres is None]
    by_precision: dict[str, list[str]] = {"day": [], "month": [], "year": [], "0000": []}
    for tid in track_ids:
        alb = albums[tracks[tid].album_id]
        key = "0000" if alb.release_date == "0000" else alb.release_date_precision
        if len(by_precision[key]) < 3:
            by_precision[key].append(tid)
        if all(len(v) >= 3 for v in by_precision.values()):
            break
    dup2, dup3 = rng.sample(track_ids, 2)
    special: list[tuple[str, object]] = []
    special += [("track", dup2)] * 2 + [("track", dup3)] * 3
    special += [("track", t) for t in no_genre[:3]] + [("track", t) for t in absent_genre[:2]]
    for tids in by_precision.values():
        special += [("track", t) for t in tids[:2]]
    special += [("episode", e) for e in episode_ids[:2]]
    special += [("unavailable", None)] * 3
    special += [
        ("local", LocalFile("Demo Take 3", "The Garage Band", "Basement Tapes", 215_000)),
        (
            "local",
            LocalFile("Tōkyō Yoru (voice memo)", "Sigur Ljós", "Ríkidæmi & Friends", 187_400),
        ),
        ("local", LocalFile("untitled", "", "", 61_000, has_external_ids=False)),
    ]
    used = {ref for kind, ref in special if kind == "track"}
    fillers = [t for t in rng.sample(track_ids, 120) if t not in used][: 120 - len(special)]
    rows = special + [("track", t) for t in fillers]
    rng.shuffle(rows)
    dates = spread_dates(rng, len(rows), timestamp(2016), timestamp(2026, 10, 1))
    mixed = []
    for pos, ((kind, ref), at) in enumerate(zip(rows, dates, strict=True)):
        if pos < 2:
            mixed.append(PlaylistItem(kind, ref, None, None))
        else:
            mixed.append(PlaylistItem(kind, ref, at, DEMO_USER_ID if pos % 7 else None))
    playlists[MIXED_PLAYLIST_ID] = Playlist(
        MIXED_PLAYLIST_ID,
        "Mixed Bag: local files, episodes & gaps",
        "Local files, podcast episodes, unavailable items, duplicates &amp; odd dates.",
        DEMO_USER_ID,
        public=True,
        collaborative=False,
        collaborators=(),
        items=tuple(mixed),
        deprecated_track_key=True,
        followers=3,
    )

    legacy = list(simple_items(60, DEMO_USER_ID, 2015))
    legacy[17] = PlaylistItem("unavailable", None, legacy[17].added_at, DEMO_USER_ID)
    playlists[LEGACY_SHAPE_PLAYLIST_ID] = Playlist(
        LEGACY_SHAPE_PLAYLIST_ID,
        "Legacy Shape (track key only)",
        "Old-style item objects.",
        DEMO_USER_ID,
        public=True,
        collaborative=False,
        collaborators=(),
        items=tuple(legacy),
        legacy_shape=True,
        followers=1,
        image_style="single",
    )
    playlists[COLLAB_PLAYLIST_ID] = Playlist(
        COLLAB_PLAYLIST_ID,
        "Alice & Demo — Shared Ξ",
        "We both add songs here.",
        ALICE_USER_ID,
        public=False,
        collaborative=True,
        collaborators=(DEMO_USER_ID,),
        items=simple_items(80, ALICE_USER_ID, 2021, by=(ALICE_USER_ID, DEMO_USER_ID)),
        followers=2,
    )
    playlists[OTHER_USER_PLAYLIST_ID] = Playlist(
        OTHER_USER_PLAYLIST_ID,
        "Alice's Public Picks",
        "Public, but not yours.",
        ALICE_USER_ID,
        public=True,
        collaborative=False,
        collaborators=(),
        items=simple_items(75, ALICE_USER_ID, 2020),
        deprecated_track_key=True,
        followers=120,
    )
    playlists[PRIVATE_PLAYLIST_ID] = Playlist(
        PRIVATE_PLAYLIST_ID,
        "Bob's Secret Stash",
        "Nobody else should see this.",
        BOB_USER_ID,
        public=False,
        collaborative=False,
        collaborators=(),
        items=simple_items(30, BOB_USER_ID, 2022),
    )
    playlists[BOB_PUBLIC_PLAYLIST_ID] = Playlist(
        BOB_PUBLIC_PLAYLIST_ID,
        "Bob's Gym Mix",
        "",
        BOB_USER_ID,
        public=True,
        collaborative=False,
        collaborators=(),
        items=simple_items(40, BOB_USER_ID, 2023),
        deprecated_track_key=True,
        followers=7,
    )
    playlists[EDITORIAL_PLAYLIST_ID] = Playlist(
        EDITORIAL_PLAYLIST_ID,
        "Today's Top Hits",
        "The hottest 50. Cover: somebody famous.",
        SPOTIFY_USER_ID,
        public=True,
        collaborative=False,
        collaborators=(),
        items=simple_items(50, SPOTIFY_USER_ID, 2026),
        followers=34_000_000,
    )
    playlists[DISCOVER_WEEKLY_PLAYLIST_ID] = Playlist(
        DISCOVER_WEEKLY_PLAYLIST_ID,
        "Discover Weekly",
        "Your weekly mixtape of fresh music.",
        SPOTIFY_USER_ID,
        public=False,
        collaborative=False,
        collaborators=(),
        items=simple_items(30, SPOTIFY_USER_ID, 2026),
        image_style="single",
    )

    follows = {
        DEMO_USER_ID: (OTHER_USER_PLAYLIST_ID,),
        ALICE_USER_ID: (DEMO_PLAYLISTS[237],),
        BOB_USER_ID: (),
        CAROL_USER_ID: (),
        DAVE_USER_ID: (),
        ERIN_USER_ID: (),
        SPOTIFY_USER_ID: (),
    }
    return Catalog(
        seed=seed,
        artists=artists,
        albums=albums,
        tracks=tracks,
        episodes=episodes,
        users=users,
        playlists=playlists,
        follows=follows,
        artist_ids=artist_ids,
        album_ids=album_ids,
        track_ids=track_ids,
    )


_CACHE: dict[int, Catalog] = {}
_CACHE_LOCK = threading.Lock()


def build_catalog(seed: int = DEFAULT_SEED) -> Catalog:
    """Return the catalog for ``seed`` (generated once per process, then cached).

    Treat the result as read-only: servers copy playlist contents into their own state.
    """
    with _CACHE_LOCK:
        cat = _CACHE.get(seed)
        if cat is None:
            cat = _CACHE[seed] = _generate(seed)
        return cat
