"""What can go wrong talking to Spotify, and the sentences that tell people.

Every failure of the package ends as one of the `SpotifyError` subclasses
below, whose `str()` says what happened and what to do. The mapping of
spotipy's and requests' exceptions to them, and every user-facing sentence,
live here so that the other modules only decide *when* a failure happened.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import requests
import spotipy
from django.conf import settings

# Who the token belongs to, for messages that say what to do.
READER_APP = "app"  # client credentials: no user
READER_SETTINGS = "settings"  # the SPOTIFY_REFRESH_TOKEN setting
READER_CONNECTION = "connection"  # a person's connected account


class SpotifyError(Exception):
    """A failure talking to Spotify; `str(error)` is meant for people."""

    retryable = False


class PlaylistNotFound(SpotifyError):
    """404: deleted, private to someone else, or Spotify-owned (editorial)."""


class PlaylistNotReadable(SpotifyError):
    """The playlist exists but this app/token may not read its items."""


class SpotifyAuthError(SpotifyError):
    """Credentials or a token were refused."""


class SpotifyUnavailable(SpotifyError):
    """5xx after retries, a timeout or a broken connection: worth trying later."""

    retryable = True


class RateLimited(SpotifyError):
    """429: Spotify asked us to wait `retry_after` seconds (or the quota is spent)."""

    retryable = True

    def __init__(self, retry_after: int | None, *, quota_exceeded: bool = False) -> None:
        self.retry_after = retry_after
        self.quota_exceeded = quota_exceeded
        super().__init__(rate_limited_message(retry_after, quota_exceeded=quota_exceeded))


class TokenExpired(Exception):
    """401 on an API call: the access token is renewed and the call repeated once."""


def rate_limited_message(retry_after: int | None, *, quota_exceeded: bool) -> str:
    wait = f"{_human_seconds(retry_after)}{_until(retry_after)}"
    if quota_exceeded:
        return (
            "Spotify says this app's request quota is exhausted (QUOTA_EXCEEDED); "
            f"it asked to wait {wait} before trying again. The quota belongs to the "
            "app's developer account: runs resume by themselves after the wait, and "
            "fewer or less frequent ingests keep it from running out again."
        )
    return (
        f"Spotify rate-limited this app; it asked to wait {wait} before trying "
        "again. Queued runs start again by themselves after the wait."
    )


def _until(seconds: int | None) -> str:
    if seconds is None:
        return ""
    ends = datetime.now(UTC) + timedelta(seconds=seconds)
    return f", until {ends:%Y-%m-%d %H:%M} UTC"


def _human_seconds(seconds: int | None) -> str:
    if seconds is None:
        return "an unspecified time"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds} s (about {round(seconds / 60)} min)"
    return f"{seconds} s (about {seconds / 3600:.1f} h)"


def retry_after_seconds(headers: Mapping[str, str] | None) -> int | None:
    """Seconds from a Retry-After header (Spotify sends seconds); None if absent."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return None


# --- The accounts service (tokens and sign-in) -------------------------------

MISSING_CREDENTIALS_MESSAGE = (
    "Spotify credentials are missing: set SPOTIFY_CLIENT_ID and "
    "SPOTIFY_CLIENT_SECRET (from your app at developer.spotify.com/dashboard), "
    "or run `make run` to use the local sandbox."
)

INVALID_CLIENT_MESSAGE = (
    "Spotify refused the app credentials (invalid_client): check "
    "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET against your app's settings "
    "in the Spotify dashboard."
)

REFRESH_TOKEN_REFUSED_MESSAGE = (
    "Spotify refused the refresh token (invalid_grant): Spotify ends every refresh "
    "token six months after its authorization (SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT), "
    "or it was revoked or belongs to another app. Sign in with Spotify again "
    "(reconnect) and put the new token and today's date in SPOTIFY_REFRESH_TOKEN "
    "and SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT, or use `ingest --user` with a "
    "connected account."
)

FRESH_TOKENS_REFUSED_MESSAGE = (
    "Spotify keeps refusing fresh access tokens (401). Check the app "
    "credentials and, for a user token, sign in with Spotify again."
)


def token_request_refused_message(error: str) -> str:
    return f"Spotify's accounts service refused the token request ({error or 'no reason'})."


def sign_in_refused_message(reason: str | int) -> str:
    return (
        f"Spotify did not accept the answer of its sign-in page ({reason}): it expired, "
        "was already used, or SPOTIFY_REDIRECT_URI differs from the redirect URI "
        "registered for the app. Connect again."
    )


def accounts_unreachable(token_url: str, error: requests.RequestException) -> SpotifyUnavailable:
    return SpotifyUnavailable(f"Could not reach Spotify's accounts service at {token_url}: {error}")


def accounts_failed(status: int) -> SpotifyUnavailable:
    return SpotifyUnavailable(f"Spotify's accounts service answered {status}; try again later.")


# --- The Web API -------------------------------------------------------------


