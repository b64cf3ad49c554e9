"""Deterministic generated catalog for the Spotify sandbox.

Pure standard library. ``build_catalog(seed)`` returns an immutable-by-convention
:class:`Catalog` (cached per seed, so many servers can share it). Well-known playlist
ids are module constants that do not depend on the seed; everything else (artist,
album, track ids, names, items) is derived from ``random.Random(seed)``.
"""

from __future__ import annotations

import calendar
import hashlib
import random
import string
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote_plus

DEFAULT_SEED = 20261126
BASE62 = string.digits + string.ascii_letters

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

# --- vocabularies ------------------------------------------------------------------------
GENRES = (
    "pop",
    "dance pop",
    "indie pop",
    "art pop",
    "synthpop",
    "electropop",
    "k-pop",
    "j-pop",
    "c-pop",
    "latin pop",
    "rock",
    "indie rock",
    "alternative rock",
    "classic rock",
    "hard rock",
    "garage rock",
    "post-punk",
    "punk",
    "emo",
    "shoegaze",
    "dream pop",
    "nu metal",
    "heavy metal",
    "death metal",
    "black metal",
    "metalcore",
    "hip hop",
    "rap",
    "trap",
    "drill",
    "boom bap",
    "conscious hip hop",
    "r&b",
    "neo soul",
    "soul",
    "funk",
    "disco",
    "house",
    "deep house",
    "techno",
    "trance",
    "drum and bass",
    "dubstep",
    "ambient",
    "idm",
    "jazz",
    "bebop",
    "jazz fusion",
    "bossa nova",
    "samba",
    "mpb",
    "reggaeton",
    "salsa",
    "cumbia",
    "afrobeats",
    "reggae",
    "dancehall",
    "country",
    "americana",
    "bluegrass",
    "folk",
    "singer-songwriter",
    "chanson",
    "schlager",
    "classical",
    "baroque",
    "opera",
    "soundtrack",
    "lo-fi beats",
    "icelandic indie",
)
_FIRST = (
    "Ava",
    "Liam",
    "Noah",
    "Mia",
    "Ezra",
    "Nina",
    "Oscar",
    "Ruby",
    "Jonah",
    "Lena",
    "Felix",
    "Maya",
    "Theo",
    "Iris",
    "Jude",
    "Clara",
    "Marcus",
    "Sade",
    "Omar",
    "Priya",
    "Kenji",
    "Lucia",
    "Tomás",
    "Ines",
    "Rafael",
    "Greta",
    "Ivan",
    "Aaliyah",
    "Devon",
    "Harper",
)
_LAST = (
    "Stone",
    "Rivers",
    "Hayes",
    "Monroe",
    "Vega",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Kaplan",
    "Reyes",
    "Nakamura",
    "Bishop",
    "Ferreira",
    "Hart",
    "Castillo",
    "Novak",
    "Sato",
    "Quinn",
    "Delgado",
    "Archer",
    "Baptiste",
    "Kowalski",
    "Mendes",
    "Holt",
    "Wilde",
    "Santos",
)
_ADJ = (
    "Velvet",
    "Electric",
    "Silent",
    "Golden",
    "Broken",
    "Neon",
    "Paper",
    "Crystal",
    "Midnight",
    "Wild",
    "Hollow",
    "Lunar",
    "Crimson",
    "Static",
    "Tender",
    "Savage",
    "Blue",
    "Young",
    "Distant",
    "Burning",
    "Quiet",
    "Violet",
    "Endless",
    "Sunday",
    "Northern",
    "Glass",
)
_NOUN = (
    "Heart",
    "River",
    "Echo",
    "Garden",
    "Ghost",
    "Signal",
    "Mirror",
    "Harbor",
    "Horizon",
    "Fever",
    "Tide",
    "Machine",
    "Sparrow",
    "Canyon",
    "Lantern",
    "Season",
    "Orbit",
    "Ocean",
    "Thunder",
    "Window",
    "Summer",
    "Shadow",
    "Diamond",
    "Highway",
    "Satellite",
    "Bloom",
)
_NOUN_PL = (
    "Wolves",
    "Lights",
    "Tigers",
    "Kings",
    "Strangers",
    "Daughters",
    "Horses",
    "Rockets",
    "Saints",
    "Ghosts",
    "Foxes",
    "Pilots",
    "Sisters",
    "Machines",
    "Waves",
    "Giants",
)
_UNICODE_ARTISTS = (
    "Björt Hljóð",
    "Sigur Ljós",
    "Mø Ørsted",
    "Zoë Lefèvre",
    "Ólafur Eldar",
    "Chloé Bérénice",
    "Łukasz Żak",
    "Ñandú Ñu",
    "Ásgeir Þór",
    "Jóhanna Guðrún",
    "Sébastien Tellier-ish",
    "坂本 空",
    "宇多田 光輝",
    "林 明星",
    "周 杰",
    "하늘빛",
    "별빛 소녀",
    "Звёзды",
    "Кино Ночь",
    "Νεφέλη",
    "نور الهدى",
    "Beyoncé-ish",
    "Motörhead Jr.",
    "Sigrún Dögg",
    "Ǣlfrǣd",
    "Dvořák Ensemble",
    "Crème Brûlée",
    "Ïlse Ünter",
    "Ça Va Ça Va",
    "東京事変ズ",
)
_NUMERIC_ALBUMS = ("1989", "21", "25", "1999", "2112", "4", "III", "19", "30", "808", "1000")
_UNICODE_ALBUMS = (
    "Ágætis dögun",
    "Ríkidæmi",
    "東京 夜景",
    "夜明け",
    "봄날의 기억",
    "Été Indien",
    "Ñoño",
    "Über Alles Liebe",
    "Сны",
    "Ωμέγα",
    "L'Été Sans Fin",
    "Cœur de Pirate-ish",
)
_TRACK_SUFFIX = (
    " - Remastered 2009",
    " - Radio Edit",
    " (Live)",
    " - Acoustic",
    " (Demo)",
    " - 2011 Remaster",
    " (Extended Mix)",
    " - Single Version",
)
_COUNTRIES = ("US", "GB", "SE", "DE", "FR", "JP", "KR", "BR", "IS", "CA", "AU", "NL", "ES")
_ALNUM_UP = string.ascii_uppercase + string.digits
_LABELS = (
    "Sandbox Records",
    "Velvet Tide Music",
    "Northern Lights Ltd.",
    "Paper Crown",
    "Glasshouse Recordings",
    "Orbit Sound",
    "Independent",
)


