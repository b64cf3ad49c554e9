"""Matching the tracks a file names without an id (`named:` rows) to Spotify.

Older account exports give a track's title, one artist and the album, no URI.
Enrichment looks each one up once with Spotify's search (`GET /v1/search`,
`type=track`, `limit` 10: Development Mode's maximum) and keeps the answer in
`warehouse.TrackMatch`; the row keeps its `named:` key and gets the matched
track's details (`ingestion.enrichment.fill_details`).

The confidence rule (docs/imports.md#matching-tracks-named-without-an-id):
- each candidate is scored 0–100: rapidfuzz's ratio (case and punctuation
  ignored) of the titles × 0.5, of the artist (the best of the candidate's
  artists) × 0.35 and of the album × 0.15; a file without an album name
  weighs title and artist alone (0.5 : 0.35);
- the best candidate is taken when it scores at least MATCH_MIN_SCORE and its
  title and artist each at least PART_MIN_SCORE;
- it is **ambiguous** (nothing is taken) when another candidate that is not
  the same recording (a different ISRC) scores within AMBIGUITY_MARGIN of it:
  the file cannot tell them apart, and a wrong match is worse than none.
"""

from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from spotify_client.payloads import JsonObject
from warehouse.models import TrackMatch

MATCH_MIN_SCORE = 90.0
PART_MIN_SCORE = 80.0
AMBIGUITY_MARGIN = 3.0
WEIGHTS = {"title": 0.5, "artist": 0.35, "album": 0.15}


@dataclass(frozen=True)
class Named:
    """What a file says of a track it names without an id."""

    named_id: str
    title: str
    artist: str
    album: str


@dataclass(frozen=True)
class Verdict:
    outcome: str  # a TrackMatch.Outcome
    track: JsonObject | None = None  # the matched Spotify track object
    score: float | None = None


def search_query(named: Named) -> str:
    """Spotify's field filters on title and artist; the album only scores
    (compilations and re-releases name it differently)."""
    query = f"track:{_quoted(named.title)}"
    return f"{query} artist:{_quoted(named.artist)}" if named.artist else query


def _quoted(text: str) -> str:
    # Quotes inside a filter would end it early: they are dropped.
    return text.replace('"', " ").strip()


def similarity(a: str | None, b: str | None) -> float:
    return fuzz.ratio(a or "", b or "", processor=utils.default_process)


def score(named: Named, candidate: JsonObject) -> tuple[float, float, float]:
    """(total, title, artist) scores of a candidate track object."""
    title = similarity(named.title, candidate.get("name"))
    artists = [artist.get("name") for artist in candidate.get("artists") or []]
    artist = max((similarity(named.artist, name) for name in artists), default=0.0)
    parts = {"title": title, "artist": artist}
    if named.album:
        parts["album"] = similarity(named.album, (candidate.get("album") or {}).get("name"))
    weight = sum(WEIGHTS[part] for part in parts)
    total = sum(WEIGHTS[part] * value for part, value in parts.items()) / weight
    return round(total, 1), title, artist


def verdict(named: Named, candidates: list[JsonObject]) -> Verdict:
    """The confidence rule of the module doc, over one search's candidates."""
    scored = sorted(
        ((score(named, candidate), candidate) for candidate in candidates),
        key=lambda pair: pair[0][0],
        reverse=True,
    )
    if not scored:
        return Verdict(TrackMatch.Outcome.NOT_FOUND)
    (best, title, artist), track = scored[0]
    if best < MATCH_MIN_SCORE or title < PART_MIN_SCORE or artist < PART_MIN_SCORE:
        return Verdict(TrackMatch.Outcome.NOT_FOUND, score=best)
    isrc = _isrc(track)
    rivals = [
        candidate
        for (other, _, _), candidate in scored[1:]
        if best - other < AMBIGUITY_MARGIN and (isrc is None or _isrc(candidate) != isrc)
    ]
    if rivals:
        return Verdict(TrackMatch.Outcome.AMBIGUOUS, score=best)
    return Verdict(TrackMatch.Outcome.MATCHED, track=track, score=best)


def _isrc(track: JsonObject) -> str | None:
    return (track.get("external_ids") or {}).get("isrc") or None
