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
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urljoin

import requests
import spotipy
from django.conf import settings
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

# Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlists-items
ITEMS_PAGE_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/get-multiple-artists
ARTISTS_BATCH_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists
MY_PLAYLISTS_PAGE_LIMIT = 50
# What "Connect Spotify" asks for: reading the person's own and collaborative
# playlists, private ones included. Nothing else.
CONNECT_SCOPES = "playlist-read-private playlist-read-collaborative"

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

    def __init__(self, retry_after, *, quota_exceeded=False):
        self.retry_after = retry_after
        self.quota_exceeded = quota_exceeded
        wait = f"{_human_seconds(retry_after)}{_until(retry_after)}"
        if quota_exceeded:
            message = (
                "Spotify says this app's request quota is exhausted (QUOTA_EXCEEDED); "
                f"it asked to wait {wait} before trying again. The quota belongs to the "
                "app's developer account: runs resume by themselves after the wait, and "
                "fewer or less frequent ingests keep it from running out again."
            )
        else:
            message = (
                f"Spotify rate-limited this app; it asked to wait {wait} before trying "
                "again. Queued runs start again by themselves after the wait."
            )
        super().__init__(message)


def _until(seconds):
    if seconds is None:
        return ""
    ends = datetime.now(UTC) + timedelta(seconds=seconds)
    return f", until {ends:%Y-%m-%d %H:%M} UTC"


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

    def __init__(
        self,
        *,
        client_id,
        client_secret,
        accounts_base_url,
        timeout,
        refresh_token="",
        access_token="",
        expires_at=0.0,
        store=None,
    ):
        _check_credentials(client_id, client_secret)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = urljoin(accounts_base_url, "api/token")
        self.timeout = timeout
        self.refresh_token = refresh_token
        # A connected account's stored token is used until it expires.
        self._token = access_token or None
        self._expires_at = (expires_at - self.EXPIRY_MARGIN) if access_token else 0.0
        # Where a connected account's tokens live (accounts.connections.TokenStore):
        # told about every new token, and about a refused refresh token.
        self.store = store
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
        # Reference: https://developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens
        try:
            payload = _token_request(
                self.token_url, data, (self.client_id, self.client_secret), self.timeout
            )
        except _TokenRefused as refused:
            raise SpotifyAuthError(self._refusal_message(refused.error)) from refused
        self._token = payload["access_token"]
        expires_at = time.time() + payload.get("expires_in", 3600)
        self._expires_at = expires_at - self.EXPIRY_MARGIN
        # Spotify may rotate the refresh token; the old one may then stop working.
        rotated = payload.get("refresh_token") or None
        if rotated:
            self.refresh_token = rotated
        if self.store is not None:
            self.store.save_tokens(
                access_token=self._token, expires_at=expires_at, refresh_token=rotated
            )

    def _refusal_message(self, error):
        if error == "invalid_client":
            return INVALID_CLIENT_MESSAGE
        if error == "invalid_grant" and self.store is not None:
            message = self.store.revoked_message()
            self.store.mark_revoked(message)
            return message
        if error == "invalid_grant" and self.refresh_token:
            return (
                "Spotify refused the refresh token (invalid_grant): it was revoked or "
                "belongs to another app. Sign in with Spotify again to get a new one "
                "(SPOTIFY_REFRESH_TOKEN), or use `ingest --user` with a connected account."
            )
        return f"Spotify's accounts service refused the token request ({error or 'no reason'})."


INVALID_CLIENT_MESSAGE = (
    "Spotify refused the app credentials (invalid_client): check "
    "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET against your app's settings "
    "in the Spotify dashboard."
)


def _check_credentials(client_id, client_secret):
    if not client_id or not client_secret:
        raise SpotifyAuthError(
            "Spotify credentials are missing: set SPOTIFY_CLIENT_ID and "
            "SPOTIFY_CLIENT_SECRET (from your app at developer.spotify.com/dashboard), "
            "or run `make run` to use the local sandbox."
        )


class _TokenRefused(Exception):
    """The accounts service answered 4xx; `error` is its OAuth error code."""

    def __init__(self, error, status):
        super().__init__(f"{status} {error}")
        self.error = error
        self.status = status


