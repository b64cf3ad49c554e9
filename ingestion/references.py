"""Turn whatever people paste into a Spotify playlist id, or say what is accepted."""

import re
from urllib.parse import urlparse

# Spotify ids are 22 base-62 characters.
_ID = r"[0-9A-Za-z]{22}"
_ID_RE = re.compile(rf"^{_ID}$")
_URI_RE = re.compile(rf"^spotify:(?:user:[^:]+:)?playlist:({_ID})$")
# open.spotify.com/playlist/ID, /intl-xx/playlist/ID, /embed/playlist/ID, /user/NAME/playlist/ID
_PATH_RE = re.compile(rf"^/(?:intl-[a-zA-Z-]+/)?(?:embed/)?(?:user/[^/]+/)?playlist/({_ID})/?$")
_SPOTIFY_HOSTS = {"open.spotify.com", "play.spotify.com"}

ACCEPTED_FORMS = (
    "a playlist link (https://open.spotify.com/playlist/…), "
    "a playlist URI (spotify:playlist:…) or a 22-character playlist id"
)


class InvalidPlaylistReference(ValueError):
    """The text is not a Spotify playlist reference; the message says what is."""


def parse_playlist_id(reference):
    """The playlist id in `reference`, or InvalidPlaylistReference."""
    text = (reference or "").strip()
    if _ID_RE.match(text):
        return text
    if match := _URI_RE.match(text):
        return match.group(1)
    if "://" not in text and text.startswith(tuple(_SPOTIFY_HOSTS)):
        text = "https://" + text
    url = urlparse(text)
    if url.scheme in ("http", "https") and url.hostname in _SPOTIFY_HOSTS:
        if match := _PATH_RE.match(url.path):
            return match.group(1)
        kind = _spotify_kind(url.path)
        if kind:
            raise InvalidPlaylistReference(
                f"That is a Spotify {kind} link, not a playlist. Paste {ACCEPTED_FORMS}."
            )
    elif text.startswith("spotify:"):
        kind = text.split(":")[1] if text.count(":") >= 2 else "unknown"
        raise InvalidPlaylistReference(
            f"That is a Spotify {kind} URI, not a playlist. Paste {ACCEPTED_FORMS}."
        )
    shown = text if len(text) <= 80 else text[:77] + "…"
    raise InvalidPlaylistReference(f"{shown!r} is not a Spotify playlist. Paste {ACCEPTED_FORMS}.")


def _spotify_kind(path):
    parts = [part for part in path.split("/") if part and not part.startswith("intl-")]
    return parts[0] if parts else None
