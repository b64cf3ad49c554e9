"""The Spotify Web API client: the only code that sends HTTP to Spotify.

A layer of its own, below everything that reads Spotify (accounts' OAuth,
ingestion's extraction and enrichment). It knows Django's settings and nothing
of this project's models.
"""

from spotify_client.client import (
    CONNECT_SCOPES,
    READER_APP,
    READER_CONNECTION,
    READER_SETTINGS,
    PlaylistNotFound,
    PlaylistNotReadable,
    RateLimited,
    SpotifyAuthError,
    SpotifyClient,
    SpotifyError,
    SpotifyUnavailable,
    authorize_url,
    exchange_authorization_code,
    forbidden_message,
    not_found_message,
)

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
    "not_found_message",
]
