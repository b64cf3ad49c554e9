"""SpotifyClient: the Web API calls the project makes, one method per endpoint.

spotipy does the API calls over our own session (spotify_client.transport:
retries on 5xx, never a sleep on 429, the rate cap, a call count), with tokens
from spotify_client.tokens; every failure is mapped to one of the exceptions of
spotify_client.errors, whose message says what happened and what to do.
"""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Self, TypeVar

import requests
import spotipy
from django.conf import settings

from spotify_client.errors import (
    FRESH_TOKENS_REFUSED_MESSAGE,
    READER_APP,
    READER_CONNECTION,
    READER_SETTINGS,
    PlaylistNotFound,
    PlaylistNotReadable,
    SpotifyAuthError,
    TokenExpired,
    forbidden_message,
    map_request_exception,
    map_spotify_exception,
)
from spotify_client.payloads import JsonObject, items_paging
from spotify_client.tokens import TokenProvider, TokenStore
from spotify_client.transport import ApiSession, RateCap, shared_rate_cap

# Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlists-items
ITEMS_PAGE_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/get-multiple-artists
ARTISTS_BATCH_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists
MY_PLAYLISTS_PAGE_LIMIT = 50
# Reference: https://developer.spotify.com/documentation/web-api/reference/search
# (Development Mode: at most 10 results a request.)
SEARCH_LIMIT = 10

T = TypeVar("T")
R = TypeVar("R")
# Called with (artists done, artists in all) while artists are fetched.
ArtistProgress = Callable[[int, int], object]


