"""The building blocks every synthetic generator shares.

Functions that take ``rng`` draw from it in a fixed order, so a generator built on
them gives the same output for the same seed. Changing the order of the draws (or
the vocabularies below) changes every id of the sandbox catalog.
"""

import calendar
import random
import string
import time

BASE62 = string.digits + string.ascii_letters
#: Spotify's release date when it does not know it (precision "year").
UNKNOWN_RELEASE_DATE = "0000"


def seeded(seed, *salt) -> random.Random:
    """A random generator for `seed`; with `salt`, one independent stream per salt
    (e.g. per MPD slice), the same on every run."""
    if salt:
        return random.Random(":".join(str(part) for part in (seed, *salt)))
    return random.Random(seed)


# --- ids ----------------------------------------------------------------------------------
_ID_TABLE = bytes(ord(BASE62[b % 62]) for b in range(256))


def random_id(rng: random.Random) -> str:
    """A random 22-character base-62 id, like Spotify's."""
    return rng.randbytes(22).translate(_ID_TABLE).decode("ascii")


def hashed_id(number: int, salt: int) -> str:
    """A 22-character base-62 id that looks random, distinct per (number, salt)."""
    value = (number * 1_000_003 + salt) * 2_654_435_761 + salt
    digits = []
    for _ in range(22):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def numbered_id(number: int, prefix: str = "") -> str:
    """A 22-character id that shows its number (``prefix`` then zero-padded digits)."""
    return f"{prefix}{number:0{22 - len(prefix)}d}"


def isrc(country: str, registrant: str, release_date: str, serial: int) -> str:
    """An ISRC: country, registrant, the release year's last two digits, a serial."""
    return f"{country}{registrant}{release_date[2:4]}{serial:05d}"


# --- vocabularies -------------------------------------------------------------------------
def _split_words(text):
    return tuple(text.split())


def _split_bars(text):
    return tuple(text.split("|"))


GENRES = _split_bars(
    "pop|dance pop|indie pop|art pop|synthpop|electropop|k-pop|j-pop|c-pop|latin pop|rock|"
    "indie rock|alternative rock|classic rock|hard rock|garage rock|post-punk|punk|emo|"
    "shoegaze|dream pop|nu metal|heavy metal|death metal|black metal|metalcore|hip hop|rap|"
    "trap|drill|boom bap|conscious hip hop|r&b|neo soul|soul|funk|disco|house|deep house|"
    "techno|trance|drum and bass|dubstep|ambient|idm|jazz|bebop|jazz fusion|bossa nova|"
    "samba|mpb|reggaeton|salsa|cumbia|afrobeats|reggae|dancehall|country|americana|"
    "bluegrass|folk|singer-songwriter|chanson|schlager|classical|baroque|opera|soundtrack|"
    "lo-fi beats|icelandic indie"
)
FIRST_NAMES = _split_words(
    "Ava Liam Noah Mia Ezra Nina Oscar Ruby Jonah Lena Felix Maya Theo Iris Jude Clara "
    "Marcus Sade Omar Priya Kenji Lucia Tomás Ines Rafael Greta Ivan Aaliyah Devon Harper"
)
LAST_NAMES = _split_words(
    "Stone Rivers Hayes Monroe Vega Okafor Lindqvist Moreau Kaplan Reyes Nakamura Bishop "
    "Ferreira Hart Castillo Novak Sato Quinn Delgado Archer Baptiste Kowalski Mendes Holt "
    "Wilde Santos"
)
ADJECTIVES = _split_words(
    "Velvet Electric Silent Golden Broken Neon Paper Crystal Midnight Wild Hollow Lunar "
    "Crimson Static Tender Savage Blue Young Distant Burning Quiet Violet Endless Sunday "
    "Northern Glass"
)
NOUNS = _split_words(
    "Heart River Echo Garden Ghost Signal Mirror Harbor Horizon Fever Tide Machine Sparrow "
    "Canyon Lantern Season Orbit Ocean Thunder Window Summer Shadow Diamond Highway "
    "Satellite Bloom"
)
PLURAL_NOUNS = _split_words(
    "Wolves Lights Tigers Kings Strangers Daughters Horses Rockets Saints Ghosts Foxes "
    "Pilots Sisters Machines Waves Giants"
)
UNICODE_ARTISTS = _split_bars(
    "Björt Hljóð|Sigur Ljós|Mø Ørsted|Zoë Lefèvre|Ólafur Eldar|Chloé Bérénice|Łukasz Żak|"
    "Ñandú Ñu|Ásgeir Þór|Jóhanna Guðrún|Sébastien Tellier-ish|坂本 空|宇多田 光輝|林 明星|周 杰|"
    "하늘빛|별빛 소녀|Звёзды|Кино Ночь|Νεφέλη|نور الهدى|Beyoncé-ish|Motörhead Jr.|Sigrún Dögg|"
    "Ǣlfrǣd|Dvořák Ensemble|Crème Brûlée|Ïlse Ünter|Ça Va Ça Va|東京事変ズ"
)
NUMERIC_ALBUMS = _split_words("1989 21 25 1999 2112 4 III 19 30 808 1000")
UNICODE_ALBUMS = _split_bars(
    "Ágætis dögun|Ríkidæmi|東京 夜景|夜明け|봄날의 기억|Été Indien|Ñoño|Über Alles Liebe|Сны|"
    "Ωμέγα|L'Été Sans Fin|Cœur de Pirate-ish"
)
TRACK_SUFFIXES = _split_bars(
    " - Remastered 2009| - Radio Edit| (Live)| - Acoustic| (Demo)| - 2011 Remaster|"
    " (Extended Mix)| - Single Version"
)
COUNTRIES = _split_words("US GB SE DE FR JP KR BR IS CA AU NL ES")
LABELS = _split_bars(
    "Sandbox Records|Velvet Tide Music|Northern Lights Ltd.|Paper Crown|"
    "Glasshouse Recordings|Orbit Sound|Independent"
)
#: Scripts the names above lack, for names that must exercise every encoding path.
AWKWARD_WORDS = _split_bars("नमस्ते|🎶|دنيا|사랑|Straße|naïve|l'été|Ωmega")


