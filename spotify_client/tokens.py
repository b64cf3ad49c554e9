"""Access tokens from Spotify's accounts service, and the "Connect Spotify" OAuth.

Reference: https://developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens
and https://developer.spotify.com/documentation/web-api/tutorials/code-pkce-flow
"""

import threading
import time
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin

import requests
from django.conf import settings

from spotify_client.errors import (
    INVALID_CLIENT_MESSAGE,
    MISSING_CREDENTIALS_MESSAGE,
    REFRESH_TOKEN_REFUSED_MESSAGE,
    RateLimited,
    SpotifyAuthError,
    SpotifyError,
    accounts_failed,
    accounts_unreachable,
    retry_after_seconds,
    sign_in_refused_message,
    token_request_refused_message,
)

# What "Connect Spotify" asks for: reading the person's own and collaborative
# playlists, private ones included. Nothing else.
CONNECT_SCOPES = "playlist-read-private playlist-read-collaborative"

# The token endpoint's JSON answer: access_token, expires_in, maybe refresh_token, scope.
TokenPayload = dict[str, Any]


class TokenStore(Protocol):
    """Where a connected account's tokens live (accounts.connections.TokenStore)."""

    def save_tokens(
        self, *, access_token: str, expires_at: float, refresh_token: str | None
    ) -> None: ...

    def revoked_message(self) -> str: ...

    def mark_revoked(self, message: str) -> None: ...


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
        client_id: str,
        client_secret: str,
        accounts_base_url: str,
        timeout: float,
        refresh_token: str = "",
        access_token: str = "",
        expires_at: float = 0.0,
        store: TokenStore | None = None,
    ) -> None:
        check_credentials(client_id, client_secret)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = urljoin(accounts_base_url, "api/token")
        self.timeout = timeout
        self.refresh_token = refresh_token
        # A connected account's stored token is used until it expires.
        self._token: str | None = access_token or None
        self._expires_at = (expires_at - self.EXPIRY_MARGIN) if access_token else 0.0
        # Told about every new token, and about a refused refresh token.
        self.store = store
        # Spotify's invalid_grant is final (an expired or revoked refresh token):
        # once refused, the same message without asking again.
        self._refusal: str | None = None
        self._lock = threading.Lock()

    @property
    def is_user_token(self) -> bool:
        return bool(self.refresh_token)

    def get_access_token(self, as_dict: bool = False) -> str:
        with self._lock:
            token = self._token
            if token is None or time.time() >= self._expires_at:
                token = self._fetch()
            return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> str:
        if self._refusal is not None:
            raise SpotifyAuthError(self._refusal)
        if self.refresh_token:
            data = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        else:
            data = {"grant_type": "client_credentials"}
        try:
            payload = token_request(
                self.token_url, data, (self.client_id, self.client_secret), self.timeout
            )
        except TokenRefused as refused:
            message = self._refusal_message(refused.error)
            if refused.error == "invalid_grant":
                self._refusal = message
            raise SpotifyAuthError(message) from refused
        token: str = payload["access_token"]
        self._token = token
        expires_at = time.time() + payload.get("expires_in", 3600)
        self._expires_at = expires_at - self.EXPIRY_MARGIN
        # Spotify may rotate the refresh token; the old one may then stop working.
        rotated = payload.get("refresh_token") or None
        if rotated:
            self.refresh_token = rotated
        if self.store is not None:
            self.store.save_tokens(access_token=token, expires_at=expires_at, refresh_token=rotated)
        return token

    def _refusal_message(self, error: str) -> str:
        if error == "invalid_client":
            return INVALID_CLIENT_MESSAGE
        if error == "invalid_grant" and self.store is not None:
            message = self.store.revoked_message()
            self.store.mark_revoked(message)
            return message
        if error == "invalid_grant" and self.refresh_token:
            return REFRESH_TOKEN_REFUSED_MESSAGE
        return token_request_refused_message(error)


def check_credentials(client_id: str, client_secret: str) -> None:
    """Refuse before any request when the app's id or secret is not set."""
    if not client_id or not client_secret:
        raise SpotifyAuthError(MISSING_CREDENTIALS_MESSAGE)


class TokenRefused(Exception):
    """The accounts service answered 4xx; `error` is its OAuth error code."""

    def __init__(self, error: str, status: int) -> None:
        super().__init__(f"{status} {error}")
        self.error = error
        self.status = status


def token_request(
    token_url: str, data: dict[str, str], auth: tuple[str, str], timeout: float
) -> TokenPayload:
    """POST to the accounts service's token endpoint; the JSON answer.

    Raises RateLimited, SpotifyUnavailable, or TokenRefused for a 4xx.
    """
    try:
        response = requests.post(token_url, data=data, auth=auth, timeout=timeout)
    except requests.RequestException as error:
        raise accounts_unreachable(token_url, error) from error
    if response.status_code == 429:
        raise RateLimited(retry_after_seconds(response.headers))
    if response.status_code >= 500:
        raise accounts_failed(response.status_code)
    if response.status_code != 200:
        try:
            code = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            code = ""
        raise TokenRefused(code, response.status_code)
    payload = response.json()
    if not isinstance(payload, dict) or not payload.get("access_token"):
        raise SpotifyError("Spotify's accounts service answered without an access token.")
    return payload


def authorize_url(*, state: str, code_challenge: str, redirect_uri: str) -> str:
    """Where to send a person to approve "Connect Spotify" (authorization code + PKCE)."""
    check_credentials(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
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


def exchange_authorization_code(
    *, code: str, redirect_uri: str, code_verifier: str
) -> TokenPayload:
    """Trade the code from the redirect for tokens (access, refresh, expires_in, scope)."""
    check_credentials(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    try:
        payload = token_request(
            urljoin(settings.SPOTIFY_ACCOUNTS_BASE_URL, "api/token"),
            data,
            (settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET),
            settings.SPOTIFY_REQUEST_TIMEOUT,
        )
    except TokenRefused as refused:
        if refused.error == "invalid_client":
            raise SpotifyAuthError(INVALID_CLIENT_MESSAGE) from refused
        reason = refused.error or refused.status
        raise SpotifyAuthError(sign_in_refused_message(reason)) from refused
    if not payload.get("refresh_token"):
        raise SpotifyError("Spotify's accounts service answered without a refresh token.")
    return payload