class SpotifyClient:
    """The API calls ingestion needs, one method per endpoint."""

    def __init__(
        self,
        *,
        token_provider: TokenProvider,
        api_base_url: str,
        timeout: float,
        max_concurrency: int = 8,
        rate_cap: RateCap | None = None,
        reader: str = READER_APP,
        reader_label: str = "",
    ) -> None:
        self.tokens = token_provider
        # Whose token this is (READER_*), and how to name that account.
        self.reader = reader
        self.reader_label = reader_label
        # "development" or "extended" once Spotify's answers to an app token show it.
        self.app_mode: str | None = None
        self.max_concurrency = max(1, max_concurrency)
        self.session = ApiSession(rate_cap or RateCap(0), pool_size=self.max_concurrency + 2)
        self._sp = spotipy.Spotify(
            auth_manager=token_provider,
            requests_session=self.session,
            requests_timeout=timeout,
        )
        # spotipy reads its base URL from this instance attribute.
        self._sp.prefix = api_base_url
        # Unknown until Spotify shows it: batch endpoints answer only for apps
        # in Extended Quota Mode.
        self.batch_artists_available: bool | None = None

    @classmethod
    def from_settings(cls, *, refresh_token: str | None = None) -> Self:
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
    def for_app(cls) -> Self:
        """An app token (client credentials): in Development Mode it reads no items."""
        return cls._configured(refresh_token="", reader=READER_APP)

    @classmethod
    def for_stored_tokens(
        cls,
        *,
        store: TokenStore,
        refresh_token: str,
        access_token: str = "",
        expires_at: float = 0.0,
        label: str = "",
    ) -> Self:
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
    def _configured(cls, *, reader: str, reader_label: str = "", **token_options: Any) -> Self:
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
    def api_calls(self) -> int:
        return self.session.calls

    def me(self) -> JsonObject:
        """The token's user: `id`, `display_name` and (since 2026-05) `account_id`."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile
        profile: JsonObject = self._call(self._sp.me)
        return profile

    def my_playlists(self) -> list[JsonObject]:
        """Every playlist the token's user owns, collaborates on or follows."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists
        playlists: list[JsonObject] = []
        page: JsonObject | None = self._call(
            lambda: self._sp.current_user_playlists(limit=MY_PLAYLISTS_PAGE_LIMIT)
        )
        while page is not None:
            playlists.extend(item for item in page.get("items") or [] if item)
            if not page.get("next"):
                break
            page = self._call(partial(self._sp.next, page))
        return playlists

    def playlist(self, playlist_id: str) -> JsonObject:
        """Playlist metadata, plus the first items page when this token may read items."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlist
        metadata: JsonObject = self._call(
            lambda: self._sp.playlist(playlist_id), playlist_id=playlist_id
        )
        if self.reader == READER_APP:
            # Only Extended Quota apps see items with an app token.
            readable = items_paging(metadata) is not None
            self.app_mode = "extended" if readable else "development"
        return metadata

    def not_readable_message(self, playlist_id: str | None, spotify_message: str = "") -> str:
        """Why this token may not read the playlist's items, and what to do."""
        return forbidden_message(
            playlist_id, spotify_message, reader=self.reader, reader_label=self.reader_label
        )

    def playlist_item_pages(self, playlist_id: str) -> Iterator[JsonObject]:
        """Yield every page of a playlist's items, following Spotify's absolute `next`."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-playlists-items
        page: JsonObject | None = self._call(
            lambda: self._sp.playlist_items(playlist_id, limit=ITEMS_PAGE_LIMIT),
            playlist_id=playlist_id,
        )
        while page is not None:
            yield page
            if not page.get("next"):
                return
            page = self._call(partial(self._sp.next, page), playlist_id=playlist_id)

    def track(self, track_id: str) -> JsonObject | None:
        """A track object, or None when Spotify does not know the id (404)."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-track
        try:
            track: JsonObject = self._call(lambda: self._sp.track(track_id))
        except PlaylistNotFound:
            return None
        return track

    def search_tracks(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[JsonObject]:
        """The first `limit` (≤ 10) track objects Spotify's search finds for `query`
        (field filters such as `track:` and `artist:` allowed): one request."""
        # Reference: https://developer.spotify.com/documentation/web-api/reference/search
        payload: JsonObject = self._call(
            lambda: self._sp.search(query, limit=min(limit, SEARCH_LIMIT), type="track")
        )
        tracks = payload.get("tracks") or {}
        return [track for track in tracks.get("items") or [] if track]

    def artists(
        self, artist_ids: Iterable[str], *, on_progress: ArtistProgress | None = None
    ) -> dict[str, JsonObject | None]:
        """Artist objects by id (None for ids Spotify does not know).

        One request per artist, in parallel up to `max_concurrency`: the batch
        endpoint is gone in Development Mode. It is used only after a response
        showed Extended Quota (see `notice_extended_quota`), and dropped again
        the first time it is refused.
        """
        artist_ids = list(dict.fromkeys(artist_ids))
        found: dict[str, JsonObject | None] = {}
        if self.batch_artists_available and artist_ids:
            found = self._artists_batched(artist_ids, on_progress)
        missing = [artist_id for artist_id in artist_ids if artist_id not in found]
        found.update(self._artists_one_by_one(missing, on_progress, done=len(found)))
        return found

    def notice_extended_quota(self, track: JsonObject | None) -> None:
        """Remember Extended Quota when Spotify sends fields only such apps get."""
        if self.batch_artists_available is None and track and "popularity" in track:
            self.batch_artists_available = True

    def _artists_batched(
        self, artist_ids: list[str], on_progress: ArtistProgress | None
    ) -> dict[str, JsonObject | None]:
        found: dict[str, JsonObject | None] = {}
        for start in range(0, len(artist_ids), ARTISTS_BATCH_LIMIT):
            chunk = artist_ids[start : start + ARTISTS_BATCH_LIMIT]
            try:
                payload: JsonObject = self._call(partial(self._sp.artists, chunk))
            except (PlaylistNotReadable, PlaylistNotFound):
                self.batch_artists_available = False
                return found
            for artist_id, artist in zip(chunk, payload.get("artists") or [], strict=False):
                found[artist_id] = artist
            if on_progress:
                on_progress(len(found), len(artist_ids))
        return found

    def _artists_one_by_one(
        self, artist_ids: list[str], on_progress: ArtistProgress | None, done: int = 0
    ) -> dict[str, JsonObject | None]:
        total = done + len(artist_ids)
        found: dict[str, JsonObject | None] = {}
        answers = self.in_parallel(self._artist_or_none, artist_ids)
        for artist_id, artist in zip(artist_ids, answers, strict=True):
            found[artist_id] = artist
            if on_progress and (len(found) % 25 == 0 or len(found) == len(artist_ids)):
                on_progress(done + len(found), total)
        return found

    def in_parallel(self, call: Callable[[T], R], ids: Iterable[T]) -> Iterator[R]:
        """`call(id)` for each id, in order, up to `max_concurrency` at a time.

        The token is made sure of first, in the calling thread: refreshing a
        connected account's token saves it to the database, which belongs to
        this thread's connection (and transaction), not to a pool thread's. If
        the caller stops early (a 429 raised), requests not yet sent are cancelled.
        """
        self.tokens.get_access_token()
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            yield from pool.map(call, ids)

    def _artist_or_none(self, artist_id: str) -> JsonObject | None:
        # Reference: https://developer.spotify.com/documentation/web-api/reference/get-an-artist
        try:
            artist: JsonObject = self._call(lambda: self._sp.artist(artist_id))
        except PlaylistNotFound:
            return None
        return artist

    def _call(self, request: Callable[[], Any], *, playlist_id: str | None = None) -> Any:
        """Run one spotipy call (its answer: decoded JSON), mapping failures to domain exceptions.

        An expired access token is renewed once and the call repeated.
        """
        try:
            return self._call_once(request, playlist_id)
        except TokenExpired:
            self.tokens.invalidate()
            try:
                return self._call_once(request, playlist_id)
            except TokenExpired as error:
                raise SpotifyAuthError(FRESH_TOKENS_REFUSED_MESSAGE) from error

    def _call_once(self, request: Callable[[], Any], playlist_id: str | None) -> Any:
        try:
            return request()
        except spotipy.SpotifyException as error:
            mapped = map_spotify_exception(
                error, playlist_id=playlist_id, reader=self.reader, reader_label=self.reader_label
            )
            if error.http_status == 403 and playlist_id and self.reader == READER_APP:
                self.app_mode = "development"
            raise mapped from error
        except requests.RequestException as error:
            raise map_request_exception(error, timeout=settings.SPOTIFY_REQUEST_TIMEOUT) from error