# --- names --------------------------------------------------------------------------------
def artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return rng.choice(UNICODE_ARTISTS)
    if r < 0.30:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if r < 0.48:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}"
    if r < 0.62:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if r < 0.72:
        return f"{rng.choice(LAST_NAMES)} & the {rng.choice(PLURAL_NOUNS)}"
    if r < 0.80:
        return f"DJ {rng.choice(LAST_NAMES)}"
    if r < 0.90:
        return f"{rng.choice(NOUNS)}{rng.choice(NOUNS).lower()}"
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(NOUNS)}"


def album_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return rng.choice(NUMERIC_ALBUMS)
    if r < 0.07:
        return rng.choice(UNICODE_ALBUMS)
    if r < 0.40:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}"
    if r < 0.65:
        return rng.choice(NOUNS)
    if r < 0.75:
        return f"{rng.choice(NOUNS)} (Deluxe Edition)"
    if r < 0.82:
        return f"Live at the {rng.choice(NOUNS)}"
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def track_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        base = rng.choice(UNICODE_ALBUMS)
    elif r < 0.40:
        base = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    elif r < 0.60:
        base = rng.choice(NOUNS)
    elif r < 0.75:
        base = f"{rng.choice(NOUNS)} of the {rng.choice(PLURAL_NOUNS)}"
    elif r < 0.85:
        base = f"{rng.choice(FIRST_NAMES)}'s {rng.choice(NOUNS)}"
    else:
        base = f"{rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}"
    if rng.random() < 0.08:
        base += rng.choice(TRACK_SUFFIXES)
    return base


def awkward(rng: random.Random, name: str) -> str:
    """`name`, sometimes with what escaping code must survive: a featured artist in
    another script (5%), backslashes and quotes (1%), a tab (0.2%)."""
    roll = rng.random()
    if roll < 0.05:
        return f"{name} (feat. {rng.choice(AWKWARD_WORDS)})"
    if roll < 0.06:
        return name + ' \\ back\\slash "quoted"'
    if roll < 0.062:
        return name + "\twith a tab"
    return name


# --- numbers, dates, genres ---------------------------------------------------------------
def duration_ms(rng: random.Random) -> int:
    """Mostly ~3.5 minutes; a few very short or very long tracks (30 s to 12 min)."""
    r = rng.random()
    if r < 0.02:
        ms = rng.randint(30_000, 90_000)
    elif r < 0.06:
        ms = rng.randint(300_000, 720_000)
    else:
        ms = int(rng.gauss(215_000, 40_000))
    return max(30_000, min(720_000, ms))


def release_date(rng: random.Random) -> tuple[str, str]:
    """(date, precision): mostly recent days; some months, years, and 1% Spotify's
    unknown "0000"."""
    year = 2026 - int(abs(rng.gauss(0, 20)))
    if year < 1955:
        year = rng.randint(1955, 1975)
    r = rng.random()
    if r < 0.01:
        return UNKNOWN_RELEASE_DATE, "year"
    if r < 0.20:
        return f"{year:04d}", "year"
    if r < 0.30:
        return f"{year:04d}-{rng.randint(1, 12):02d}", "month"
    return f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "day"


def pick_genres(rng: random.Random, *, unknown: float = 0.02) -> tuple[str, ...] | None:
    """An artist's genres: None (Spotify sends no ``genres`` key) for a share
    `unknown`, none listed for 15%, else one to four."""
    r = rng.random()
    if r < unknown:
        return None
    if r < unknown + 0.15:
        return ()
    n = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
    return tuple(rng.sample(GENRES, n))


def timestamp(year: int, month: int = 1, day: int = 1) -> int:
    """Seconds since the epoch at noon UTC of that day."""
    return calendar.timegm((year, month, day, 12, 0, 0, 0, 0, 0))


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def spread_dates(rng: random.Random, count: int, start: int, end: int) -> list[str]:
    """`count` ISO timestamps between `start` and `end` (epoch seconds), in order."""
    return [iso(s) for s in sorted(rng.randint(start, end) for _ in range(count))]
