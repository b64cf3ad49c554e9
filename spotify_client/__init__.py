"""The Spotify Web API client: the only code that sends HTTP to Spotify.

A layer of its own, below everything that reads Spotify (accounts' OAuth,
ingestion's extraction and enrichment). It knows Django's settings and nothing
of this project's models. Its modules, by concern:

- `transport`: the requests session (retries on 5xx, never a sleep on 429), the rate cap;
- `tokens`: access tokens, and the "Connect Spotify" OAuth;
- `client`: `SpotifyClient`, one method per endpoint;
- `errors`: the exceptions, the mapping of HTTP failures to them, the sentences for people;
- `payloads`: reading fields Spotify renamed (`items`/`tracks`, `item`/`track`).

Callers import from the package: `from spotify_client import SpotifyClient`.
"""

from spotify_client.client import SpotifyClient
from spotify_client.errors import (
    READER_APP,
    READER_CONNECTION,
    READER_SETTINGS,
    PlaylistNotFound,
    PlaylistNotReadable,
    RateLimited,
    SpotifyAuthError,
    SpotifyError,
    SpotifyUnavailable,
    forbidden_message,
    not_found_message,
)
from spotify_client.payloads import item_object, items_paging
from spotify_client.tokens import CONNECT_SCOPES, authorize_url, exchange_authorization_code

__all__ = [
    "CONNECT_SCOPES",
    "READER_APP",
    "READER_CONNECTION",
    "READER_SETTINGS",
    "PlaylistNotFound",
    "PlaylistNotReadable",
    "RateLimited",
    "SpotifyAuthError",
    "SpotifyClient",
    "SpotifyError",
    "SpotifyUnavailable",
    "authorize_url",
    "exchange_authorization_code",
    "forbidden_message",
    "item_object",
    "items_paging",
    "not_found_message",
]