# --- data types --------------------------------------------------------------------------
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
_ID_TABLE = bytes(ord(BASE62[b % 62]) for b in range(256))


def _new_id(rng: random.Random) -> str:
    return rng.randbytes(22).translate(_ID_TABLE).decode("ascii")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _ts(year: int, month: int = 1, day: int = 1) -> int:
    return calendar.timegm((year, month, day, 12, 0, 0, 0, 0, 0))


def account_id_for(user_id: str) -> str:
    return "acc-" + hashlib.sha256(f"sandbox-account:{user_id}".encode()).hexdigest()[:16]


def _artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return rng.choice(_UNICODE_ARTISTS)
    if r < 0.30:
        return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    if r < 0.48:
        return f"The {rng.choice(_ADJ)} {rng.choice(_NOUN_PL)}"
    if r < 0.62:
        return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    if r < 0.72:
        return f"{rng.choice(_LAST)} & the {rng.choice(_NOUN_PL)}"
    if r < 0.80:
        return f"DJ {rng.choice(_LAST)}"
    if r < 0.90:
        return f"{rng.choice(_NOUN)}{rng.choice(_NOUN).lower()}"
    return f"{rng.choice(_FIRST)} {rng.choice(_NOUN)}"


def _album_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return rng.choice(_NUMERIC_ALBUMS)
    if r < 0.07:
        return rng.choice(_UNICODE_ALBUMS)
    if r < 0.40:
        return f"{rng.choice(_ADJ)} {rng.choice(_NOUN_PL)}"
    if r < 0.65:
        return rng.choice(_NOUN)
    if r < 0.75:
        return f"{rng.choice(_NOUN)} (Deluxe Edition)"
    if r < 0.82:
        return f"Live at the {rng.choice(_NOUN)}"
    return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"


def _track_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        base = rng.choice(_UNICODE_ALBUMS)
    elif r < 0.40:
        base = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    elif r < 0.60:
        base = rng.choice(_NOUN)
    elif r < 0.75:
        base = f"{rng.choice(_NOUN)} of the {rng.choice(_NOUN_PL)}"
    elif r < 0.85:
        base = f"{rng.choice(_FIRST)}'s {rng.choice(_NOUN)}"
    else:
        base = f"{rng.choice(_ADJ)} {rng.choice(_NOUN_PL)}"
    if rng.random() < 0.08:
        base += rng.choice(_TRACK_SUFFIX)
    return base


