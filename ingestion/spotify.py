"""The one module that talks HTTP to Spotify.

spotipy does the API calls; this module gives it a session that never sleeps on
`Retry-After` (spotipy's default retry would wait hours, see
docs/spotify-web-api.md), a timeout on every request, a per-process request-rate
cap, and maps every failure to one of a few domain exceptions whose message says
what happened and what to do. It also counts the API calls it makes.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import requests
import spotipy
from django.conf import settings
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

# Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlists-items
ITEMS_PAGE_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/get-multiple-artists
ARTISTS_BATCH_LIMIT = 50


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

    def __init__(self, retry_after, *, quota_exceeded=False):
        self.retry_after = retry_after
        self.quota_exceeded = quota_exceeded
        if quota_exceeded:
            message = (
                "Spotify says this app's request quota is exhausted (QUOTA_EXCEEDED); "
                f"it asked to wait {_human_seconds(retry_after)} before trying again."
            )
        else:
            message = (
                "Spotify rate-limited this app; it asked to wait "
                f"{_human_seconds(retry_after)} before trying again."
            )
        super().__init__(message)


def _human_seconds(seconds):
    if seconds is None:
        return "an unspecified time"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds} s (about {round(seconds / 60)} min)"
    return f"{seconds} s (about {seconds / 3600:.1f} h)"


class RateCap:
    """Holds every request of this process under `per_second` (0 = no cap)."""

    def __init__(self, per_second):
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self):
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


_rate_caps = {}
_rate_caps_lock = threading.Lock()


def shared_rate_cap(per_second):
    """The process-wide cap for this rate, so that parallel ingests share it."""
    with _rate_caps_lock:
        return _rate_caps.setdefault(per_second, RateCap(per_second))


class _ApiSession(requests.Session):
    """A session that counts API requests and holds them under the rate cap."""

    def __init__(self, rate_cap, pool_size):
        super().__init__()
        self.rate_cap = rate_cap
        self.calls = 0
        self._calls_lock = threading.Lock()
        # Retry transient 5xx with backoff, but never on 429 and never sleep
        # on Retry-After: a 429 must reach us at once so the run can be
        # rescheduled. raise_on_status=False hands the last 5xx to spotipy,
        # which then reports its real status instead of a fake "429 Max Retries".
        retry = Retry(
            total=3,
            connect=2,
            read=1,
            status=3,
            backoff_factor=0.3,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        adapter = requests.adapters.HTTPAdapter(
            max_retries=retry, pool_connections=4, pool_maxsize=pool_size
        )
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, *args, **kwargs):
        self.rate_cap.wait()
        with self._calls_lock:
            self.calls += 1
        return super().request(*args, **kwargs)


class TokenProvider:
    """Gets and caches an access token by client credentials or a refresh token.

    spotipy asks it for a token before every call (`get_access_token`). Our own
    small class instead of spotipy's OAuth managers: those fall back to an
    interactive browser prompt when a token does not fit, which a worker must
    never do.
    """

    # Refresh a little before Spotify's expiry so a token never dies mid-request.
    EXPIRY_MARGIN = 60

    def __init__(self, *, client_id, client_secret, accounts_base_url, timeout, refresh_token=""):
        if not client_id or not client_secret:
            raise SpotifyAuthError(
                "Spotify credentials are missing: set SPOTIFY_CLIENT_ID and "
                "SPOTIFY_CLIENT_SECRET (from your app at developer.spotify.com/dashboard), "
                "or run `make run` to use the local sandbox."
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = urljoin(accounts_base_url, "api/token")
        self.timeout = timeout
        self.refresh_token = refresh_token
        self._token = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def is_user_token(self):
        return bool(self.refresh_token)

    def get_access_token(self, as_dict=False):
        with self._lock:
            if self._token is None or time.time() >= self._expires_at:
                self._fetch()
            return self._token

    def invalidate(self):
        with self._lock:
            self._token = None

    def _fetch(self):
        if self.refresh_token:
            data = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        else:
            data = {"grant_type": "client_credentials"}
        # Reference: https://developer.spotify.com/documentation/web-api/tutorials/client-credentials-flow
        try:
            response = requests.post(
                self.token_url,
                data=data,
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise SpotifyUnavailable(
                f"Could not reach Spotify's accounts service at {self.token_url}: {error}"
            ) from error
        if response.status_code == 429:
            raise RateLimited(_retry_after(response.headers))
        if response.status_code >= 500:
            raise SpotifyUnavailable(
                f"Spotify's accounts service answered {response.status_code}; try again later."
            )
        if response.status_code != 200:
            raise SpotifyAuthError(self._refusal_message(response))
        payload = response.json()
        self._token = payload["access_token"]
        self._expires_at = time.time() + payload.get("expires_in", 3600) - self.EXPIRY_MARGIN

    def _refusal_message(self, response):
        try:
            error = response.json().get("error", "")
        except ValueError:
            error = ""
        if error == "invalid_client":
            return (
                "Spotify refused the app credentials (invalid_client): check "
                "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET against your app's settings "
                "in the Spotify dashboard."
            )
        if error == "invalid_grant" and self.refresh_token:
            return (
                "Spotify refused the refresh token (invalid_grant): it was revoked or "
                "belongs to another app. Sign in with Spotify again to get a new one "
                "(SPOTIFY_REFRESH_TOKEN)."
            )
        return f"Spotify's accounts service refused the token request ({response.status_code})."


def _retry_after(headers):
    """Seconds from a Retry-After header (Spotify sends seconds); None if absent."""
    value = (headers or {}).get("Retry-After")
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return None


class SpotifyClient:
    """The API calls ingestion needs, one method per endpoint."""

    def __init__(
        self,
        *,
        token_provider,
        api_base_url,
        timeout,
        max_concurrency=8,
        rate_cap=None,
    ):
        self.tokens = token_provider
        self.max_concurrency = max(1, max_concurrency)
        self.session = _ApiSession(rate_cap or RateCap(0), pool_size=self.max_concurrency + 2)
        self._sp = spotipy.Spotify(
            auth_manager=token_provider,
            requests_session=self.session,
            requests_timeout=timeout,
        )
        # spotipy reads its base URL from this instance attribute.
        self._sp.prefix = api_base_url
        # Unknown until Spotify shows it: batch endpoints answer only for apps
        # in Extended Quota Mode.
        self.batch_artists_available = None

    @classmethod
    def from_settings(cls, *, refresh_token=None):
        """A client configured from settings; `refresh_token` overrides the setting."""
        tokens = TokenProvider(
            client_id=settings.SPOTIFY_CLIENT_ID,
            client_secret=settings.SPOTIFY_CLIENT_SECRET,
            accounts_base_url=settings.SPOTIFY_ACCOUNTS_BASE_URL,
            timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            refresh_token=(
                settings.SPOTIFY_REFRESH_TOKEN if refresh_token is None else refresh_token
            ),
        )
        return cls(
            token_provider=tokens,
            api_base_url=settings.SPOTIFY_API_BASE_URL,
            timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            max_concurrency=settings.SPOTIFY_MAX_CONCURRENCY,
            rate_cap=shared_rate_cap(settings.SPOTIFY_MAX_REQUESTS_PER_SECOND),
        )

    @property
    def api_calls(self):
        return self.session.calls

    def playlist(self, playlist_id):
        """Playlist metadata, plus the first items page when this token may read items."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlist
        return self._call(lambda: self._sp.playlist(playlist_id), playlist_id=playlist_id)

    def playlist_item_pages(self, playlist_id):
        """Yield every page of a playlist's items, following Spotify's absolute `next`."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlists-items
        page = self._call(
            lambda: self._sp.playlist_items(playlist_id, limit=ITEMS_PAGE_LIMIT),
            playlist_id=playlist_id,
        )
        while page is not None:
            yield page
            if not page.get("next"):
                return
            page = self._call(lambda page=page: self._sp.next(page), playlist_id=playlist_id)

    def artists(self, artist_ids, *, on_progress=None):
        """Artist objects by id (None for ids Spotify does not know).

        One request per artist, in parallel up to `max_concurrency`: the batch
        endpoint is gone in Development Mode. It is used only after a response
        showed Extended Quota (see `notice_extended_quota`), and dropped again
        the first time it is refused.
        """
        artist_ids = list(dict.fromkeys(artist_ids))
        found = {}
        if self.batch_artists_available and artist_ids:
            found = self._artists_batched(artist_ids, on_progress)
        missing = [artist_id for artist_id in artist_ids if artist_id not in found]
        found.update(self._artists_one_by_one(missing, on_progress, done=len(found)))
        return found

    def notice_extended_quota(self, track):
        """Remember Extended Quota when Spotify sends fields only such apps get."""
        if self.batch_artists_available is None and track and "popularity" in track:
            self.batch_artists_available = True

    def _artists_batched(self, artist_ids, on_progress):
        found = {}
        for start in range(0, len(artist_ids), ARTISTS_BATCH_LIMIT):
            chunk = artist_ids[start : start + ARTISTS_BATCH_LIMIT]
            try:
                payload = self._call(lambda chunk=chunk: self._sp.artists(chunk))
            except (PlaylistNotReadable, PlaylistNotFound):
                self.batch_artists_available = False
                return found
            for artist_id, artist in zip(chunk, payload.get("artists") or [], strict=False):
                found[artist_id] = artist
            if on_progress:
                on_progress(len(found), len(artist_ids))
        return found

    def _artists_one_by_one(self, artist_ids, on_progress, done=0):
        total = done + len(artist_ids)
        found = {}
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            for artist_id, artist in zip(
                artist_ids, pool.map(self._artist_or_none, artist_ids), strict=True
            ):
                found[artist_id] = artist
                if on_progress and (len(found) % 25 == 0 or len(found) == len(artist_ids)):
                    on_progress(done + len(found), total)
        return found

    def _artist_or_none(self, artist_id):
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-an-artist
        try:
            return self._call(lambda: self._sp.artist(artist_id))
        except PlaylistNotFound:
            return None

    def _call(self, request, *, playlist_id=None):
        """Run one spotipy call, mapping failures to domain exceptions.

        An expired access token is renewed once and the call repeated.
        """
        try:
            return self._call_once(request, playlist_id)
        except _TokenExpired:
            self.tokens.invalidate()
            try:
                return self._call_once(request, playlist_id)
            except _TokenExpired as error:
                raise SpotifyAuthError(
                    "Spotify keeps refusing fresh access tokens (401). Check the app "
                    "credentials and, for a user token, sign in with Spotify again."
                ) from error

    def _call_once(self, request, playlist_id):
        try:
            return request()
        except spotipy.SpotifyException as error:
            raise _map_spotify_exception(error, playlist_id) from error
        except requests.Timeout as error:
            raise SpotifyUnavailable(
                "Spotify did not answer in time "
                f"(SPOTIFY_REQUEST_TIMEOUT={settings.SPOTIFY_REQUEST_TIMEOUT} s); try again later."
            ) from error
        except requests.RequestException as error:
            raise SpotifyUnavailable(f"Could not reach Spotify: {error}") from error


class _TokenExpired(Exception):
    pass


def _map_spotify_exception(error, playlist_id):
    status = error.http_status
    message = _spotify_message(error)
    if status == 429:
        return RateLimited(
            _retry_after(error.headers), quota_exceeded=error.reason == "QUOTA_EXCEEDED"
        )
    if status == 401:
        return _TokenExpired(message)
    if status == 404:
        if playlist_id:
            return PlaylistNotFound(not_found_message(playlist_id))
        return PlaylistNotFound(f"Spotify has no such object ({message}).")
    if status == 403:
        return PlaylistNotReadable(forbidden_message(playlist_id, message))
    if status is not None and status >= 500:
        return SpotifyUnavailable(
            f"Spotify answered {status} ({message}) even after retries; try again later."
        )
    return SpotifyError(f"Spotify answered {status}: {message}")


def _spotify_message(error):
    # spotipy prefixes the URL: "https://…/v1/playlists/x:\n Forbidden".
    return str(error.msg).rsplit("\n", 1)[-1].strip()


def not_found_message(playlist_id):
    if playlist_id.startswith("37i9"):
        return (
            f"Playlist {playlist_id} is a Spotify-owned editorial or algorithmic playlist. "
            "Since November 2024 Spotify does not serve these to new apps: copy its tracks "
            "into a playlist of your own and add that one instead."
        )
    return (
        f"Spotify answers 404 for playlist {playlist_id}: it does not exist, is private to "
        "another account, or is not available to this app. Check the link, or make the "
        "playlist public."
    )


def forbidden_message(playlist_id, spotify_message=""):
    if "premium" in spotify_message.lower():
        return (
            "Spotify refused: the owner of this Spotify app needs an active Premium "
            "subscription for Development Mode apps to work."
        )
    if playlist_id:
        return (
            f"This app may not read the tracks of playlist {playlist_id}. In Development "
            "Mode Spotify shows a playlist's items only to a user who owns it or "
            "collaborates on it: sign in with that account (SPOTIFY_REFRESH_TOKEN), "
            "or import an export file of the playlist instead."
        )
    return f"Spotify refused the request (403: {spotify_message})."