def map_request_exception(error: requests.RequestException, *, timeout: float) -> SpotifyError:
    """A timeout or a broken connection (no answer at all): worth trying later."""
    if isinstance(error, requests.Timeout):
        return SpotifyUnavailable(
            "Spotify did not answer in time "
            f"(SPOTIFY_REQUEST_TIMEOUT={timeout} s); try again later."
        )
    return SpotifyUnavailable(f"Could not reach Spotify: {error}")


def map_spotify_exception(
    error: spotipy.SpotifyException,
    *,
    playlist_id: str | None,
    reader: str,
    reader_label: str,
) -> Exception:
    """The domain exception for an error answer (TokenExpired for a 401)."""
    status = error.http_status
    message = _spotify_message(error)
    if status == 429:
        return RateLimited(
            retry_after_seconds(error.headers), quota_exceeded=error.reason == "QUOTA_EXCEEDED"
        )
    if status == 401:
        return TokenExpired(message)
    if status == 404:
        if playlist_id:
            return PlaylistNotFound(not_found_message(playlist_id))
        return PlaylistNotFound(f"Spotify has no such object ({message}).")
    if status == 403:
        if _is_app_wide_refusal(message):
            return SpotifyAuthError(
                forbidden_message(None, message, reader=reader, reader_label=reader_label)
            )
        return PlaylistNotReadable(
            forbidden_message(playlist_id, message, reader=reader, reader_label=reader_label)
        )
    if status is not None and status >= 500:
        return SpotifyUnavailable(
            f"Spotify answered {status} ({message}) even after retries; try again later."
        )
    return SpotifyError(f"Spotify answered {status}: {message}")


def _spotify_message(error: spotipy.SpotifyException) -> str:
    # spotipy prefixes the URL: "https://…/v1/playlists/x:\n Forbidden".
    return str(error.msg).rsplit("\n", 1)[-1].strip()


def not_found_message(playlist_id: str) -> str:
    if playlist_id.startswith("37i9"):
        return (
            f"Playlist {playlist_id} is a Spotify-owned editorial or algorithmic playlist. "
            "Since November 2024 Spotify does not serve these to new apps: copy its tracks "
            "into a playlist of your own and add that one instead."
        )
    if getattr(settings, "SPOTIFY_DEVELOPMENT_MODE", True):
        # Public or not makes no difference in Development Mode: ownership does.
        return (
            f"Spotify answers 404 for playlist {playlist_id}: it does not exist, or this "
            "app may not read it (in Development Mode Spotify lets an app read only the "
            "playlists you own or collaborate on). Check the link; for someone else's "
            "playlist, ask to be made a collaborator, or copy its tracks into a playlist "
            "of your own."
        )
    return (
        f"Spotify answers 404 for playlist {playlist_id}: it does not exist, is private to "
        "another account, or is not available to this app. Check the link, or make the "
        "playlist public."
    )


def _is_app_wide_refusal(spotify_message: str) -> bool:
    """A 403 about the app or the account (Premium, allow-list), not about one playlist."""
    lowered = spotify_message.lower()
    return "premium" in lowered or "not registered" in lowered


def forbidden_message(
    playlist_id: str | None,
    spotify_message: str = "",
    *,
    reader: str = READER_SETTINGS,
    reader_label: str = "",
) -> str:
    """What a 403 (or items withheld) means, for whose token, and what to do about it."""
    lowered = spotify_message.lower()
    if "premium" in lowered:
        return (
            "Spotify refused every request: the owner of this Spotify app needs an active "
            "Premium subscription for a Development Mode app to work (Spotify says: "
            f'"{spotify_message}"). The app owner should renew Premium in their Spotify '
            "account; nothing else helps until then."
        )
    if "not registered" in lowered:
        account = f"The Spotify account {reader_label}" if reader_label else "This Spotify account"
        return (
            f"{account} is not on this app's allow-list (Spotify says: "
            f'"{spotify_message}"). In Development Mode only users the app owner adds under '
            "User Management in the Spotify developer dashboard (at most 5) may use the app: "
            "ask the owner to add you, then connect again."
        )
    if playlist_id and reader == READER_APP:
        return (
            f"This app may not read the tracks of playlist {playlist_id} with an app token. "
            "The app is in Spotify's Development Mode, where a playlist's items are shown "
            "only to a signed-in user who owns it or collaborates on it: connect your "
            "Spotify account (Spotify page of your account) and add playlists you own or "
            "collaborate on, or import an export file of the playlist instead."
        )
    if playlist_id and reader == READER_CONNECTION:
        return (
            f"The connected Spotify account {reader_label} may not read the tracks of playlist "
            f"{playlist_id}: in Development Mode Spotify shows a playlist's items only to a "
            "user who owns it or collaborates on it. Add it from the account that owns it, "
            "ask its owner to make you a collaborator, or copy its tracks into a playlist "
            "of your own."
        )
    if playlist_id:
        return (
            f"This app may not read the tracks of playlist {playlist_id}. In Development "
            "Mode Spotify shows a playlist's items only to a user who owns it or "
            "collaborates on it: sign in with that account (SPOTIFY_REFRESH_TOKEN, or "
            "`ingest --user` with a connected account), or import an export file of the "
            "playlist instead."
        )
    return f"Spotify refused the request (403: {spotify_message})."