def _duration(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.02:
        ms = rng.randint(30_000, 90_000)
    elif r < 0.06:
        ms = rng.randint(300_000, 720_000)
    else:
        ms = int(rng.gauss(215_000, 40_000))
    return max(30_000, min(720_000, ms))


def _release(rng: random.Random) -> tuple[str, str]:
    year = 2026 - int(abs(rng.gauss(0, 20)))
    if year < 1955:
        year = rng.randint(1955, 1975)
    r = rng.random()
    if r < 0.01:
        return "0000", "year"
    if r < 0.20:
        return f"{year:04d}", "year"
    if r < 0.30:
        return f"{year:04d}-{rng.randint(1, 12):02d}", "month"
    return f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "day"


def _genres(rng: random.Random) -> tuple[str, ...] | None:
    r = rng.random()
    if r < 0.02:
        return None
    if r < 0.17:
        return ()
    n = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
    return tuple(rng.sample(GENRES, n))


def _spread_dates(rng: random.Random, n: int, start: int, end: int) -> list[str]:
    stamps = sorted(rng.randint(start, end) for _ in range(n))
    return [_iso(s) for s in stamps]


def _generate(seed: int) -> Catalog:  # noqa: C901 - a linear recipe
    rng = random.Random(seed)

    # artists
    artists: dict[str, Artist] = {}
    artist_ids: list[str] = []
    for _ in range(3000):
        aid = _new_id(rng)
        pop = min(100, int(abs(rng.gauss(0, 35))))
        artists[aid] = Artist(
            aid, _artist_name(rng), _genres(rng), pop, int(pop**3 * rng.uniform(5, 20))
        )
        artist_ids.append(aid)

    # albums + tracks (per-track values come from pools indexed by one random word: fast)
    name_pool = [_track_name(rng) for _ in range(4096)]
    dur_pool = [_duration(rng) for _ in range(1024)]
    pop_pool = [max(0, min(100, int(rng.gauss(35, 20)))) for _ in range(256)]
    albums: dict[str, Album] = {}
    album_ids: list[str] = []
    tracks: dict[str, Track] = {}
    track_ids: list[str] = []
    for i in range(6000):
        alid = _new_id(rng)
        main = artist_ids[i % 3000] if i < 3000 else rng.choice(artist_ids)
        n_art = rng.choices((1, 2, 3), weights=(88, 9, 3))[0]
        extra = [a for a in rng.sample(artist_ids, n_art - 1) if a != main] if n_art > 1 else []
        alb_artists = (main, *extra)
        r = rng.random()
        if r < 0.32:
            album_type, n_tracks = "single", rng.randint(1, 3)
        elif r < 0.92:
            album_type, n_tracks = "album", rng.randint(4, 9)
        else:
            album_type, n_tracks = "compilation", rng.randint(3, 8)
        release_date, precision = _release(rng)
        year2 = release_date[2:4]
        album = Album(
            alid,
            _album_name(rng),
            alb_artists,
            album_type,
            release_date,
            precision,
            rng.choice(_LABELS),
            rng.randint(0, 100),
            f"{rng.randint(0, 10**12 - 1):012d}",
        )
        albums[alid] = album
        album_ids.append(alid)
        country, registrant = rng.choice(_COUNTRIES), "".join(rng.choices(_ALNUM_UP, k=3))
        discs = 2 if n_tracks >= 9 and rng.random() < 0.15 else 1
        per_disc = (n_tracks + discs - 1) // discs
        for t in range(n_tracks):
            tid = _new_id(rng)
            bits = rng.getrandbits(64)
            t_artists = alb_artists
            if (bits >> 50) % 100 < 12:
                feat = artist_ids[(bits >> 20) % 3000]
                if feat not in t_artists:
                    t_artists = (*alb_artists, feat)[:3]
            tracks[tid] = Track(
                tid,
                name_pool[bits & 0xFFF],
                alid,
                t_artists,
                dur_pool[(bits >> 12) & 0x3FF],
                (bits >> 22) % 5 == 0,
                f"{country}{registrant}{year2}{(bits >> 25) % 100000:05d}",
                t % per_disc + 1,
                t // per_disc + 1,
                pop_pool[(bits >> 42) & 0xFF],
            )
            album.track_ids.append(tid)
            track_ids.append(tid)

    # episodes
    episodes: dict[str, Episode] = {}
    shows = [
        (_new_id(rng), "The Sandbox Hour", "Sandbox Radio"),
        (_new_id(rng), "Café Conversations — Gespräche", "Ünïcödé Media"),
        (_new_id(rng), "Data & Music", "Playlist Analytics"),
    ]
    for i in range(9):
        show_id, show_name, publisher = shows[i % 3]
        eid = _new_id(rng)
        episodes[eid] = Episode(
            eid,
            f"Episode {i + 1}: {rng.choice(_ADJ)} {rng.choice(_NOUN_PL)}",
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
        dates = _spread_dates(rng, n, _ts(start_year), _ts(2026, 11, 1))
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
    dates = _spread_dates(rng, len(rows), _ts(2016), _ts(2026, 10, 1))
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
