"""When two tracks count as the same: the duplicate rules, with their reasons as data.

Three rules, strongest first (a pair is explained by the first that holds):

- `SAME_ID`: the same Spotify track id (a repeat within a playlist, or the
  same track in several playlists);
- `SAME_ISRC`: the same recording on different releases (the single and the
  album version share an ISRC, not an id);
- `SAME_SONG`: probably the same song: the same primary artist, durations
  within `DURATION_TOLERANCE_MS`, and titles alike once normalised (case,
  accents, punctuation, "feat." forms), as rapidfuzz's ratio judges them.

A title marked as a version (live, acoustic, remix, demo, instrumental,
karaoke, sped up, a remaster year…) is a different recording from the plain
one: such titles match only titles with the same marks, unless matching is
`loose`, which ignores the marks (and the featured artists).
"""

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz

DURATION_TOLERANCE_MS = 2_000
# rapidfuzz's ratio (0–100) from which two normalised titles are the same title:
# allows a typo or a missing article in a long title, not another word in a short one.
TITLE_SIMILARITY = 90.0


class Reason(StrEnum):
    SAME_ID = "same_id"
    SAME_ISRC = "same_isrc"
    SAME_SONG = "same_song"


# What each reason says on a page, in a CSV and in `manage.py duplicates`.
EXPLANATIONS = {
    Reason.SAME_ID: "the same Spotify track",
    Reason.SAME_ISRC: "the same recording (same ISRC) on another release",
    Reason.SAME_SONG: "probably the same song: same title and primary artist, length within 2 s",
}

# Version marks, by name: a title carrying one is another recording of the song.
VARIANTS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "live": r"\blive\b",
        "acoustic": r"\bacoustic\b|\bunplugged\b",
        "remix": r"\bre-?mix(ed)?\b|\bmix\b|\bedit\b|\brework\b|\bdub\b",
        "demo": r"\bdemo\b",
        "instrumental": r"\binstrumental\b",
        "karaoke": r"\bkaraoke\b",
        "sped up": r"\bsped[ -]?up\b|\bspeed up\b|\bnightcore\b",
        "slowed": r"\bslowed\b|\breverb\b",
        "remaster": r"\bremaster(ed)?\b",
        "version": r"\bversion\b|\bmono\b|\bstereo\b|\bextended\b|\bradio\b",
    }.items()
}
# "(feat. X)", "[ft. X]", "- featuring X", "(with X)": the featured artists.
_FEATURING = re.compile(
    r"[\(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s+([^\)\]]*)[\)\]]", re.IGNORECASE
)
_FEATURING_TAIL = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s+(.*)$", re.IGNORECASE)
# Bracketed parts and " - " suffixes: where version marks live ("Song - Live at X").
_BRACKETED = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")
_DASH_SUFFIX = re.compile(r"\s[-–—]\s(.*)$")
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_NOT_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Title:
    """A title reduced to what compares: its base words and its version marks."""

    base: str  # casefolded, no accents, punctuation or brackets: "dont stop me now"
    variants: frozenset[str]  # {"live"}, {"remaster 2011"}, {"feat x"}…