def _token_request(token_url, data, auth, timeout):
    """POST to the accounts service's token endpoint; the JSON answer.

    Raises RateLimited, SpotifyUnavailable, or _TokenRefused for a 4xx.
    """
    try:
        response = requests.post(token_url, data=data, auth=auth, timeout=timeout)
    except requests.RequestException as error:
        raise SpotifyUnavailable(
            f"Could not reach Spotify's accounts service at {token_url}: {error}"
        ) from error
    if response.status_code == 429:
        raise RateLimited(_retry_after(response.headers))
    if response.status_code >= 500:
        raise SpotifyUnavailable(
            f"Spotify's accounts service answered {response.status_code}; try again later."
        )
    if response.status_code != 200:
        try:
            error = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            error = ""
        raise _TokenRefused(error, response.status_code)
    payload = response.json()
    if not isinstance(payload, dict) or not payload.get("access_token"):
        raise SpotifyError("Spotify's accounts service answered without an access token.")
    return payload


def authorize_url(*, state, code_challenge, redirect_uri):
    """Where to send a person to approve "Connect Spotify" (authorization code + PKCE)."""
    # Reference: https://developer.spotify.com/documentation/web-api/tutorials/code-pkce-flow
    _check_credentials(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
    query = urlencode(
        {
            "client_id": settings.SPOTIFY_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": CONNECT_SCOPES,
            "state": state,
            "code_challenge_method": "S256",
            "code_challenge": code_challenge,
        }
    )
    return f"{urljoin(settings.SPOTIFY_ACCOUNTS_BASE_URL, 'authorize')}?{query}"


def exchange_authorization_code(*, code, redirect_uri, code_verifier):
    """Trade the code from the redirect for tokens (access, refresh, expires_in, scope)."""
    # Reference: https://developer.spotify.com/documentation/web-api/tutorials/code-pkce-flow
    _check_credentials(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    try:
        payload = _token_request(
            urljoin(settings.SPOTIFY_ACCOUNTS_BASE_URL, "api/token"),
            data,
            (settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET),
            settings.SPOTIFY_REQUEST_TIMEOUT,
        )
    except _TokenRefused as refused:
        if refused.error == "invalid_client":
            raise SpotifyAuthError(INVALID_CLIENT_MESSAGE) from refused
        reason = refused.error or refused.status
        raise SpotifyAuthError(
            f"Spotify did not accept the answer of its sign-in page ({reason}): it expired, "
            "was already used, or SPOTIFY_REDIRECT_URI differs from the redirect URI "
            "registered for the app. Connect again."
        ) from refused
    if not payload.get("refresh_token"):
        raise SpotifyError("Spotify's accounts service answered without a refresh token.")
    return payload


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
        reader=READER_APP,
        reader_label="",
    ):
        self.tokens = token_provider
        # Whose token this is (READER_*), and how to name that account.
        self.reader = reader
        self.reader_label = reader_label
        # "development" or "extended" once Spotify's answers to an app token show it.
        self.app_mode = None
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
        """A client configured from settings; `refresh_token` overrides the setting.

        With no refresh token at all, an app token (client credentials).
        """
        if refresh_token is None:
            refresh_token = settings.SPOTIFY_REFRESH_TOKEN
        return cls._configured(
            refresh_token=refresh_token,
            reader=READER_SETTINGS if refresh_token else READER_APP,
        )

    @classmethod
    def for_app(cls):
        """An app token (client credentials): in Development Mode it reads no items."""
        return cls._configured(refresh_token="", reader=READER_APP)

    @classmethod
    def for_stored_tokens(cls, *, store, refresh_token, access_token="", expires_at=0.0, label=""):
        """A client on a connected account's tokens (see accounts.connections)."""
        return cls._configured(
            refresh_token=refresh_token,
            access_token=access_token,
            expires_at=expires_at,
            store=store,
            reader=READER_CONNECTION,
            reader_label=label,
        )

    @classmethod
    def _configured(cls, *, reader, reader_label="", **token_options):
        tokens = TokenProvider(
            client_id=settings.SPOTIFY_CLIENT_ID,
            client_secret=settings.SPOTIFY_CLIENT_SECRET,
            accounts_base_url=settings.SPOTIFY_ACCOUNTS_BASE_URL,
            timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            **token_options,
        )
        return cls(
            token_provider=tokens,
            api_base_url=settings.SPOTIFY_API_BASE_URL,
            timeout=settings.SPOTIFY_REQUEST_TIMEOUT,
            max_concurrency=settings.SPOTIFY_MAX_CONCURRENCY,
            rate_cap=shared_rate_cap(settings.SPOTIFY_MAX_REQUESTS_PER_SECOND),
            reader=reader,
            reader_label=reader_label,
        )

    @property
    def api_calls(self):
        return self.session.calls

    def me(self):
        """The token's user: `id`, `display_name` and (since 2026-05) `account_id`."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile
        return self._call(self._sp.me)

    def my_playlists(self):
        """Every playlist the token's user owns, collaborates on or follows."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists
        playlists = []
        page = self._call(lambda: self._sp.current_user_playlists(limit=MY_PLAYLISTS_PAGE_LIMIT))
        while page is not None:
            playlists.extend(item for item in page.get("items") or [] if item)
            if not page.get("next"):
                break
            page = self._call(lambda page=page: self._sp.next(page))
        return playlists

    def playlist(self, playlist_id):
        """Playlist metadata, plus the first items page when this token may read items."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlist
        metadata = self._call(lambda: self._sp.playlist(playlist_id), playlist_id=playlist_id)
        if self.reader == READER_APP:
            # Only Extended Quota apps see items with an app token.
            paging = metadata.get("items", metadata.get("tracks"))
            self.app_mode = "extended" if isinstance(paging, dict) else "development"
        return metadata

    def not_readable_message(self, playlist_id, spotify_message=""):
        """Why this token may not read the playlist's items, and what to do."""
        return forbidden_message(
            playlist_id, spotify_message, reader=self.reader, reader_label=self.reader_label
        )

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

    def track(self, track_id):
        """A track object, or None when Spotify does not know the id (404)."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-track
        try:
            return self._call(lambda: self._sp.track(track_id))
        except PlaylistNotFound:
            return None

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
        answers = self.in_parallel(self._artist_or_none, artist_ids)
        for artist_id, artist in zip(artist_ids, answers, strict=True):
            found[artist_id] = artist
            if on_progress and (len(found) % 25 == 0 or len(found) == len(artist_ids)):
                on_progress(done + len(found), total)
        return found

    def in_parallel(self, call, ids):
        """`call(id)` for each id, in order, up to `max_concurrency` at a time.

        The token is made sure of first, in the calling thread: refreshing a
        connected account's token saves it to the database, which belongs to
        this thread's connection (and transaction), not to a pool thread's. If
        the caller stops early (a 429 raised), requests not yet sent are cancelled.
        """
        self.tokens.get_access_token()
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            yield from pool.map(call, ids)

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
            mapped = _map_spotify_exception(error, playlist_id, self)
            if error.http_status == 403 and playlist_id and self.reader == READER_APP:
                self.app_mode = "development"
            raise mapped from error
        except requests.Timeout as error:
            raise SpotifyUnavailable(
                "Spotify did not answer in time "
                f"(SPOTIFY_REQUEST_TIMEOUT={settings.SPOTIFY_REQUEST_TIMEOUT} s); try again later."
            ) from error
        except requests.RequestException as error:
            raise SpotifyUnavailable(f"Could not reach Spotify: {error}") from error


class _TokenExpired(Exception):
    pass


def _map_spotify_exception(error, playlist_id, client):
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
        if _is_app_wide_refusal(message):
            return SpotifyAuthError(client.not_readable_message(None, message))
        return PlaylistNotReadable(client.not_readable_message(playlist_id, message))
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


def _is_app_wide_refusal(spotify_message):
    """A 403 about the app or the account (Premium, allow-list), not about one playlist."""
    lowered = spotify_message.lower()
    return "premium" in lowered or "not registered" in lowered


def forbidden_message(playlist_id, spotify_message="", *, reader=READER_SETTINGS, reader_label=""):
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
