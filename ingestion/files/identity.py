"""Stable identities for playlists from files that carry no playlist id.

The Spotify account export and Exportify CSVs have no playlist id, so one is
derived: `<prefix>:` + the first 24 hex digits of SHA-256 over an optional owner
key, the playlist's normalized name and, for a name repeated within one export,
its occurrence number. Re-importing the same (or a newer) export therefore
updates the same playlists instead of duplicating them. The owner key keeps two
people's "Road trip" apart when a caller (e.g. an upload view) knows who uploads;
a renamed playlist gets a new identity, since the name is all there is.
"""

import hashlib
import json
import re
import unicodedata

from warehouse.models import NAMED_TRACK_PREFIX

_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """Case, Unicode form and whitespace do not change which playlist a name denotes."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip()


def derived_playlist_id(prefix: str, name: str, *, owner_key: str = "", occurrence: int = 1):
    key = normalize_name(name) if occurrence == 1 else f"{normalize_name(name)}#{occurrence}"
    digest = hashlib.sha256(f"{owner_key}\x1f{key}".encode()).hexdigest()
    return f"{prefix}:{digest[:24]}"


# Elements hashed per json.dumps call: one call per element was a tenth of an
# MPD slice's import; one for a whole list would hold a long playlist's JSON at once.
HASH_CHUNK = 1000


# Tracks an older export names without a URI ("trackName", "artistName",
# "albumName" only) are keyed `named:` + a hash of those names: stable across
# re-imports, equal for the same names in any playlist, never a Spotify id. They
# are not matched to Spotify until enrichment finds them through search
# (`warehouse.TrackMatch`), and keep this key when it does.


def named_track_id(name: str, artist: str | None, album: str | None) -> str:
    key = "\x1f".join(normalize_name(part or "") for part in (name, artist, album))
    return NAMED_TRACK_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


LIKED_SONGS = "Liked Songs"


def liked_songs_id(owner_key: str = "") -> str:
    """One Liked Songs per owner, whichever file it comes from (the export's
    YourLibrary.json or Exportify's "Liked Songs" CSV): re-imports update it."""
    return derived_playlist_id("liked", LIKED_SONGS, owner_key=owner_key)


def content_hash(value) -> str:
    """A snapshot id for file content: equal content, equal id (so an unchanged
    file is recognizable), whatever the key order in the file."""
    digest = hashlib.sha256()
    # A list is hashed HASH_CHUNK elements at a time, the same bytes json.dumps
    # would give for all of it (elements joined by ", ").
    if isinstance(value, list):
        digest.update(b"[")
        for start in range(0, len(value), HASH_CHUNK):
            part = _canonical(value[start : start + HASH_CHUNK])[1:-1]
            digest.update((b", " if start else b"") + part)
        digest.update(b"]")
    else:
        digest.update(_canonical(value))
    return digest.hexdigest()[:32]


def _canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()


def spotify_id_from_uri(uri: str, kind: str) -> str | None:
    """The id of `spotify:<kind>:<id>`, or None for any other URI."""
    prefix = f"spotify:{kind}:"
    if uri.startswith(prefix) and len(uri) > len(prefix):
        return uri[len(prefix) :]
    return None