def _fold(text: str) -> str:
    """Casefolded, accents removed, punctuation as spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.replace("'", "").replace("’", "")
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def _marks(part: str) -> set[str]:
    """The version marks of one bracketed or dashed part of a title."""
    folded = part.casefold()
    marks = {name for name, pattern in VARIANTS.items() if pattern.search(folded)}
    if "remaster" in marks and (year := _YEAR.search(folded)):
        marks = (marks - {"remaster"}) | {f"remaster {year.group(0)}"}
    return marks


@functools.lru_cache(maxsize=65_536)
def normalise_title(title: str | None) -> Title:
    text = unicodedata.normalize("NFKC", title or "")
    variants: set[str] = set()
    for pattern in (_FEATURING, _FEATURING_TAIL):
        for names in pattern.findall(text):
            variants.add(f"feat {_fold(names)}")
        text = pattern.sub(" ", text)
    for part in _BRACKETED.findall(text):
        variants |= _marks(part)
    text = _BRACKETED.sub(" ", text)
    if suffix := _DASH_SUFFIX.search(text):
        marks = _marks(suffix.group(1))
        variants |= marks
        if marks:  # "Song - Live": a mark; "Song - Part Two": part of the title
            text = text[: suffix.start()]
    base = _fold(text) or _fold(title or "")
    return Title(base=base, variants=frozenset(variants))


@dataclass(frozen=True)
class TrackFacts:
    """What the rules look at, for one track."""

    track_id: str
    title: str | None
    primary_artist: str | None  # the first artist's id (its name for local files)
    duration_ms: int | None
    isrc: str | None = None


def same_song(a: TrackFacts, b: TrackFacts, *, loose: bool = False) -> bool:
    """Rule 3: same primary artist, lengths within 2 s, titles alike (see module doc)."""
    if not a.primary_artist or a.primary_artist != b.primary_artist:
        return False
    if a.duration_ms is None or b.duration_ms is None:
        return False
    if abs(a.duration_ms - b.duration_ms) > DURATION_TOLERANCE_MS:
        return False
    title_a, title_b = normalise_title(a.title), normalise_title(b.title)
    if not loose and title_a.variants != title_b.variants:
        return False
    return fuzz.ratio(title_a.base, title_b.base) >= TITLE_SIMILARITY


def match_reason(a: TrackFacts, b: TrackFacts, *, loose: bool = False) -> Reason | None:
    """Why `a` and `b` count as the same track (the strongest rule), or None."""
    if a.track_id == b.track_id:
        return Reason.SAME_ID
    if a.isrc and a.isrc.upper() == (b.isrc or "").upper():
        return Reason.SAME_ISRC
    if same_song(a, b, loose=loose):
        return Reason.SAME_SONG
    return None


@dataclass(frozen=True)
class Link:
    """Two tracks of a group and why they are the same."""

    track_a: str
    track_b: str
    reason: Reason

    @property
    def explanation(self) -> str:
        return EXPLANATIONS[self.reason]


def group_tracks(
    tracks: Sequence[TrackFacts], candidate_pairs: Sequence[tuple[str, str]], *, loose: bool = False
) -> list[tuple[list[str], list[Link]]]:
    """The groups of distinct tracks that count as the same, with the links that join them.

    `candidate_pairs` are the pairs of track ids worth testing (the database
    finds them: same ISRC, or same primary artist and close lengths); tracks
    joined through a chain of links are one group. Returns [(track ids, links)],
    only groups of two or more tracks.
    """
    by_id = {track.track_id: track for track in tracks}
    parent = {track_id: track_id for track_id in by_id}

    def root(track_id: str) -> str:
        while parent[track_id] != track_id:
            parent[track_id] = parent[parent[track_id]]
            track_id = parent[track_id]
        return track_id

    links: list[Link] = []
    for id_a, id_b in candidate_pairs:
        if id_a not in by_id or id_b not in by_id:
            continue
        reason = match_reason(by_id[id_a], by_id[id_b], loose=loose)
        if reason is None:
            continue
        links.append(Link(id_a, id_b, reason))
        parent[root(id_a)] = root(id_b)
    members: dict[str, list[str]] = {}
    for track_id in by_id:
        members.setdefault(root(track_id), []).append(track_id)
    links_of: dict[str, list[Link]] = {}
    for link in links:
        links_of.setdefault(root(link.track_a), []).append(link)
    return [(ids, links_of.get(key, [])) for key, ids in members.items() if len(ids) > 1]


def candidate_pairs(tracks: Sequence[TrackFacts]) -> list[tuple[str, str]]:
    """The pairs worth testing: the same ISRC, or the same primary artist and lengths
    within the tolerance (a sweep over each artist's tracks sorted by length)."""
    pairs: list[tuple[str, str]] = []
    by_isrc: dict[str, list[str]] = {}
    by_artist: dict[str, list[TrackFacts]] = {}
    for track in tracks:
        if track.isrc:
            by_isrc.setdefault(track.isrc.upper(), []).append(track.track_id)
        if track.primary_artist and track.duration_ms is not None:
            by_artist.setdefault(track.primary_artist, []).append(track)
    for ids in by_isrc.values():
        pairs += [(ids[0], other) for other in ids[1:]]
    for songs in by_artist.values():
        songs.sort(key=lambda track: track.duration_ms or 0)
        for index, song in enumerate(songs):
            later = index + 1
            while (
                later < len(songs)
                and (songs[later].duration_ms or 0) - (song.duration_ms or 0)
                <= DURATION_TOLERANCE_MS
            ):
                pairs.append((song.track_id, songs[later].track_id))
                later += 1
    return pairs
